/**
 * GET /status (the page), GET /status.json (one snapshot) and GET /status/events (Server-
 * Sent Events: a snapshot at once, every second, and soon after each gateway event). The
 * page uses the event stream and falls back to polling the JSON where streams are buffered.
 */
import type { Gateway } from '../gateway';
import { STATUS_PAGE_CSP, STATUS_PAGE_HTML } from './html';
import { ClassUsage } from './class-usage';
import { RecentEvents } from './recent';
import { TenantRefusals } from './tenant-use';
import { statusSnapshot, type StatusSnapshot } from './snapshot';

export interface StatusPageOptions {
  /** Snapshot period on the event stream. */
  intervalMs?: number;
  /** Gateway events in this window are coalesced into one snapshot. */
  eventDelayMs?: number;
  /** An event stream ends after this long; EventSource reconnects by itself. */
  maxStreamMs?: number;
  /** Recent failovers, ejections and cooldowns kept. */
  recentSize?: number;
}

export interface StatusPage {
  page(): Response;
  json(): Promise<Response>;
  events(signal: AbortSignal): Response;
  snapshot(): Promise<StatusSnapshot>;
}

const NO_STORE = { 'cache-control': 'no-store' };

export function createStatusPage(gw: Gateway, opts: StatusPageOptions = {}): StatusPage {
  const intervalMs = opts.intervalMs ?? 1000;
  const eventDelayMs = opts.eventDelayMs ?? 100;
  const maxStreamMs = opts.maxStreamMs ?? 5 * 60_000;
  const recent = new RecentEvents(gw.events, gw.now, opts.recentSize ?? 50);
  const usage = new ClassUsage(gw.events, gw.now);
  const refusals = new TenantRefusals(gw.events, gw.now);
  const snapshot = async () => {
    // Every instance's spend, not only what this one last saw (at most a second's wait).
    const spendSource = await gw.spend.refresh(gw.config.tenants);
    gw.events.flush(); // requests answered before this one are in it
    return statusSnapshot(gw, recent, usage, spendSource, refusals);
  };
  const encoder = new TextEncoder();

  return {
    snapshot,
    page: () =>
      new Response(STATUS_PAGE_HTML, {
        headers: {
          'content-type': 'text/html; charset=utf-8',
          'content-security-policy': STATUS_PAGE_CSP,
          'x-content-type-options': 'nosniff',
          'referrer-policy': 'no-referrer',
          ...NO_STORE,
        },
      }),
    json: async () => Response.json(await snapshot(), { headers: NO_STORE }),
    events(signal) {
      let stop = () => {};
      const body = new ReadableStream<Uint8Array>(
        {
          start(ctrl) {
            let soon: NodeJS.Timeout | undefined;
            let stopped = false;
            const send = (prefix = '') => {
              // A client that does not read gets no pile-up: it will get the next snapshot.
              if ((ctrl.desiredSize ?? 1) <= 0) return;
              void snapshot().then((s) => {
                if (stopped) return;
                try {
                  ctrl.enqueue(encoder.encode(`${prefix}data: ${JSON.stringify(s)}\n\n`));
                } catch {
                  stop();
                }
              }, stop);
            };
            const tick = setInterval(() => send(), intervalMs);
            const end = setTimeout(() => {
              stop();
              try {
                ctrl.close();
              } catch {
                // Already cancelled by the client.
              }
            }, maxStreamMs);
            tick.unref();
            end.unref();
            const unsubscribe = gw.events.subscribe(() => {
              if (soon) return;
              soon = setTimeout(() => {
                soon = undefined;
                send();
              }, eventDelayMs);
              soon.unref();
            });
            stop = () => {
              stopped = true;
              clearInterval(tick);
              clearTimeout(end);
              clearTimeout(soon);
              unsubscribe();
              signal.removeEventListener('abort', stop);
            };
            if (signal.aborted) return stop();
            signal.addEventListener('abort', stop);
            send('retry: 2000\n\n');
          },
          cancel() {
            stop();
          },
        },
        new CountQueuingStrategy({ highWaterMark: 2 }),
      );
      return new Response(body, {
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'x-accel-buffering': 'no',
          ...NO_STORE,
        },
      });
    },
  };
}
