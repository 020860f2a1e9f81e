/** Bodies one change away from valid ones: the corpus that holds a compiled body check to its zod schema. */

export type Doc = Record<string, unknown>;

/** Every doc reachable from `docs` by one change (each value replaced by one of `wrong`, each key removed, an extra key added), the docs included; objects only. */
export function oneChangeAway(docs: readonly Doc[], wrong: readonly unknown[]): Doc[] {
  function mutations(value: unknown, replace: (v: unknown) => Doc): Doc[] {
    const out: Doc[] = wrong.map((w) => replace(w));
    if (Array.isArray(value)) {
      value.forEach((item, i) => {
        out.push(replace(value.filter((_, j) => j !== i)));
        out.push(...mutations(item, (v) => replace((value as unknown[]).map((x, j) => (j === i ? v : x)))));
      });
    } else if (typeof value === 'object' && value !== null) {
      const obj = value as Doc;
      out.push(replace({ ...obj, unexpected: 1 }));
      for (const k of Object.keys(obj)) {
        const { [k]: _, ...rest } = obj;
        out.push(replace(rest));
        out.push(...mutations(obj[k], (v) => replace({ ...obj, [k]: v })));
      }
    }
    return out;
  }
  return docs.flatMap((doc) => [doc, ...mutations(doc, (v) => v as Doc)]).filter((d) => typeof d === 'object' && d !== null && !Array.isArray(d));
}
