/**
 * Structured JSON logs (pino, one line per client request, warn lines for ejections and
 * cooldowns). Prompts and answers appear only when the config asks; credentials never:
 * known fields are censored by path and every free-text message is scrubbed.
 */
import pino, { type DestinationStream, type Logger } from 'pino';
import type { Role } from '../config/schema';
import { hedgeOutcome } from '../core/attempt';
import type { BudgetAlertEvent, CooldownEvent, EjectionEvent, GatewayObserver, RequestEvent } from './events';
import { brokenAfterStart } from './labels';
import { lineWriter } from './line-batch';
import { REDACTED, scrubSecrets } from '../core/redact';
import { REDACT_PATHS, scrubError } from './redact';
import type { ObservabilitySettings } from './settings';
import { traceIdOf } from './trace';
import type { Usage } from '../core/openai-types';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level: ObservabilitySettings['logLevel'];
  service: string;
  role: Role;
  /** Where lines go; stdout when omitted. */
  destination?: DestinationStream;
  /** Write each line before returning (Lambda); else buffered, asynchronous writes. */
  sync?: boolean;
}

export function createLogger(opts: LoggerOptions): Logger {
  return pino(
    {
      level: opts.level,
      base: { service: opts.service, role: opts.role },
      timestamp: pino.stdTimeFunctions.isoTime,
      // Level names, not numbers: what people filter on in CloudWatch Logs Insights.
      formatters: { level: (label) => ({ level: label }) },
      serializers: { err: scrubError },
      redact: { paths: [...REDACT_PATHS], censor: REDACTED },
    },
    opts.destination ?? stdout(opts.sync === true),
  );
}

const stdouts = new Map<boolean, DestinationStream>();

/**
 * Asynchronous stdout collects lines and writes them in batches: one write per line went
 * through libuv's thread pool, whose wake-ups cost more than building the line. Lines
 * wait at most `flushMs`; pino flushes what is left when the process exits. A reader
 * that stops reading costs lines beyond `maxBufferedBytes`, never the gateway's memory.
 */
const LOG_BATCH = { minBytes: 4096, flushMs: 100, maxBufferedBytes: 16 * 1024 * 1024 } as const;

/** One stdout writer per process (per mode), shared by every gateway and the EMF lines. */
export function stdout(sync: boolean): DestinationStream {
  let d = stdouts.get(sync);
  if (!d) {
    d = sync
      ? pino.destination({ dest: 1, sync: true })
      : pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH.minBytes, periodicFlush: LOG_BATCH.flushMs, maxLength: LOG_BATCH.maxBufferedBytes });
    stdouts.set(sync, d);
  }
  return d;
}

/** Request events may carry the client's `traceparent` (W3C) to tie the line to a trace. */
type TracedRequestEvent = RequestEvent & { traceparent?: string };

/**
 * The fields of one request's log line. Fields that do not apply are left undefined,
 * which JSON leaves out; one object shape for every line.
 */
/** Tokens in and out, and of the input what the provider's prompt cache read and wrote (when it did). */
function tokensLine(u: Usage): Record<string, number> {
  const cache = u.prompt_tokens_details;
  if (!cache?.cached_tokens && !cache?.cache_write_tokens) return { in: u.prompt_tokens, out: u.completion_tokens };
  return { in: u.prompt_tokens, out: u.completion_tokens, cachedIn: cache.cached_tokens ?? 0, cacheWrite: cache.cache_write_tokens ?? 0 };
}

export function requestLine(ev: TracedRequestEvent, logContent: boolean): Record<string, unknown> {
  return {
    requestId: ev.requestId,
    traceId: traceIdOf(ev.traceparent),
    tenant: ev.tenant,
    api: ev.api ?? 'chat',
    priority: ev.priority,
    model: ev.model,
    stream: ev.stream,
    status: ev.status,
    errorCode: ev.errorCode || undefined,
    refusal: ev.refusal,
    route: ev.route || undefined,
    attempts: ev.attempts.map(attemptLine),
    tokens: ev.usage ? tokensLine(ev.usage) : undefined,
    costUsd: ev.costUsd,
    costCountedBy: ev.costCountedBy,
    affinity: ev.affinity,
    ttftMs: ev.ttftMs,
    latencyMs: ev.latencyMs,
    continuations: ev.continuations,
    breaks: ev.breaks?.map(attemptLine),
    notes: ev.notes,
    batches: ev.batches,
    hedge: hedgeOutcome(ev.attempts),
    content: logContent ? ev.content : undefined,
  };
}

/** An attempt (or a stream break) as logged: the record itself, its provider message scrubbed (it can quote the key sent). */
function attemptLine<A extends { message?: string }>(a: A): A {
  return a.message ? { ...a, message: scrubSecrets(a.message) } : a;
}

let isoMs = 0;
let iso = '';
/** The ISO time of now, made once per millisecond (lines come in batches). */
function isoNow(): string {
  const ms = Date.now();
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

/**
 * Writes request lines straight to the logger's destination: the line pino would write
 * (level, time, the logger's bindings, the fields, msg), made by one JSON.stringify.
 * pino's field-by-field serializer was the costliest part of logging a request. Lines
 * go out batched per event-loop turn (line-batch.ts).
 */
export function requestLineWriter(logger: Logger, logContent: boolean): (ev: RequestEvent) => void {
  const write = lineWriter((logger as unknown as Record<symbol, DestinationStream>)[pino.symbols.streamSym]);
  const bindings = JSON.stringify(logger.bindings()).slice(1, -1);
  const afterTime = bindings ? `",${bindings},` : '",';
  return (ev) => {
    const level = requestLevel(ev);
    if (!logger.isLevelEnabled(level)) return;
    const fields = JSON.stringify(requestLine(ev, logContent));
    write(`{"level":"${level}","time":"${isoNow()}${afterTime}${fields.slice(1, -1)},"msg":"request"}\n`);
  };
}

/** Server-side failures are errors; a stream that broke (or ran out of time) after its 200 is a warning. */
function requestLevel(ev: RequestEvent): 'error' | 'warn' | 'info' {
  if (ev.status >= 500) return 'error';
  if (brokenAfterStart(ev)) return 'warn';
  return 'info';
}

function routeLine(ev: EjectionEvent | CooldownEvent): Record<string, unknown> {
  return { route: ev.route, until: new Date(ev.until).toISOString(), reason: scrubSecrets(ev.reason) };
}

function budgetLine(ev: BudgetAlertEvent): Record<string, unknown> {
  return { tenant: ev.tenant, period: ev.period, periodId: ev.periodId, threshold: ev.threshold, spentUsd: ev.spentUsd, capUsd: ev.capUsd };
}

/** Writes the log lines for gateway events; subscribe it to `gw.events`. */
export function logObserver(logger: Logger, opts: { logContent: boolean }): GatewayObserver {
  const writeRequest = requestLineWriter(logger, opts.logContent);
  return (ev) => {
    switch (ev.type) {
      case 'request':
        return writeRequest(ev);
      case 'ejection':
        logger.warn(routeLine(ev), 'route ejected');
        return;
      case 'cooldown':
        logger.warn(routeLine(ev), 'route cooling down');
        return;
      case 'config':
        if (ev.ok) logger.info({ source: ev.source }, 'config reloaded');
        else logger.error({ source: ev.source, error: ev.error }, 'config rejected; the running config stays');
        return;
      case 'budget-alert':
        logger.warn(budgetLine(ev), 'tenant budget alert');
        return;
    }
  };
}
