/** Deterministic answer text for the simulated provider: a seeded PRNG over a small vocabulary. */
const WORDS =
  'the gateway routes every request across providers models accounts and regions with health checks backoff and failover so that app teams never notice an outage quota or slow region'.split(
    ' ',
  );

/** mulberry32: small, fast, good enough for simulation. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function hashString(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

/** `count` tokens, each a word with its leading space (one token each). */
export function answerTokens(random: () => number, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < count; i++) {
    const w = WORDS[Math.floor(random() * WORDS.length)];
    out.push(i === 0 ? w[0].toUpperCase() + w.slice(1) : ` ${w}`);
  }
  if (out.length > 0) out[out.length - 1] += '.';
  return out;
}
