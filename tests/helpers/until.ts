/** Waiting for what happens after an answer: request events reach logs, EMF lines and observers in batches. */
export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `cond` every `stepMs` for at most `maxMs`; says whether it became true. */
export async function until(cond: () => boolean | Promise<boolean>, maxMs = 2_000, stepMs = 10): Promise<boolean> {
  for (let waited = 0; waited <= maxMs; waited += stepMs) {
    if (await cond()) return true;
    await sleep(stepMs);
  }
  return cond();
}
