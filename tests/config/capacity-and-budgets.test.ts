/** The config keys of capacity classes, prices, budgets and cost routing: defaults, and errors that name the key path. */
import { parseConfig } from '../../runtime/src/config/load';
import { configErrorOf } from '../helpers/config-error';

const HASH = `sha256:${'a'.repeat(64)}`;
const price = { inputPerMTok: 1, outputPerMTok: 2 };
const base = {
  providers: [{ id: 'sim', type: 'simulated', accounts: [{ id: 'a', endpoints: [{ region: 'r' }] }] }],
  models: [
    { name: 'chat', targets: [{ provider: 'sim', model: 'm', price }] },
    { name: 'free', targets: [{ provider: 'sim', model: 'n' }] },
  ],
};

const errorOf = configErrorOf;

describe('capacity, prices, budgets and cost routing in the config', () => {
  it('fills defaults: standard tenants, ordered routing, an 80% alert, no wait', () => {
    const cfg = parseConfig({
      ...base,
      capacity: { criticalReserve: 0.2 },
      tenants: [{ id: 't', keys: [HASH], models: ['chat'], budget: { usdPerDay: 5 } }],
    });
    expect(cfg.capacity).toEqual({ criticalReserve: 0.2, waitMs: 0 });
    expect(cfg.tenants[0]).toMatchObject({ priority: 'standard', budget: { usdPerDay: 5, alertAt: [0.8] } });
    expect(cfg.models[0].routing).toBe('ordered');
    expect(cfg.models[0].targets[0].price).toEqual(price);
  });

  it('keeps batch below the critical reserve and shares within 0..1', () => {
    expect(errorOf({ ...base, capacity: { criticalReserve: 0.3, batchCeiling: 0.8 } })).toMatch(/capacity\.batchCeiling: must be at most 1 - criticalReserve \(0\.7\)/);
    expect(errorOf({ ...base, capacity: { criticalReserve: 1.2 } })).toMatch(/capacity\.criticalReserve: Too big: expected number to be <=1/);
    expect(errorOf({ ...base, capacity: { criticalReserve: 0.2, waitMs: -1 } })).toMatch(/capacity\.waitMs: /);
    expect(errorOf({ ...base, capacity: { reserve: 0.2 } })).toMatch(/capacity: Unrecognized key: "reserve"/);
    expect(() => parseConfig({ ...base, capacity: { criticalReserve: 0.4, batchCeiling: 0.6 } })).not.toThrow();
  });

  it('names the tenant key at fault', () => {
    expect(errorOf({ ...base, tenants: [{ id: 't', keys: [HASH], priority: 'urgent' }] })).toMatch(/tenants\.0\.priority: Invalid option: expected one of "critical"\|"standard"\|"batch"/);
    expect(errorOf({ ...base, tenants: [{ id: 't', keys: [HASH], models: ['chat'], budget: { alertAt: [0.5] } }] })).toMatch(
      /tenants\.0\.budget: a budget needs usdPerDay, usdPerMonth or both/,
    );
    expect(errorOf({ ...base, tenants: [{ id: 't', keys: [HASH], models: ['chat'], budget: { usdPerDay: 0 } }] })).toMatch(/tenants\.0\.budget\.usdPerDay: Too small/);
    expect(errorOf({ ...base, tenants: [{ id: 't', keys: [HASH], models: ['chat'], budget: { usdPerDay: 1, alertAt: [1.5] } }] })).toMatch(/tenants\.0\.budget\.alertAt\.0: Too big/);
  });

  it('needs a price wherever cost routing or a budget reads one', () => {
    expect(
      errorOf({
        ...base,
        models: [
          {
            name: 'chat',
            routing: 'cost',
            targets: [
              { provider: 'sim', model: 'm', price },
              { provider: 'sim', model: 'n' },
            ],
          },
        ],
      }),
    ).toMatch(/models\.0\.targets\.1\.price: routing: cost needs a price on every target/);
    // A budgeted tenant that may use every model: the unpriced one is named.
    expect(errorOf({ ...base, tenants: [{ id: 't', keys: [HASH], budget: { usdPerMonth: 100 } }] })).toMatch(
      /models\.1\.targets\.0\.price: tenant "t" has a budget and may use this model: every target needs a price/,
    );
    // Limited to the priced model, the same budget is fine.
    expect(() => parseConfig({ ...base, tenants: [{ id: 't', keys: [HASH], models: ['chat'], budget: { usdPerMonth: 100 } }] })).not.toThrow();
    expect(errorOf({ ...base, models: [{ name: 'chat', targets: [{ provider: 'sim', model: 'm', price: { inputPerMTok: -1, outputPerMTok: 0 } }] }] })).toMatch(
      /models\.0\.targets\.0\.price\.inputPerMTok: Too small/,
    );
    expect(errorOf({ ...base, models: [{ name: 'chat', routing: 'cheapest', targets: [{ provider: 'sim', model: 'm', price }] }] })).toMatch(
      /models\.0\.routing: Invalid option: expected one of "ordered"\|"cost"/,
    );
  });
});
