/** The client's body as a JSON object, for the proxy's thin hops; undefined when it is not one (the full validation then names the problem). */
export function jsonObjectOf(text: string): Record<string, unknown> | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  return typeof doc === 'object' && doc !== null && !Array.isArray(doc) ? (doc as Record<string, unknown>) : undefined;
}
