/** Metric dimensions shared by Prometheus (metrics.ts) and CloudWatch EMF (emf.ts). */
import type { RequestEvent } from './events';

/** The label for models the config does not know (a client typo must not create a series). */
export const UNKNOWN_MODEL = 'unknown';

/** The logical model as a label: configured names only. */
export function modelLabeller(isKnownModel: (name: string) => boolean): (name: string) => string {
  return (name) => (name !== '' && isKnownModel(name) ? name : UNKNOWN_MODEL);
}

/** The error a request ended with: its OpenAI code, else `http_<status>` for a code-less failure. */
export function errorOf(ev: RequestEvent): string | undefined {
  return ev.errorCode ?? (ev.status >= 400 ? `http_${ev.status}` : undefined);
}

/** A stream that broke, or ran out of time, after its 200 went out: the client got less than a whole answer. */
export function brokenAfterStart(ev: RequestEvent): boolean {
  return ev.status === 200 && (ev.errorCode === 'stream_interrupted' || ev.errorCode === 'deadline_exceeded');
}

/** `quota exhausted: details` -> `quota_exhausted`: a small, fixed set of label values. */
export function reasonLabel(reason: string): string {
  const head = reason.split(':')[0].trim().toLowerCase();
  return (
    head
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_|_$/g, '')
      .slice(0, 40) || 'unspecified'
  );
}
