/** Tenants of every class and a flood of requests for the capacity and budget tests. */
import { hashKey } from '../../runtime/src/tenants/auth';
import { chatAs } from '../tenants/helpers';

export const KEYS = { critical: 'key-critical', standard: 'key-standard', batch: 'key-batch' } as const;

export const classTenants = () => [
  { id: 'checkout', keys: [hashKey(KEYS.critical)], priority: 'critical' as const },
  { id: 'web', keys: [hashKey(KEYS.standard)], priority: 'standard' as const },
  { id: 'nightly', keys: [hashKey(KEYS.batch)], priority: 'batch' as const },
];

export interface Outcome {
  status: number;
  code?: string;
  retryAfter: string | null;
  message?: string;
}

/** One chat request as `key` to `url`, read whole. */
export async function send(url: string, key: string, body?: unknown): Promise<Outcome> {
  const res = await chatAs(url, key, body);
  const doc = (await res.json()) as { error?: { code?: string; message?: string } };
  return { status: res.status, code: doc.error?.code, retryAfter: res.headers.get('retry-after'), message: doc.error?.message };
}

/** `workers` loops sending as `key` to the urls in turn, as fast as answers come, until stop(). */
export function flood(urls: string[], key: string, workers = 8) {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const done = Promise.all(
    Array.from({ length: workers }, async (_, w) => {
      for (let i = 0; !stopped; i++) outcomes.push(await send(urls[(w + i) % urls.length], key));
    }),
  );
  return {
    outcomes,
    async stop(): Promise<Outcome[]> {
      stopped = true;
      await done;
      return outcomes;
    },
  };
}

export const count = (outcomes: Outcome[], status: number) => outcomes.filter((o) => o.status === status).length;
