/** The Secrets Manager resolver through the real AWS SDK client against a fake Secrets Manager. */
import { CredentialError } from '../../runtime/src/providers/credentials';
import { SecretsManagerResolver, type SecretsResolverOptions } from '../../runtime/src/providers/secrets';
import { startFakeSecretsManager, type FakeSecretsManager } from '../fakes/secrets-manager';

const ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:openai-key-AbCdEf';
const ARN_EU = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:anthropic-key-XyZ123';
const FAKE_AWS = { accessKeyId: 'AKIDFAKEFAKEFAKE', secretAccessKey: 'fake-aws-secret' };
const TTL = 60_000;

let sm: FakeSecretsManager;
let t: number;
const resolvers: SecretsManagerResolver[] = [];

function resolver(opts: SecretsResolverOptions = {}): SecretsManagerResolver {
  const r = new SecretsManagerResolver({ endpoint: sm.url, credentials: FAKE_AWS, ttlMs: TTL, now: () => t, ...opts });
  resolvers.push(r);
  return r;
}

/** The key `get` returns once it is `want` (bounded): a background read lands on its own time. */
async function eventually(r: SecretsManagerResolver, want: string): Promise<string> {
  let got = await r.get({ secretArn: ARN });
  for (let i = 0; i < 200 && got !== want; i++) {
    await new Promise((done) => setTimeout(done, 5));
    got = await r.get({ secretArn: ARN });
  }
  return got;
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

beforeEach(async () => {
  sm = await startFakeSecretsManager();
  t = 1_000_000;
});

afterEach(async () => {
  for (const r of resolvers.splice(0)) r.close();
  await sm.close();
});

describe('reading a secret', () => {
  test('a plain SecretString is the key; many requests make one GetSecretValue call', async () => {
    sm.put(ARN, 'sk-plain-key-1\n');
    const r = resolver();
    const keys = await Promise.all(Array.from({ length: 10 }, () => r.get({ secretArn: ARN })));
    for (let i = 0; i < 10; i++) keys.push(await r.get({ secretArn: ARN }));
    expect(new Set(keys)).toEqual(new Set(['sk-plain-key-1']));
    expect(sm.served()).toBe(1);
    // The real AWS JSON 1.1 call, signed for secretsmanager in the ARN's region.
    const [call] = sm.requests;
    expect(call).toMatchObject({ method: 'POST', path: '/', operation: 'GetSecretValue', secretId: ARN, signedRegion: 'us-east-1' });
    expect(call.headers['x-amz-target']).toBe('secretsmanager.GetSecretValue');
    expect(call.headers['content-type']).toBe('application/x-amz-json-1.1');
  });

  test('each region is asked with its own signature scope', async () => {
    sm.put(ARN, 'sk-us');
    sm.put(ARN_EU, 'sk-eu');
    const r = resolver();
    expect(await r.get({ secretArn: ARN })).toBe('sk-us');
    expect(await r.get({ secretArn: ARN_EU })).toBe('sk-eu');
    expect(sm.requests.map((q) => q.signedRegion)).toEqual(['us-east-1', 'eu-west-1']);
  });

  test('a JSON secret: apiKey, api_key or key by default, or the configured field', async () => {
    sm.put(ARN, JSON.stringify({ username: 'svc', apiKey: 'sk-from-apiKey' }));
    sm.put(ARN_EU, JSON.stringify({ api_key: 'sk-from-api_key', other: 'sk-from-other' }));
    const r = resolver();
    expect(await r.get({ secretArn: ARN })).toBe('sk-from-apiKey');
    expect(await r.get({ secretArn: ARN_EU })).toBe('sk-from-api_key');
    expect(await r.get({ secretArn: ARN_EU, field: 'other' })).toBe('sk-from-other');
  });

  test('the SDK honours AWS_ENDPOINT_URL_SECRETS_MANAGER when no endpoint is given', async () => {
    sm.put(ARN, 'sk-through-env-endpoint');
    const saved = process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
    process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = sm.url;
    try {
      const r = new SecretsManagerResolver({ credentials: FAKE_AWS, now: () => t });
      resolvers.push(r);
      expect(await r.get({ secretArn: ARN })).toBe('sk-through-env-endpoint');
    } finally {
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER;
      else process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = saved;
    }
  });
});

describe('rotation', () => {
  test('before the TTL the cached value; near its end a background read; after it the new value', async () => {
    sm.put(ARN, 'sk-version-1');
    const r = resolver({ refreshAheadMs: 10_000 });
    expect(await r.get({ secretArn: ARN })).toBe('sk-version-1');
    sm.put(ARN, 'sk-version-2');

    t += 30_000; // fresh: no call
    expect(await r.get({ secretArn: ARN })).toBe('sk-version-1');
    expect(sm.served()).toBe(1);

    t += 25_000; // in the last 10 s of the TTL: still the cached value, and a read starts
    expect(await r.get({ secretArn: ARN })).toBe('sk-version-1');
    expect(await eventually(r, 'sk-version-2')).toBe('sk-version-2');
    expect(sm.served()).toBe(2); // requests during the read shared it

    sm.put(ARN, 'sk-version-3');
    t += TTL; // the background-read value has expired: read before answering
    expect(await r.get({ secretArn: ARN })).toBe('sk-version-3');
    expect(sm.served()).toBe(3);
  });

  test('refresh after a 401 reads Secrets Manager again, unless the cache already holds a newer value', async () => {
    sm.put(ARN, 'sk-old');
    const r = resolver();
    expect(await r.get({ secretArn: ARN })).toBe('sk-old');
    sm.put(ARN, 'sk-new');
    expect(await r.refresh({ secretArn: ARN }, 'sk-old')).toBe('sk-new');
    expect(sm.served()).toBe(2);
    // A second request that was sent with the old key finds the new one cached.
    expect(await r.refresh({ secretArn: ARN }, 'sk-old')).toBe('sk-new');
    expect(await r.get({ secretArn: ARN })).toBe('sk-new');
    expect(sm.served()).toBe(2);
  });

  test('concurrent refreshes share one read', async () => {
    sm.put(ARN, 'sk-a');
    const r = resolver();
    await r.get({ secretArn: ARN });
    sm.put(ARN, 'sk-b');
    const fresh = await Promise.all(Array.from({ length: 5 }, () => r.refresh({ secretArn: ARN }, 'sk-a')));
    expect(fresh).toEqual(Array(5).fill('sk-b'));
    expect(sm.served()).toBe(2);
  });

  test('Secrets Manager failing: a value just past its TTL still serves, an older one does not', async () => {
    sm.put(ARN, 'sk-kept');
    const r = resolver({ maxStaleMs: 30_000 });
    expect(await r.get({ secretArn: ARN })).toBe('sk-kept');
    t += TTL + 10_000;
    sm.faults.push({ kind: 'status', status: 500, code: 'InternalServiceError' }, { kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    expect(await r.get({ secretArn: ARN })).toBe('sk-kept');
    t += 30_000;
    sm.remove(ARN);
    const err = await errorOf(r.get({ secretArn: ARN }));
    expect(err.message).toContain(ARN);
    expect(err.message).toContain('ResourceNotFoundException');
  });
});

describe('errors name the ARN, never the value', () => {
  test('a missing secret: a CredentialError naming the ARN', async () => {
    const r = resolver();
    const err = await errorOf(r.get({ secretArn: ARN }));
    expect(err).toBeInstanceOf(CredentialError);
    expect(err.message).toBe(`Secrets Manager secret ${ARN}: ResourceNotFoundException: Secrets Manager can't find the specified secret.`);
  });

  test('a JSON secret without the field lists its field names, not their values', async () => {
    const value = 'sk-live-VALUE-THAT-MUST-NOT-LEAK-1234567890';
    sm.put(ARN, JSON.stringify({ token: value, user: 'svc-account-name' }));
    const r = resolver();
    const err = await errorOf(r.get({ secretArn: ARN }));
    expect(err.message).toContain(ARN);
    expect(err.message).toContain('fields: token, user');
    expect(err.message).not.toContain(value);
    expect(err.message).not.toContain('svc-account-name');
    const named = await errorOf(r.get({ secretArn: ARN, field: 'apiToken' }));
    expect(named.message).toMatch(/no string field "apiToken"/);
    expect(named.message).not.toContain(value);
  });

  test('a SecretString that is broken JSON: the parser message (which quotes it) is not passed on', async () => {
    const value = 'sk-live-BROKEN-JSON-VALUE-0987654321';
    sm.put(ARN, `{"apiKey": "${value}`);
    const err = await errorOf(resolver().get({ secretArn: ARN }));
    expect(err.message).toBe(`Secrets Manager secret ${ARN}: the SecretString starts like JSON but does not parse`);
  });

  test('a field asked of a plain secret, and an unreachable Secrets Manager', async () => {
    const value = 'sk-plain-VALUE-NOT-IN-ERRORS-555';
    sm.put(ARN, value);
    const r = resolver();
    const fieldErr = await errorOf(r.get({ secretArn: ARN, field: 'apiKey' }));
    expect(fieldErr.message).toContain(ARN);
    expect(fieldErr.message).not.toContain(value);
    await r.get({ secretArn: ARN });
    await sm.close();
    t += 10 * TTL;
    const down = await errorOf(r.get({ secretArn: ARN }));
    expect(down).toBeInstanceOf(CredentialError);
    expect(down.message).toContain(ARN);
    expect(down.message).toMatch(/ECONNREFUSED/);
    expect(down.message).not.toContain(value);
    sm = await startFakeSecretsManager(); // for afterEach
  });
});
