/** TenantLimiter on its own: exactly-once slot release, oversize requests, a failing store. */
import { GatewayError } from '../../runtime/src/core/gateway-error';
import { parseConfig } from '../../runtime/src/config/load';
import type { TenantConfig } from '../../runtime/src/config/schema';
import { MemoryQuotaStore } from '../../runtime/src/quota/memory-store';
import type { QuotaStore } from '../../runtime/src/quota/store';
import { ManualClock } from '../helpers/manual-clock';
import { TenantLimiter, tenantQuotaKey } from '../../runtime/src/tenants/limiter';

const tenant = (limits: TenantConfig['limits']): TenantConfig => parseConfig({ tenants: [{ id: 't', apiKeyIds: ['k'], limits }] }).tenants[0];

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('admitted, expected a refusal');
}

describe('TenantLimiter', () => {
  const clock = new ManualClock(0);

  it('gives a concurrency slot back once, however often the permit is ended', async () => {
    const limiter = new TenantLimiter(new MemoryQuotaStore(clock));
    const t = tenant({ concurrency: 1 });
    const permit = await limiter.admit(t, 10);
    expect((await refusal(limiter.admit(t, 10))).code).toBe('tenant_concurrency_limited');
    permit.release();
    permit.release();
    permit.settle(5);
    expect(limiter.inFlight('t')).toBe(0);
    await limiter.admit(t, 10);
    expect((await refusal(limiter.admit(t, 10))).status).toBe(429);
  });

  it('settles a permit once: the first of settle and release decides the tokens', async () => {
    const store = new MemoryQuotaStore(clock);
    const limiter = new TenantLimiter(store);
    const t = tenant({ tpm: 1000 });
    const permit = await limiter.admit(t, 400);
    expect(store.peek(tenantQuotaKey('t'), { tpm: 1000 }).tokensUsed).toBe(400);
    permit.settle(120);
    permit.release();
    expect(store.peek(tenantQuotaKey('t'), { tpm: 1000 })).toMatchObject({ requestsUsed: 1, tokensUsed: 120 });
    (await limiter.admit(t, 50)).settle(); // usage unknown: the estimate stays
    expect(store.peek(tenantQuotaKey('t'), { tpm: 1000 }).tokensUsed).toBe(170);
  });

  it('admits a request larger than the whole tpm into an empty window, taking all of it', async () => {
    const store = new MemoryQuotaStore(clock);
    const limiter = new TenantLimiter(store);
    const t = tenant({ tpm: 1000 });
    await limiter.admit(t, 5000);
    expect(store.peek(tenantQuotaKey('t'), { tpm: 1000 }).tokensUsed).toBe(1000);
    const err = await refusal(limiter.admit(t, 1));
    expect(err.headers['retry-after']).toBe('60');
  });

  it('serves rather than refuses when the store itself fails, and still counts concurrency', async () => {
    const down = () => Promise.reject(new Error('store down'));
    const broken: QuotaStore = {
      reserve: down,
      reconcile: down,
      release: down,
      cancel: down,
      cooldown: down,
      claimProbe: down,
      endProbe: down,
      observe: down,
      peek: () => ({ fraction: 1, requestsUsed: 0, tokensUsed: 0 }),
    };
    const limiter = new TenantLimiter(broken);
    const t = tenant({ rpm: 1, concurrency: 1 });
    const permit = await limiter.admit(t, 10);
    expect((await refusal(limiter.admit(t, 10))).code).toBe('tenant_concurrency_limited');
    permit.settle(3);
    await limiter.admit(t, 10);
  });

  it('does not touch the store for a tenant without rpm or tpm, nor for an open gateway', async () => {
    const calls: string[] = [];
    const store = new MemoryQuotaStore(clock);
    const watched: QuotaStore = {
      reserve: (...a) => (calls.push('reserve'), store.reserve(...a)),
      reconcile: (...a) => (calls.push('reconcile'), store.reconcile(...a)),
      release: (...a) => (calls.push('release'), store.release(...a)),
      cancel: (...a) => (calls.push('cancel'), store.cancel(...a)),
      cooldown: (...a) => store.cooldown(...a),
      claimProbe: (...a) => store.claimProbe(...a),
      endProbe: (...a) => store.endProbe(...a),
      observe: (...a) => store.observe(...a),
      peek: (...a) => store.peek(...a),
    };
    const limiter = new TenantLimiter(watched);
    (await limiter.admit(tenant({ concurrency: 3 }), 10)).settle(5);
    (await limiter.admit(tenant(undefined), 10)).settle(5);
    (await limiter.admit(undefined, 10)).release();
    expect(calls).toEqual([]);
    (await limiter.admit(tenant({ rpm: 5 }), 10)).release();
    expect(calls).toEqual(['reserve', 'release']);
  });
});
