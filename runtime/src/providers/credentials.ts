/**
 * Resolves an account's API key from the environment, a file or Secrets Manager; never
 * logged, and never part of an error message.
 */
import { readFileSync } from 'node:fs';
import type { Credentials } from '../config/schema';

export interface CredentialResolver {
  /** A value at once where its source is local (env, file): no promise to wait for on each call. */
  (cred: Credentials | undefined): string | undefined | Promise<string | undefined>;
  /**
   * After the provider refused `rejected` (401): the credential read again from its
   * source, for sources that can change under us (a rotated secret). Absent otherwise.
   */
  refresh?(cred: Credentials | undefined, rejected: string | undefined): Promise<string | undefined>;
}

export type SecretCredentials = Extract<Credentials, { secretArn: string }>;

/** What the resolver needs of a secret store (SecretsManagerResolver in production). */
export interface SecretSource {
  get(ref: SecretCredentials): Promise<string>;
  refresh(ref: SecretCredentials, rejected: string | undefined): Promise<string>;
}

export class CredentialError extends Error {
  override readonly name = 'CredentialError';
}

export const resolveLocalCredential = (cred: Credentials | undefined): string | undefined => {
  if (!cred) return undefined;
  if ('env' in cred) {
    const v = process.env[cred.env];
    if (!v) throw new CredentialError(`credential environment variable ${cred.env} is not set`);
    return v;
  }
  if ('file' in cred) {
    try {
      return readFileSync(cred.file, 'utf8').trim();
    } catch (err) {
      throw new CredentialError(`cannot read credential file ${cred.file}: ${(err as NodeJS.ErrnoException).code}`);
    }
  }
  throw new CredentialError(`credentials { secretArn: ${cred.secretArn} } need a Secrets Manager resolver`);
};

/** env and file credentials read locally; secretArn ones from `secrets` (with their cache and refresh). */
export function createCredentialResolver(secrets?: SecretSource): CredentialResolver {
  const resolve = (cred: Credentials | undefined) => (cred && 'secretArn' in cred && secrets ? secrets.get(cred) : resolveLocalCredential(cred));
  return Object.assign(resolve, {
    refresh: async (cred: Credentials | undefined, rejected: string | undefined) => (cred && 'secretArn' in cred && secrets ? secrets.refresh(cred, rejected) : undefined),
  });
}

/**
 * After a 401: the credential's new value when its source now holds a different one (it
 * was rotated), else undefined: the caller then retries once, or classifies the 401 as
 * before. Never throws: a failing refresh leaves the original refusal standing.
 */
export async function rotatedCredential(resolve: CredentialResolver, cred: Credentials | undefined, rejected: string | undefined): Promise<string | undefined> {
  if (!cred || !resolve.refresh) return undefined;
  try {
    const fresh = await resolve.refresh(cred, rejected);
    return fresh && fresh !== rejected ? fresh : undefined;
  } catch {
    return undefined;
  }
}
