/**
 * Concurrency leases shared by gateway instances through a real redis-server: one limit
 * between them, the leases of an instance that stopped renewing (crashed) lapse, the
 * leases of a live one do not, and without Redis each instance counts its own share.
 */
import { Redis } from 'ioredis';
import { RedisLeases } from '../../runtime/src/quota/redis-leases';
import type { QuotaHealth } from '../../runtime/src/quota/store';
import { startRedisServer, type RedisServer } from '../helpers/redis-server';
import { sleep } from '../helpers/until';

let server: RedisServer;
const clients: Redis[] = [];
const stores: RedisLeases[] = [];
let prefixes = 0;
let prefix = '';

beforeAll(async () => {
  server = await startRedisServer();
});
afterAll(async () => {
  await Promise.all(clients.map((c) => c.quit()));
  await server?.close();
});
beforeEach(() => {
  prefix = `leases${++prefixes}:`;
});
afterEach(() => {
  for (const s of stores.splice(0)) s.close();
});

const healthy: QuotaHealth = { backend: 'redis', degraded: false, instances: 2 };

async function instance(name: string, opts: { ttlMs?: number; renewMs?: number; health?: () => QuotaHealth } = {}): Promise<RedisLeases> {
  const client = new Redis(server.url);
  clients.push(client);
  await new Promise<void>((resolve) => client.once('ready', () => resolve()));
  const s = new RedisLeases({ client, prefix, instanceId: name, health: opts.health ?? (() => healthy), ttlMs: opts.ttlMs, renewMs: opts.renewMs });
  stores.push(s);
  return s;
}

it('two instances share one limit', async () => {
  const a = await instance('a');
  const b = await instance('b');
  const first = await a.acquire('tenant/t', 2);
  const second = await b.acquire('tenant/t', 2);
  expect(first && second).toBeTruthy();
  expect(await a.acquire('tenant/t', 2)).toBeUndefined();
  expect(await b.acquire('tenant/t', 2)).toBeUndefined();
  expect(await b.acquire('tenant/other', 2)).toBeDefined(); // another tenant's count
  first!.release();
  first!.release(); // a second release gives nothing back twice
  await sleep(20); // the release reaches Redis
  const third = await b.acquire('tenant/t', 2);
  expect(third).toBeDefined();
  expect(await a.acquire('tenant/t', 2)).toBeUndefined();
});

it("a crashed instance's leases lapse after their ttl; a live instance's are renewed and hold", async () => {
  const crashed = await instance('crashed', { ttlMs: 600, renewMs: 100 });
  const live = await instance('live', { ttlMs: 600, renewMs: 100 });
  const other = await instance('other', { ttlMs: 600, renewMs: 100 });
  expect(await crashed.acquire('tenant/t', 2)).toBeDefined();
  expect(await live.acquire('tenant/t', 2)).toBeDefined();
  crashed.close(); // stops renewing, releases nothing: as a process that died
  expect(await other.acquire('tenant/t', 2)).toBeUndefined();
  await sleep(1300); // twice the ttl: the live lease was renewed meanwhile, the crashed one was not
  const taken = await other.acquire('tenant/t', 2);
  expect(taken).toBeDefined();
  expect(await other.acquire('tenant/t', 2)).toBeUndefined(); // the live instance's lease still counts
});

it('while Redis is away, each instance counts its own leases against its share of the limit', async () => {
  const degraded: QuotaHealth = { backend: 'memory', degraded: true, instances: 2 };
  const a = await instance('a', { health: () => degraded });
  const leases = [await a.acquire('tenant/t', 4), await a.acquire('tenant/t', 4)];
  expect(leases.every((l) => l !== undefined)).toBe(true);
  expect(await a.acquire('tenant/t', 4)).toBeUndefined(); // 4 shared by 2 instances: 2 here
  leases[0]!.release();
  expect(await a.acquire('tenant/t', 4)).toBeDefined();
});

it('leases taken through Redis still count in the local share when Redis goes away', async () => {
  let health: QuotaHealth = healthy;
  const a = await instance('a', { health: () => health });
  expect(await a.acquire('tenant/t', 2)).toBeDefined();
  health = { backend: 'memory', degraded: true, instances: 1 };
  expect(await a.acquire('tenant/t', 2)).toBeDefined();
  expect(await a.acquire('tenant/t', 2)).toBeUndefined();
});
