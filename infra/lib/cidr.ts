/**
 * IPv4 CIDR arithmetic for the address plan: parsing, overlap checks and the subnet and
 * fixed-address layout, all pure so the plan is known before any cloud call.
 */

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  readonly base: number;
  readonly prefix: number;
}

const CIDR_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/;
const IP_RE = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function octetsToInt(parts: string[]): number | undefined {
  const octets = parts.map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  return ((octets[0] << 24) | (octets[1] << 16) | (octets[2] << 8) | octets[3]) >>> 0;
}

export function parseIp(text: string): number | undefined {
  const m = IP_RE.exec(text);
  return m ? octetsToInt(m.slice(1, 5)) : undefined;
}

/** A CIDR whose host bits are zero (10.1.0.0/16, not 10.1.2.3/16), else undefined. */
export function parseCidr(text: string): Cidr | undefined {
  const m = CIDR_RE.exec(text);
  if (!m) return undefined;
  const base = octetsToInt(m.slice(1, 5));
  const prefix = Number(m[5]);
  if (base === undefined || prefix > 32) return undefined;
  if ((base & hostMask(prefix)) !== 0) return undefined;
  return { base, prefix };
}

export function isCidr(text: string): boolean {
  return parseCidr(text) !== undefined;
}

function hostMask(prefix: number): number {
  return prefix === 0 ? 0xffffffff : (2 ** (32 - prefix) - 1) >>> 0;
}

function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

export function formatIp(value: number): string {
  return [24, 16, 8, 0].map((shift) => (value >>> shift) & 255).join('.');
}

export function formatCidr(c: Cidr): string {
  return `${formatIp(c.base)}/${c.prefix}`;
}

function mustParse(text: string): Cidr {
  const c = parseCidr(text);
  if (!c) throw new Error(`"${text}" is not a CIDR like 10.1.0.0/16`);
  return c;
}

export function cidrsOverlap(a: string, b: string): boolean {
  const x = mustParse(a);
  const y = mustParse(b);
  return x.base < y.base + size(y) && y.base < x.base + size(x);
}

export function cidrContains(outer: string, inner: string): boolean {
  const o = mustParse(outer);
  const i = mustParse(inner);
  return i.prefix >= o.prefix && i.base >= o.base && i.base + size(i) <= o.base + size(o);
}

export function cidrContainsIp(cidr: string, ip: string): boolean {
  const c = mustParse(cidr);
  const value = parseIp(ip);
  return value !== undefined && value >= c.base && value < c.base + size(c);
}

/** The `index`-th subnet `newBits` longer than `cidr` (as Terraform's cidrsubnet). */
export function cidrSubnet(cidr: string, newBits: number, index: number): string {
  const c = mustParse(cidr);
  const prefix = c.prefix + newBits;
  if (prefix > 32) throw new Error(`${cidr} cannot be split ${newBits} bits further`);
  if (index < 0 || index >= 2 ** newBits) throw new Error(`${cidr} has no subnet #${index} of /${prefix}`);
  return formatCidr({ base: (c.base + index * 2 ** (32 - prefix)) >>> 0, prefix });
}

/**
 * Host number `host` of `cidr`. AWS reserves the first four and the last address of
 * every subnet, so only hosts 4 .. size-2 are usable.
 */
export function cidrHost(cidr: string, host: number): string {
  const c = mustParse(cidr);
  if (host < 4 || host > size(c) - 2) throw new Error(`host #${host} is reserved or outside ${cidr}`);
  return formatIp((c.base + host) >>> 0);
}
