/** Encodes the OpenAI SSE wire format: `data: {json}\n\n` ... `data: [DONE]\n\n`. */
const encoder = new TextEncoder();

export const SSE_DONE = encoder.encode('data: [DONE]\n\n');

export function sseData(payload: unknown): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(payload)}\n\n`);
}

export const SSE_HEADERS = {
  'content-type': 'text/event-stream; charset=utf-8',
  'cache-control': 'no-cache',
  connection: 'keep-alive',
  'x-accel-buffering': 'no',
} as const;
