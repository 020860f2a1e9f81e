/**
 * API keys kept in AWS Secrets Manager (`credentials: { secretArn }`). One SDK client per
 * region (from the ARN), a cache with a TTL that is re-read in the background before it
 * ends (so a rotation is picked up without a failed request), and a forced re-read after a
 * provider's 401. A secret's value never goes into a message, a log line or an error.
 */
import { GetSecretValueCommand, SecretsManagerClient, type SecretsManagerClientConfig } from '@aws-sdk/client-secrets-manager';
import { CredentialError, type SecretCredentials, type SecretSource } from './credentials';

export interface SecretsResolverOptions {
  /** How long a value is used before it must be read again (default 5 minutes). */
  ttlMs?: number;
  /** In this last part of the TTL a request still gets the cached value and starts a re-read (default TTL / 5). */
  refreshAheadMs?: number;
  /** How long past its TTL a value may still serve while Secrets Manager cannot be read (default one TTL). */
  maxStaleMs?: number;
  /** Bound on one GetSecretValue, SDK retries included (default 5 s). */
  timeoutMs?: number;
  /** Endpoint for every region (tests); AWS_ENDPOINT_URL_SECRETS_MANAGER works too, through the SDK. */
  endpoint?: string;
  /** Replaces the AWS default credential chain (tests: static fake keys). */
  credentials?: SecretsManagerClientConfig['credentials'];
  now?: () => number;
}

export const DEFAULT_SECRET_TTL_MS = 5 * 60_000;
const DEFAULT_TIMEOUT_MS = 5_000;
/** After a failed background re-read, the next one waits this long (Secrets Manager may be down). */
const BACKGROUND_RETRY_MS = 5_000;
const DEFAULT_FIELDS = ['apiKey', 'api_key', 'key'] as const;

interface CachedSecret {
  /** The SecretString as stored: a bare key, or JSON holding it. */
  readonly text: string;
  readonly fetchedAt: number;
  /** The SecretString parsed, when it is a JSON object (parsed once). */
  fields?: Record<string, unknown>;
  /** No background re-read before this time (set after one failed). */
  quietUntil: number;
}

export class SecretsManagerResolver implements SecretSource {
  private readonly clients = new Map<string, SecretsManagerClient>();
  private readonly cache = new Map<string, CachedSecret>();
  private readonly reading = new Map<string, Promise<CachedSecret>>();
  private readonly ttlMs: number;
  private readonly refreshAheadMs: number;
  private readonly maxStaleMs: number;
  private readonly now: () => number;

  constructor(private readonly opts: SecretsResolverOptions = {}) {
    this.ttlMs = opts.ttlMs ?? DEFAULT_SECRET_TTL_MS;
    this.refreshAheadMs = Math.min(opts.refreshAheadMs ?? this.ttlMs / 5, this.ttlMs);
    this.maxStaleMs = opts.maxStaleMs ?? this.ttlMs;
    this.now = opts.now ?? Date.now;
  }

  /** The key the secret holds now: cached while fresh, re-read when its TTL is over. */
  async get(ref: SecretCredentials): Promise<string> {
    const cached = this.cache.get(ref.secretArn);
    const now = this.now();
    if (cached && now - cached.fetchedAt < this.ttlMs) {
      if (now - cached.fetchedAt >= this.ttlMs - this.refreshAheadMs && now >= cached.quietUntil) this.readInBackground(ref.secretArn);
      return keyOf(ref, cached);
    }
    try {
      return keyOf(ref, await this.read(ref.secretArn));
    } catch (err) {
      // Secrets Manager unreachable: a value a little past its TTL beats failing every call.
      if (cached && now - cached.fetchedAt < this.ttlMs + this.maxStaleMs && !(err instanceof SecretFormatError)) return keyOf(ref, cached);
      throw err;
    }
  }

  /**
   * After a provider refused `rejected` (401): a value newer than the rejected one if the
   * cache already has it, else one read from Secrets Manager now (it may be the same).
   */
  async refresh(ref: SecretCredentials, rejected: string | undefined): Promise<string> {
    const cached = this.cache.get(ref.secretArn);
    if (cached) {
      const current = keyOrUndefined(ref, cached);
      if (current !== undefined && current !== rejected) return current;
    }
    return keyOf(ref, await this.read(ref.secretArn));
  }

  /** Forgets a cached value: the next `get` reads Secrets Manager. */
  invalidate(secretArn: string): void {
    this.cache.delete(secretArn);
  }

  /** Releases the SDK clients; the resolver stays usable (clients are made again on demand). */
  close(): void {
    for (const client of this.clients.values()) client.destroy();
    this.clients.clear();
  }

  private readInBackground(arn: string): void {
    this.read(arn).catch(() => {
      // The cached value keeps serving until its TTL; try again a little later, not on every request.
      const cached = this.cache.get(arn);
      if (cached) cached.quietUntil = this.now() + BACKGROUND_RETRY_MS;
    });
  }

