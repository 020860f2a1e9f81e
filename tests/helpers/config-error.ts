/** The message of the ConfigError a config document is refused with; anything else fails the test. */
import { ConfigError, parseConfig } from '../../runtime/src/config/load';

export function configErrorOf(doc: unknown): string {
  try {
    parseConfig(doc);
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as Error).message;
  }
  throw new Error('expected a ConfigError');
}
