/** The next value of an async iterator, or undefined at its end. */
export async function nextValue<T>(it: AsyncIterator<T>): Promise<T | undefined> {
  const r = await it.next();
  return r.done ? undefined : r.value;
}