  /** One GetSecretValue per secret at a time; concurrent callers share it. */
  private read(arn: string): Promise<CachedSecret> {
    let pending = this.reading.get(arn);
    if (!pending) {
      pending = this.fetch(arn).finally(() => this.reading.delete(arn));
      this.reading.set(arn, pending);
    }
    return pending;
  }

  private async fetch(arn: string): Promise<CachedSecret> {
    const timeoutMs = this.opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    let out;
    try {
      out = await this.clientFor(arn).send(new GetSecretValueCommand({ SecretId: arn }), { abortSignal: AbortSignal.timeout(timeoutMs) });
    } catch (err) {
      throw new CredentialError(`Secrets Manager secret ${arn}: ${describeFailure(err, timeoutMs)}`);
    }
    if (typeof out.SecretString !== 'string') {
      const what = out.SecretBinary ? 'a binary secret (only SecretString is supported)' : 'no SecretString';
      throw new SecretFormatError(`Secrets Manager secret ${arn} has ${what}`);
    }
    if (out.SecretString.trim() === '') throw new SecretFormatError(`Secrets Manager secret ${arn} is empty`);
    const entry: CachedSecret = { text: out.SecretString, fetchedAt: this.now(), quietUntil: 0 };
    this.cache.set(arn, entry);
    return entry;
  }

  private clientFor(arn: string): SecretsManagerClient {
    const region = regionOfArn(arn);
    let client = this.clients.get(region);
    if (!client) {
      client = new SecretsManagerClient({
        region,
        ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
        ...(this.opts.credentials ? { credentials: this.opts.credentials } : {}),
      });
      this.clients.set(region, client);
    }
    return client;
  }
}

/** The secret is there but does not hold a usable key: no stale value hides that. */
class SecretFormatError extends CredentialError {}

/** `arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME` → REGION. */
export function regionOfArn(arn: string): string {
  const region = arn.split(':')[3];
  if (!arn.startsWith('arn:') || !region) throw new CredentialError(`${arn} is not a Secrets Manager ARN with a region`);
  return region;
}

function keyOf(ref: SecretCredentials, entry: CachedSecret): string {
  const text = entry.text.trim();
  if (!text.startsWith('{')) {
    if (ref.field) throw new SecretFormatError(`Secrets Manager secret ${ref.secretArn}: field "${ref.field}" was configured but the SecretString is not JSON`);
    return text;
  }
  entry.fields ??= parseFields(ref.secretArn, text);
  const names = ref.field ? [ref.field] : DEFAULT_FIELDS;
  for (const name of names) {
    const v = entry.fields[name];
    if (typeof v === 'string' && v.trim() !== '') return v.trim();
  }
  // Field names are not secret; listing them tells the operator what to configure.
  const has = Object.keys(entry.fields).join(', ') || 'none';
  const wanted = names.map((n) => `"${n}"`).join(' or ');
  throw new SecretFormatError(`Secrets Manager secret ${ref.secretArn}: no string field ${wanted} in its JSON (fields: ${has}); set credentials.field`);
}

function keyOrUndefined(ref: SecretCredentials, entry: CachedSecret): string | undefined {
  try {
    return keyOf(ref, entry);
  } catch {
    return undefined;
  }
}

function parseFields(arn: string, text: string): Record<string, unknown> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    // The parser's own message quotes the text: never pass it on.
    throw new SecretFormatError(`Secrets Manager secret ${arn}: the SecretString starts like JSON but does not parse`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new SecretFormatError(`Secrets Manager secret ${arn}: the SecretString is JSON but not an object`);
  }
  return doc as Record<string, unknown>;
}

/**
 * What went wrong, in words that cannot hold the secret: AWS's own error text for service
 * errors, the system error for network ones, and only a name for anything else (an SDK
 * parse failure could quote the response body).
 */
function describeFailure(err: unknown, timeoutMs: number): string {
  type Failure = { name?: string; message?: string; code?: string; $fault?: string; $metadata?: { httpStatusCode?: number }; cause?: Failure };
  const e = err as Failure | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return `GetSecretValue timed out after ${timeoutMs} ms`;
  if (e?.$fault && e.$metadata?.httpStatusCode) return `${e.name}: ${e.message ?? ''}`.trim();
  // The SDK wraps network errors ("AWS SDK error wrapper for ..."); the system error is the cause.
  const system = typeof e?.code === 'string' ? e : typeof e?.cause?.code === 'string' ? e.cause : undefined;
  if (system) return `${system.code}: ${system.message ?? ''}`.trim();
  // An error from another realm (a test VM) reaches us stringified: only its errno code is kept.
  const errno = /^AWS SDK error wrapper for .*?\b(E[A-Z][A-Z0-9_]+)\b/.exec(e?.message ?? '')?.[1];
  if (errno) return `network error ${errno}`;
  return `GetSecretValue failed (${e?.name ?? 'unknown error'})`;
}
