/**
 * Who may read the operator pages (/metrics, /status, /status.json, /status/events). Open
 * while the gateway is open (no tenants, no operators configured); otherwise a request
 * must come from a configured network or carry an operator key (`operators.keys`, hashed
 * like tenant keys): `Authorization: Bearer KEY`, `x-api-key: KEY`, or the password of
 * HTTP Basic, which a browser asks for and then sends with the page's own requests too.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { BlockList, isIPv4 } from 'node:net';
import type { GatewayConfig } from '../config/schema';
import { GatewayError } from '../core/gateway-error';
import { presentedKey } from './auth';

const CHALLENGE = { 'www-authenticate': 'Basic realm="ai-gateway operator", charset="UTF-8"' };

export class OperatorAccess {
  private readonly keys: Buffer[];
  private readonly networks: BlockList | undefined;
  /** Nothing to protect: no tenants and no operators in the config. */
  readonly open: boolean;

  constructor(config: Pick<GatewayConfig, 'tenants' | 'operators'>) {
    const operators = config.operators;
    this.open = config.tenants.length === 0 && operators === undefined;
    this.keys = (operators?.keys ?? []).map((k) => Buffer.from(k.slice('sha256:'.length), 'hex'));
    const networks = operators?.networks ?? [];
    if (networks.length > 0) {
      this.networks = new BlockList();
      for (const n of networks) {
        const [address, bits] = n.split('/');
        const type = isIPv4(address) ? 'ipv4' : 'ipv6';
        this.networks.addSubnet(address, bits === undefined ? (type === 'ipv4' ? 32 : 128) : Number(bits), type);
      }
    }
  }

  /** Throws the 401/403 (OpenAI error shape) unless the request may read operator pages. */
  check(headers: Pick<Headers, 'get'>, source: string | undefined): void {
    if (this.open || this.fromNetwork(source)) return;
    const key = operatorKey(headers);
    if (key === undefined) {
      if (this.keys.length === 0) {
        throw new GatewayError(403, 'permission_error', `Operator pages are served only to operators.networks; ${source ?? 'this source'} is not in them.`, 'operator_network_required');
      }
      throw new GatewayError(
        401,
        'authentication_error',
        'Operator pages need an operator key: "Authorization: Bearer KEY" (or Basic with the key as password).',
        'operator_key_required',
        null,
        CHALLENGE,
      );
    }
    const digest = createHash('sha256').update(key).digest();
    let found = false;
    // Compare with every key, not stopping at a match, so timing says nothing about which.
    for (const k of this.keys) if (timingSafeEqual(k, digest)) found = true;
    if (!found) throw new GatewayError(401, 'authentication_error', 'Invalid operator key.', 'invalid_operator_key', null, CHALLENGE);
  }

  private fromNetwork(source: string | undefined): boolean {
    if (!this.networks || !source) return false;
    // A dual-stack socket shows IPv4 clients as ::ffff:a.b.c.d.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(source);
    const address = mapped ? mapped[1] : source;
    return this.networks.check(address, isIPv4(address) ? 'ipv4' : 'ipv6');
  }
}

/** The key a request presents: bearer, x-api-key, or a Basic password (any user name). */
function operatorKey(headers: Pick<Headers, 'get'>): string | undefined {
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(headers.get('authorization')?.trim() ?? '');
  if (basic) {
    const decoded = Buffer.from(basic[1], 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon >= 0 && colon < decoded.length - 1 ? decoded.slice(colon + 1) : undefined;
  }
  return presentedKey(headers);
}

/**
 * The address a request came from: the connection's peer on the Node server
 * (@hono/node-server's `incoming`), API Gateway's `sourceIp` in Lambda. Headers such as
 * X-Forwarded-For are not trusted: a client sets them.
 */
export function sourceAddress(env: unknown): string | undefined {
  const e = env as { incoming?: { socket?: { remoteAddress?: string } }; requestContext?: { identity?: { sourceIp?: string }; http?: { sourceIp?: string } } } | undefined;
  return e?.incoming?.socket?.remoteAddress ?? e?.requestContext?.identity?.sourceIp ?? e?.requestContext?.http?.sourceIp;
}

const cache = new WeakMap<object, OperatorAccess>();

/** The access rules of a config (made once per config: a reload brings new ones). */
export function operatorAccess(config: GatewayConfig): OperatorAccess {
  let access = cache.get(config);
  if (!access) cache.set(config, (access = new OperatorAccess(config)));
  return access;
}
