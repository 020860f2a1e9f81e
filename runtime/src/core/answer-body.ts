/**
 * A JSON answer's body: text, or an upstream's bytes passed on as they came, in the parts
 * the HTTP client read them in. The parts are never joined on the Node server: a copy of
 * half a megabyte of embeddings per request showed in its throughput (bench/analysis.md).
 */
export type AnswerBody = string | readonly Uint8Array[];

/** Its size in bytes, for Content-Length. */
export function answerByteLength(body: AnswerBody): number {
  if (typeof body === 'string') return Buffer.byteLength(body);
  let n = 0;
  for (const part of body) n += part.byteLength;
  return n;
}

/** As one value for a web Response (Lambda, app.fetch): the parts joined there. */
export function answerBodyInit(body: AnswerBody): string | Uint8Array<ArrayBuffer> {
  if (typeof body === 'string') return body;
  const joined = new Uint8Array(answerByteLength(body));
  let at = 0;
  for (const part of body) {
    joined.set(part, at);
    at += part.byteLength;
  }
  return joined;
}
