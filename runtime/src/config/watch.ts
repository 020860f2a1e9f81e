/**
 * Config hot reload. A source delivers the config text when it changes: the local file
 * (file-source.ts) or an SSM parameter (polled by version). Each new text is validated before it is applied; an invalid one
 * is rejected with a logged error and the running config stays.
 */
import type { GetParameterCommandOutput, SSMClient } from '@aws-sdk/client-ssm';
import { ConfigError, parseConfigJson, type ConfigTextParser } from './parse';
import type { GatewayConfig } from './schema';

export interface ConfigSource {
  readonly name: string;
  /** How this source's texts are read (JSON, or YAML for files). */
  readonly parse: ConfigTextParser;
  /** Calls `onText` with each new version of the config text. */
  start(onText: (text: string) => void): void;
  stop(): void;
}

/** The SSM client library, loaded when a config comes from SSM (not in every cold start). */
export function ssm(): typeof import('@aws-sdk/client-ssm') {
  return require('@aws-sdk/client-ssm') as typeof import('@aws-sdk/client-ssm');
}

/**
 * A failed GetParameter in a log line: the error's name, and its message where it has one
 * (SSM's ParameterNotFound has none, and the SDK says only "UnknownError" then).
 */
export function ssmFailure(parameter: string, err: unknown, signal?: AbortSignal, timeoutMs?: number): string {
  const e = err as Error;
  const message = e.message && e.message !== 'UnknownError' && e.message !== e.name ? `: ${e.message}` : '';
  const why = signal?.aborted ? `no answer within ${timeoutMs} ms` : `${e.name}${message}`;
  return `SSM parameter ${parameter} could not be read: ${why}`;
}

/**
 * GetParameter, given up after `timeoutMs`: the SDK sets no timeout of its own, and a call
 * out when Lambda froze the environment can wait on a dead socket for good after the thaw.
 */
export async function getParameter(client: SSMClient, parameter: string, timeoutMs: number): Promise<GetParameterCommandOutput> {
  const signal = AbortSignal.timeout(timeoutMs);
  try {
    return await client.send(new (ssm().GetParameterCommand)({ Name: parameter, WithDecryption: true }), { abortSignal: signal });
  } catch (err) {
    throw new ConfigError(ssmFailure(parameter, err, signal, timeoutMs));
  }
}

export class SsmConfigSource implements ConfigSource {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    private readonly parameter: string,
    private readonly intervalMs = 30_000,
    /** Made at the first poll when not given: the SDK is loaded then, not at start. */
    private client?: SSMClient,
    /** The version already running, so the first poll does not re-apply it. */
    private version?: number,
    /** The Lambda proxy reads JSON only; the CLI passes the YAML-or-JSON parser. */
    readonly parse: ConfigTextParser = parseConfigJson,
    /**
     * Poll at once (the running config may be older than the parameter), or only after the
     * first interval: a config from GATEWAY_CONFIG_JSON was written by the same deploy as
     * the parameter, and a cold start then loads no SSM client before its first answer.
     */
    private readonly pollAtStart = true,
  ) {
    this.name = `ssm:${parameter}`;
  }

  start(onText: (text: string) => void): void {
    const poll = async () => {
      if (this.stopped) return;
      try {
        this.client ??= new (ssm().SSMClient)({ maxAttempts: 2 });
        // The next poll is scheduled when this one ends: it must end. The interval, within 1 to 10 s.
        const out = await getParameter(this.client, this.parameter, Math.min(10_000, Math.max(1_000, this.intervalMs)));
        const p = out.Parameter;
        // Stopped while this poll was out: nothing more is applied, and no poll follows.
        if (this.stopped) return;
        if (p?.Value !== undefined && p.Version !== this.version) {
          this.version = p.Version;
          onText(p.Value);
        }
      } catch (err) {
        if (this.stopped) return; // its failure is the client's shutdown
        console.error(JSON.stringify({ level: 'error', msg: 'config poll failed', source: this.name, err: (err as Error).message }));
      }
      this.schedule(poll);
    };
    if (this.pollAtStart) void poll();
    else this.schedule(poll);
  }

  private schedule(poll: () => Promise<void>): void {
    // Jitter keeps a fleet of tasks from polling in step.
    this.timer = setTimeout(() => void poll(), this.intervalMs * (0.8 + Math.random() * 0.4));
    this.timer.unref();
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.client?.destroy();
  }
}

export interface ReloadOutcome {
  ok: boolean;
  source: string;
  error?: string;
}

/** Validates each new text and hands a valid config to `apply`; reports every outcome. */
export class ConfigReloader {
  /**
   * The version being applied. The next waits for it: an apply can take a while (a proxy
   * resolves new spoke names first), and one that finished later would undo a newer version.
   */
  private applying: Promise<void> = Promise.resolve();

  constructor(
    private readonly source: ConfigSource,
    private readonly apply: (config: GatewayConfig) => void | Promise<void>,
    private readonly report: (outcome: ReloadOutcome) => void,
  ) {}

  start(): void {
    this.source.start((text) => {
      let config: GatewayConfig;
      try {
        config = this.source.parse(text, this.source.name);
      } catch (err) {
        this.report({ ok: false, source: this.source.name, error: (err as Error).message });
        return;
      }
      this.applying = this.applying
        .then(() => this.apply(config))
        .then(
          () => this.report({ ok: true, source: this.source.name }),
          (err: unknown) => this.report({ ok: false, source: this.source.name, error: `not applied: ${(err as Error).message}` }),
        )
        .catch(() => undefined); // a report that threw must not stop every later version
    });
  }

  stop(): void {
    this.source.stop();
  }
}
