/**
 * The Lambda proxy: API Gateway REST proxy events into the same Hono app. Streams the
 * response where the runtime offers response streaming (`awslambda` global), else
 * buffers. Config comes from GATEWAY_CONFIG_JSON (or GATEWAY_CONFIG); role from
 * GATEWAY_ROLE, `proxy` by default.
 */
import { handle, streamHandle } from 'hono/aws-lambda';
import { createApp } from './app';
import { loadConfigFromEnv } from './config/load';
import { ROLES, type Role } from './config/schema';
import { createGateway } from './gateway';

const role = (process.env.GATEWAY_ROLE ?? 'proxy') as Role;
if (!ROLES.includes(role)) throw new Error(`GATEWAY_ROLE "${role}" is not one of ${ROLES.join(', ')}`);

// Built once per execution environment (cold start) and reused by every invocation.
const app = createApp(createGateway(loadConfigFromEnv(process.env), role));

/** The Lambda runtime's streaming API; the AWS SDK also creates `awslambda`, so test the function. */
const runtime = (globalThis as { awslambda?: { streamifyResponse?: unknown } }).awslambda;
const canStream = typeof runtime?.streamifyResponse === 'function' && process.env.GATEWAY_LAMBDA_STREAMING !== 'false';

export const handler = canStream ? streamHandle(app) : handle(app);
