/**
 * Where the spokes are. A spoke given by IP is one endpoint; a spoke given by DNS name
 * is every address the name resolves to, re-resolved when the records' TTL runs out,
 * so that addresses that come and go (NLB IPs, tasks) are followed and each address
 * is a route of its own that can be ejected on its own.
 */
import { promises as dns } from 'node:dns';
import { isIP } from 'node:net';
import type { GatewayConfig, SpokeConfig } from '../config/schema';
import type { Clock } from '../core/clock';

export interface SpokeEndpoint {
  /** The address (or the literal host when it is an IP): the route's "region". */
  address: string;
  /** Base URL of this address, e.g. `http://10.1.2.3:8080`. */
  url: string;
}

type DnsSettings = NonNullable<GatewayConfig['dns']>;

export class SpokeDirectory {
  private readonly resolver: dns.Resolver;
  private readonly current = new Map<string, SpokeEndpoint[]>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly listeners: Array<() => void> = [];
  private stopped = false;
  readonly ready: Promise<void>;

  constructor(
    spokes: readonly SpokeConfig[],
    private readonly settings: DnsSettings = { minTtlMs: 1_000, maxTtlMs: 60_000 },
    private readonly clock: Clock,
  ) {
    this.resolver = new dns.Resolver({ timeout: 1_000, tries: 2 });
    if (settings.servers) this.resolver.setServers(settings.servers);
    for (const s of spokes) {
      const host = new URL(s.url).hostname.replace(/^\[|\]$/g, '');
      if (isIP(host)) this.current.set(s.id, [{ address: host, url: trimSlash(s.url) }]);
    }
    this.ready = Promise.all(spokes.filter((s) => !this.current.has(s.id)).map((s) => this.refresh(s))).then(() => undefined);
  }

  /** Called after the addresses of any spoke changed. */
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }

  endpoints(spokeId: string): SpokeEndpoint[] {
    return this.current.get(spokeId) ?? [];
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
  }

  private async refresh(spoke: SpokeConfig): Promise<void> {
    if (this.stopped) return;
    const url = new URL(spoke.url);
    let ttlMs = this.settings.minTtlMs;
    try {
      const [v4, v6] = await Promise.all([this.resolver.resolve4(url.hostname, { ttl: true }).catch(noRecords), this.resolver.resolve6(url.hostname, { ttl: true }).catch(noRecords)]);
      const records = [...v4, ...v6];
      if (records.length === 0) throw new Error(`${url.hostname}: no A or AAAA records`);
      ttlMs = Math.min(...records.map((r) => r.ttl * 1000));
      const endpoints = records
        .map((r) => ({ address: r.address, url: `${url.protocol}//${isIP(r.address) === 6 ? `[${r.address}]` : r.address}${url.port ? `:${url.port}` : ''}` }))
        .sort((a, b) => a.address.localeCompare(b.address));
      const before = this.current.get(spoke.id);
      this.current.set(spoke.id, endpoints);
      if (!sameAddresses(before, endpoints)) for (const l of this.listeners) l();
    } catch (err) {
      // Keep the last known addresses: a DNS hiccup must not take a spoke away.
      console.error(JSON.stringify({ level: 'warn', msg: 'spoke DNS resolution failed', spoke: spoke.id, err: (err as Error).message, at: this.clock.now() }));
    }
    if (this.stopped) return;
    const next = Math.min(this.settings.maxTtlMs, Math.max(this.settings.minTtlMs, ttlMs));
    const timer = setTimeout(() => void this.refresh(spoke), next);
    timer.unref();
    this.timers.set(spoke.id, timer);
  }
}

function noRecords(err: NodeJS.ErrnoException): never[] {
  if (err.code === 'ENODATA' || err.code === 'ENOTFOUND') return [];
  throw err;
}

function sameAddresses(a: SpokeEndpoint[] | undefined, b: SpokeEndpoint[]): boolean {
  return a !== undefined && a.length === b.length && a.every((e, i) => e.url === b[i].url);
}

function trimSlash(url: string): string {
  return url.replace(/\/+$/, '');
}
