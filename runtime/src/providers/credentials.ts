/** Resolves an account's API key from the environment or a file; never logged. */
import { readFileSync } from 'node:fs';
import type { Credentials } from '../config/schema';

export type CredentialResolver = (cred: Credentials | undefined) => Promise<string | undefined>;

export class CredentialError extends Error {
  override readonly name = 'CredentialError';
}

export const resolveLocalCredential: CredentialResolver = async (cred) => {
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
  throw new CredentialError(`credentials { secretArn } need the Secrets Manager resolver`);
};
