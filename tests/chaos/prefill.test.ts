/**
 * Continuing a broken stream on another provider: prefill where the target continues a
 * trailing assistant turn (Anthropic), and an explicit continuation request with the
 * overlap removed where the target refuses prefill (a Bedrock model without it).
 */
import { startFakeAnthropic, FAKE_ANTHROPIC_KEY } from '../fakes/anthropic';
import { startFakeBedrock } from '../fakes/bedrock';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway } from '../helpers/gateway';
import { CONTINUE_PROMPT } from '../../runtime/src/stream/resilient-stream';
import type { ChatCompletionChunk } from '../../runtime/src/core/openai-types';

const REPLY = 'Failover keeps the answer whole: the client never sees the break, and every word arrives exactly once.';

async function streamText(gwUrl: string): Promise<string> {
  const res = await fetch(`${gwUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'Explain failover.' }] }),
  });
  const raw = await res.text();
  expect(raw.trimEnd().endsWith('data: [DONE]')).toBe(true);
  return raw
    .split('\n\n')
    .filter((e) => e.startsWith('data: {'))
    .map((e) => (JSON.parse(e.slice(6)) as ChatCompletionChunk).choices[0]?.delta.content ?? '')
    .join('');
}

describe('stream continuation across providers', () => {
  let primary: FakeOpenAI;
  beforeAll(async () => {
    primary = await startFakeOpenAI({ reply: REPLY, chunks: 10 });
    process.env.AWS_ACCESS_KEY_ID = 'AKIDFAKEFAKEFAKE';
    process.env.AWS_SECRET_ACCESS_KEY = 'fake-secret';
    process.env.ANTHROPIC_TEST_KEY = FAKE_ANTHROPIC_KEY;
  });
  afterAll(async () => {
    await primary.close();
    delete process.env.AWS_ACCESS_KEY_ID;
    delete process.env.AWS_SECRET_ACCESS_KEY;
    delete process.env.ANTHROPIC_TEST_KEY;
  });

  it('continues with assistant prefill on Anthropic: the model goes on from the break', async () => {
    const anthropic = await startFakeAnthropic({
      // Prefill: the model writes only what follows the trailing assistant turn.
      reply: (req) => {
        const last = req.messages?.at(-1);
        const prefix = last?.role === 'assistant' ? String(typeof last.content === 'string' ? last.content : ((last.content as Array<{ text?: string }>)[0]?.text ?? '')) : '';
        return { text: REPLY.slice(prefix.length) };
      },
    });
    const gw = await startGateway(
      {
        providers: [
          { id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: primary.url }] }] },
          { id: 'an', type: 'anthropic', accounts: [{ id: 'b', credentials: { env: 'ANTHROPIC_TEST_KEY' }, endpoints: [{ region: 'r', url: anthropic.url }] }] },
        ],
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'oa', model: 'gpt-x' },
              { provider: 'an', model: 'claude-x' },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false },
    );
    try {
      primary.faults.push({ kind: 'cut', afterChunks: 4 });
      expect(await streamText(gw.url)).toBe(REPLY);
      const sent = anthropic.requests.at(-1)!.body as { messages: Array<{ role: string }> };
      expect(sent.messages.at(-1)!.role).toBe('assistant'); // prefill, no continuation prompt
    } finally {
      await gw.close();
      await anthropic.close();
    }
  });

  it('falls back to a continuation request when the target refuses prefill, removing the overlap', async () => {
    const bedrock = await startFakeBedrock({ reply: { text: REPLY }, rejectPrefill: true });
    const gw = await startGateway(
      {
        providers: [
          { id: 'oa', type: 'openai-compatible', accounts: [{ id: 'a', endpoints: [{ region: 'r', url: primary.url }] }] },
          { id: 'br', type: 'bedrock', accounts: [{ id: 'b', endpoints: [{ region: 'us-east-1', url: bedrock.url }] }] },
        ],
        models: [
          {
            name: 'chat',
            targets: [
              { provider: 'oa', model: 'gpt-x' },
              { provider: 'br', model: 'anthropic.claude-3-haiku-20240307-v1:0' },
            ],
          },
        ],
      },
      'all-in-one',
      { probes: false },
    );
    try {
      primary.faults.push({ kind: 'cut', afterChunks: 5 });
      // The continuation model starts over; the gateway drops what the client already has.
      expect(await streamText(gw.url)).toBe(REPLY);
      const [prefill, explicit] = bedrock.requests.slice(-2).map((r) => r.body as { messages: Array<{ role: string; content: Array<{ text?: string }> }> });
      expect(prefill.messages.at(-1)!.role).toBe('assistant');
      expect(explicit.messages.at(-1)!.role).toBe('user');
      expect(explicit.messages.at(-1)!.content[0].text).toBe(CONTINUE_PROMPT);
    } finally {
      await gw.close();
      await bedrock.close();
    }
  });
});
