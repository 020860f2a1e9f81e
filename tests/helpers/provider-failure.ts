/** The ProviderError a call rejects with; anything else (or success) fails the test. */
import { ProviderError } from '../../runtime/src/providers/errors';

export async function providerFailure(p: Promise<unknown>): Promise<ProviderError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ProviderError) return err;
    throw err;
  }
  throw new Error('expected a ProviderError');
}
