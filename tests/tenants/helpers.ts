/** Small helpers shared by the tenant tests: a keyed chat call and a bounded wait. */
import { setTimeout as sleep } from 'node:timers/promises';

export const CHAT = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] };

export function chatAs(baseUrl: string, key: string, body: unknown = CHAT, init: { signal?: AbortSignal } = {}): Promise<Response> {
  return fetch(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body: JSON.stringify(body),
    signal: init.signal,
  });
}

/** Polls `check` every 10 ms, at most `tries` times; fails naming what it waited for. */
export async function waitUntil(what: string, check: () => boolean, tries = 500): Promise<void> {
  for (let i = 0; i < tries; i++) {
    if (check()) return;
    await sleep(10);
  }
  throw new Error(`timed out waiting until ${what}`);
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}
