/**
 * Request lines (the log line and, on ECS, the EMF line) of one event-loop turn reach an
 * asynchronous destination as one write: sonic-boom measures its whole pending buffer
 * on every write, which per line cost more than making the line. A synchronous
 * destination (Lambda) gets each line at once. One batch per destination, shared by
 * every writer of it, so lines keep the order they were made in.
 */
import type { DestinationStream } from 'pino';

const writers = new WeakMap<DestinationStream, (line: string) => void>();

/** The function that writes whole lines to `destination`. */
export function lineWriter(destination: DestinationStream): (line: string) => void {
  let write = writers.get(destination);
  if (!write) writers.set(destination, (write = (destination as { sync?: boolean }).sync === false ? batched(destination) : (line) => void destination.write(line)));
  return write;
}

function batched(destination: DestinationStream): (line: string) => void {
  let pending = '';
  const flush = () => {
    const lines = pending;
    pending = '';
    try {
      destination.write(lines);
    } catch {
      // A closed destination loses lines; it must not take the process down from a microtask.
    }
  };
  return (line) => {
    if (pending === '') queueMicrotask(flush);
    pending += line;
  };
}
