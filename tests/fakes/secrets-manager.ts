/**
 * A fake AWS Secrets Manager on loopback speaking the real AWS JSON 1.1 protocol:
 * `POST /` with `X-Amz-Target: secretsmanager.GetSecretValue`, SigV4 scoped to the
 * `secretsmanager` service, answers `{ARN, Name, SecretString, VersionId, ...}` and errors
 * as `{"__type","Message"}`. Driven in tests by the real @aws-sdk/client-secrets-manager.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { Fault, RecordedRequest } from './fault';

export interface SecretsManagerRecordedRequest extends RecordedRequest {
  /** The operation named by X-Amz-Target, e.g. `GetSecretValue`. */
  operation: string;
  /** The SecretId asked for (ARN or name). */
  secretId?: string;
  /** The region the SigV4 signature is scoped to. */
  signedRegion?: string;
}

export interface FakeSecretsManager {
  readonly url: string;
  readonly requests: SecretsManagerRecordedRequest[];
  /** `status` and `reset` faults for the next requests, in order. */
  readonly faults: Fault[];
  /** Creates a secret, or rotates it: a new value under a new VersionId (AWSCURRENT). */
  put(arn: string, secretString: string): void;
  /** Deletes a secret: asking for it is then a ResourceNotFoundException. */
  remove(arn: string): void;
  /** GetSecretValue calls answered with a value. */
  served(): number;
  close(): Promise<void>;
}

interface StoredSecret {
  arn: string;
  name: string;
  value: string;
  versionId: string;
  createdDate: number;
}

const TARGET_PREFIX = 'secretsmanager.';
const SIGV4 = /^AWS4-HMAC-SHA256 Credential=[^/\s]+\/\d{8}\/([a-z0-9-]+)\/([a-z0-9-]+)\/aws4_request, ?SignedHeaders=[a-z0-9;-]+, ?Signature=[0-9a-f]{64}$/;

class AwsJsonError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export async function startFakeSecretsManager(): Promise<FakeSecretsManager> {
  const secrets = new Map<string, StoredSecret>();
  const sockets = new Set<Socket>();
  let served = 0;

  const server = createServer((req, res) => {
    void handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, new AwsJsonError(500, 'InternalServiceError', String(err)));
      else res.destroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });

  const fake: FakeSecretsManager = {
    url: '',
    requests: [],
    faults: [],
    put(arn, value) {
      secrets.set(arn, { arn, name: nameOf(arn), value, versionId: randomUUID(), createdDate: Date.now() / 1000 });
    },
    remove(arn) {
      secrets.delete(arn);
    },
    served: () => served,
    async close() {
      server.closeAllConnections();
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const target = String(req.headers['x-amz-target'] ?? '');
    let body: unknown = raw;
    try {
      body = JSON.parse(raw);
    } catch {
      // recorded as text; rejected below
    }
    const secretId = typeof (body as { SecretId?: unknown })?.SecretId === 'string' ? (body as { SecretId: string }).SecretId : undefined;
    const operation = target.startsWith(TARGET_PREFIX) ? target.slice(TARGET_PREFIX.length) : target;
    const signedRegion = SIGV4.exec(String(req.headers.authorization ?? ''))?.[1];
    fake.requests.push({ method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body, operation, secretId, signedRegion });

    if (req.method !== 'POST' || req.url !== '/') return sendError(res, new AwsJsonError(404, 'UnknownOperationException', `No route for ${req.method} ${req.url}`));
    const contentType = String(req.headers['content-type'] ?? '');
    if (!contentType.startsWith('application/x-amz-json-1.1')) {
      return sendError(res, new AwsJsonError(400, 'SerializationException', `Content-Type ${contentType || '(none)'} is not application/x-amz-json-1.1`));
    }
    const authError = checkSigV4(req.headers.authorization);
    if (authError) return sendError(res, authError);
    if (!target.startsWith(TARGET_PREFIX)) return sendError(res, new AwsJsonError(400, 'UnknownOperationException', `Unknown target ${target || '(none)'}`));
    if (operation !== 'GetSecretValue') return sendError(res, new AwsJsonError(400, 'UnknownOperationException', `The fake does not implement ${operation}`));
    if (typeof body !== 'object' || body === null) return sendError(res, new AwsJsonError(400, 'SerializationException', 'Request body is not valid JSON.'));
    if (!secretId) return sendError(res, new AwsJsonError(400, 'InvalidParameterException', 'You must provide a SecretId.'));

    const fault = fake.faults.shift();
    if (fault?.kind === 'reset') return void req.socket.destroy();
    if (fault?.kind === 'status') return sendError(res, new AwsJsonError(fault.status, fault.code ?? 'InternalServiceError', fault.message ?? 'An error occurred on the server side.'));

    const secret = secrets.get(secretId) ?? [...secrets.values()].find((s) => s.name === secretId);
    if (!secret) return sendError(res, new AwsJsonError(400, 'ResourceNotFoundException', "Secrets Manager can't find the specified secret."));
    served += 1;
    res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
    res.end(
      JSON.stringify({
        ARN: secret.arn,
        Name: secret.name,
        SecretString: secret.value,
        VersionId: secret.versionId,
        VersionStages: ['AWSCURRENT'],
        CreatedDate: secret.createdDate,
      }),
    );
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  (fake as { url: string }).url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return fake;
}

/** `arn:aws:secretsmanager:r:acct:secret:openai-key-AbCdEf` → `openai-key` (AWS adds 6 random characters). */
function nameOf(arn: string): string {
  const name = arn.split(':secret:')[1] ?? arn;
  return name.replace(/-[A-Za-z0-9]{6}$/, '');
}

function checkSigV4(authorization: string | undefined): AwsJsonError | undefined {
  if (!authorization) return new AwsJsonError(400, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
  const m = SIGV4.exec(authorization);
  if (!m) return new AwsJsonError(400, 'IncompleteSignatureException', 'Authorization header is not a valid AWS SigV4 signature.');
  if (m[2] !== 'secretsmanager') {
    return new AwsJsonError(400, 'InvalidSignatureException', "Credential should be scoped to correct service: 'secretsmanager'.");
  }
  return undefined;
}

function sendError(res: ServerResponse, err: AwsJsonError): void {
  res.writeHead(err.status, { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-requestid': randomUUID() });
  res.end(JSON.stringify({ __type: err.type, Message: err.message }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (p: Buffer) => parts.push(p));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}
