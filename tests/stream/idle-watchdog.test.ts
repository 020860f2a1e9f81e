/**
 * The idle timeout between chunks counts only while the gateway waits for the upstream: a
 * client that reads slowly is not the upstream stalling, and a real stall still ends the
 * stream with a `silent` failure (continued elsewhere when a route can take it).
 */
import type { ChatRequest } from '../../runtime/src/core/chat-request';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';
import type { ProviderError } from '../../runtime/src/providers/errors';
import type { Route } from '../../runtime/src/providers/types';
import type { Answered } from '../../runtime/src/routing/executor';
import { CancelSource } from '../../runtime/src/core/cancellation';
import { resilientStream, type ContinuationDeps } from '../../runtime/src/stream/resilient-stream';
import type { StartedStream } from '../../runtime/src/stream/started-stream';

const IDLE_MS = 50;
const route = { key: 'p/a/r/m' } as Route;
const req = { model: 'chat', messages: [{ role: 'user', content: 'hi' }] } as ChatRequest;
const chunk = (content: string, finish: 'stop' | null = null): ChatCompletionChunk => ({
  id: 'c1',
  object: 'chat.completion.chunk',
  created: 1,
  model: 'm',
  choices: [{ index: 0, delta: { content }, finish_reason: finish }],
});

/** A started stream whose chunks come from `rest`; `aborted` records the abort reason. */
function started(rest: AsyncIterator<ChatCompletionChunk>, cancel: CancelSource): Answered<StartedStream> {
  return {
    value: { first: chunk('a'), rest, abort: (reason) => cancel.abort(reason) },
    route,
    attempts: [],
    settle: () => undefined,
  };
}

function deps(failures: ProviderError[]): ContinuationDeps {
  return {
    request: () => req,
    cancel: new CancelSource(),
    idleMs: IDLE_MS,
    supportsPrefill: () => false,
    continueOn: () => Promise.reject(new Error('no other route')),
    onStreamFailure: (_route, err) => failures.push(err),
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('a client that holds each chunk for 4x the idle timeout gets the whole answer, no stall', async () => {
  const upstream = new CancelSource();
  async function* ready() {
    for (const c of ['b', 'c', 'd']) yield chunk(c);
    yield chunk('', 'stop');
  }
  const failures: ProviderError[] = [];
  let text = '';
  for await (const c of resilientStream(started(ready(), upstream), deps(failures))) {
    text += c.choices[0]?.delta.content ?? '';
    await sleep(IDLE_MS * 4);
  }
  expect(text).toBe('abcd');
  expect(failures).toEqual([]);
  expect(upstream.aborted).toBe(false);
});

it('an upstream that sends nothing for the idle timeout is aborted as silent', async () => {
  const upstream = new CancelSource();
  async function* stalls() {
    yield chunk('b');
    await new Promise<void>((_, reject) => upstream.onAbort(reject)); // nothing more, until aborted
  }
  const failures: ProviderError[] = [];
  const seen: string[] = [];
  const run = (async () => {
    for await (const c of resilientStream(started(stalls(), upstream), deps(failures))) seen.push(c.choices[0]?.delta.content ?? '');
  })();
  await expect(run).rejects.toMatchObject({ failure: 'silent', message: `no chunk within ${IDLE_MS} ms` });
  expect(seen).toEqual(['a', 'b']);
  expect(upstream.aborted).toBe(true);
  expect(failures.map((f) => f.failure)).toEqual(['silent']);
});
