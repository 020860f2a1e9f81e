/**
 * Config hot reload under load: a new model appears, an invalid file is rejected and
 * logged while the running config stays, routing state survives for unchanged routes,
 * and an SSM parameter's new version is picked up; no request fails throughout.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { startHotReload } from '../../runtime/src/entry/hot-reload';
import { loadStartup } from '../../runtime/src/entry/startup';
import { FileConfigSource } from '../../runtime/src/config/file-source';
import { SsmConfigSource } from '../../runtime/src/config/watch';
import { parseConfigText } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import type { GatewayEvent } from '../../runtime/src/observability/events';
import { healthOf, startGateway, type TestGateway } from '../helpers/gateway';
import { startFakeSsm } from '../fakes/ssm';

function configWith(models: string[], extra: Partial<GatewayConfigInput> = {}): GatewayConfigInput {
  return {
    providers: [
      {
        id: 'sim',
        type: 'simulated',
        accounts: ['a', 'b'].map((id) => ({ id, limits: { '*': { rpm: 10_000 } }, endpoints: [{ region: 'r', latencyMs: 1, tokensPerSecond: 10_000 }] })),
      },
    ],
    models: models.map((name) => ({ name, targets: [{ provider: 'sim', model: `${name}-v1` }] })),
    ...extra,
  };
}

async function until(check: () => Promise<boolean> | boolean, what: string): Promise<void> {
  for (let i = 0; i < 100; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Steady traffic on `chat` until stopped; counts what the clients saw. */
function steadyLoad(gw: TestGateway) {
  let running = true;
  const seen = { ok: 0, failed: 0 };
  const loop = (async () => {
    while (running) {
      try {
        await gw.client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
        seen.ok++;
      } catch {
        seen.failed++;
      }
    }
  })();
  return {
    seen,
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

describe('config hot reload', () => {
  it('applies a new file, rejects an invalid one, keeps routing state, fails no request', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reload-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(configWith(['chat'])));
    const gw = await startGateway(configWith(['chat']), 'all-in-one', { probes: false });
    const events: GatewayEvent[] = [];
    gw.gateway.events.subscribe((e) => events.push(e));
    const reloader = startHotReload(gw.gateway, new FileConfigSource(file, parseConfigText, { intervalMs: 50 }));
    const load = steadyLoad(gw);
    try {
      // Routing state that must survive: a cooldown on an unchanged route (account b serves meanwhile).
      await gw.gateway.quota.cooldown('sim/a/r/chat-v1', Date.now() + 60_000, 'throttled');
      await until(() => load.seen.ok > 0 || load.seen.failed > 0, 'traffic');

      writeFileSync(file, stringify(configWith(['chat', 'summarize'])));
      await until(async () => (await gw.client.models.list()).data.some((m) => m.id === 'summarize'), 'the new model');
      const answer = await gw.client.chat.completions.create({ model: 'summarize', messages: [{ role: 'user', content: 'x' }] });
      expect(answer.model).toBe('summarize-v1');
      expect(events).toContainEqual(expect.objectContaining({ type: 'config', ok: true }));

      writeFileSync(file, 'models:\n  - name: broken\n    targets: [{ provider: nowhere, model: x }]\n');
      await until(() => events.some((e) => e.type === 'config' && !e.ok), 'the rejection');
      const rejected = events.find((e) => e.type === 'config' && !e.ok) as Extract<GatewayEvent, { type: 'config' }>;
      expect(rejected.error).toMatch(/models\.0\.targets\.0\.provider: unknown provider "nowhere"/);
      expect((await gw.client.models.list()).data.map((m) => m.id)).toEqual(['chat', 'summarize']);
      const metrics = await (await fetch(`${gw.url}/metrics`)).text();
      expect(metrics).toMatch(/gateway_config_reloads_total\{result="rejected"\} 1/);
      expect(metrics).toMatch(/gateway_config_reloads_total\{result="applied"\} 1/);

      const health = await healthOf(gw.url);
      expect(health.routes.find((r) => r.route === 'sim/a/r/chat-v1')?.state).toBe('cooldown');
    } finally {
      const seen = await load.stop();
      reloader.stop();
      await gw.close();
      expect(seen.failed).toBe(0);
      expect(seen.ok).toBeGreaterThan(0);
    }
  });

  it('applies an edit made after the file was read at start and before the watch began', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'reload-'));
    const file = join(dir, 'gateway.yaml');
    writeFileSync(file, stringify(configWith(['chat'])));
    const startup = await loadStartup({}, file);
    // Written while the process was still starting (its server, Redis, ...): same second, new text.
    writeFileSync(file, stringify(configWith(['chat', 'summarize'])));
    const gw = await startGateway(configWith(['chat']), 'all-in-one', { probes: false });
    const reloader = startHotReload(gw.gateway, startup.source!);
    try {
      await until(async () => (await gw.client.models.list()).data.some((m) => m.id === 'summarize'), 'the edit made during start-up');
    } finally {
      reloader.stop();
      await gw.close();
    }
  });

  it('picks up a new version of an SSM parameter through the real SSM client', async () => {
    const parameter = { name: '/ai-gateway/spoke-a/runtime-config', version: 1, value: JSON.stringify(configWith(['chat'])) };
    const { client, calls, close } = await startFakeSsm(parameter);
    const gw = await startGateway(configWith(['chat']), 'spoke', { probes: false });
    const reloader = startHotReload(gw.gateway, new SsmConfigSource(parameter.name, 50, client, 1));
    try {
      await until(() => calls.length >= 2, 'a few polls');
      expect(calls[0]).toBe('AmazonSSM.GetParameter');
      expect((await gw.client.models.list()).data.map((m) => m.id)).toEqual(['chat']);
      parameter.value = JSON.stringify(configWith(['chat', 'embed-free']));
      parameter.version = 2;
      await until(async () => (await gw.client.models.list()).data.length === 2, 'version 2');
    } finally {
      reloader.stop();
      await gw.close();
      await close();
    }
  });

  // In Lambda a poll can be out when the environment freezes; on thaw its socket may never
  // answer. The next poll is scheduled when this one ends: one that never ends would stop hot reload for good.
  it('gives up a poll SSM does not answer, logs it with the parameter, and the next poll picks up a new version', async () => {
    const parameter = { name: '/ai-gateway/hub/runtime-config', version: 1, value: JSON.stringify(configWith(['chat'])), delayMs: 60_000 };
    const { client, calls, close } = await startFakeSsm(parameter);
    const errors: string[] = [];
    const spy = jest.spyOn(console, 'error').mockImplementation((line: unknown) => void errors.push(String(line)));
    const source = new SsmConfigSource(parameter.name, 50, client, 1);
    const seen: string[] = [];
    source.start((text) => seen.push(text));
    try {
      await until(() => calls.length === 1, 'the first poll out');
      Object.assign(parameter, { delayMs: 0, version: 2, value: JSON.stringify(configWith(['chat', 'embed-free'])) });
      await until(() => seen.length === 1, 'version 2');
      expect(JSON.parse(errors[0])).toMatchObject({
        msg: 'config poll failed',
        source: `ssm:${parameter.name}`,
        err: `SSM parameter ${parameter.name} could not be read: no answer within 1000 ms`,
      });
    } finally {
      source.stop();
      spy.mockRestore();
      await close();
    }
  });

  it('stops polling for good when stopped while a poll is out', async () => {
    const parameter = { name: '/ai-gateway/spoke-a/runtime-config', version: 1, value: JSON.stringify(configWith(['chat'])), delayMs: 200 };
    const { client, calls, close } = await startFakeSsm(parameter);
    // The client stays usable after stop(), so that any poll that went on would reach the fake.
    client.destroy = () => undefined;
    const source = new SsmConfigSource(parameter.name, 50, client, undefined);
    const seen: string[] = [];
    source.start((text) => seen.push(text));
    try {
      await until(() => calls.length === 1, 'the first poll out');
      source.stop();
      await new Promise((r) => setTimeout(r, 700));
      expect(calls).toHaveLength(1);
      expect(seen).toEqual([]); // what the poll that was out brought is not applied
    } finally {
      source.stop();
      await close();
    }
  });

  it('a config from GATEWAY_CONFIG_JSON (written with the parameter) is first polled after one interval, not at start', async () => {
    const parameter = { name: '/ai-gateway/hub/runtime-config', version: 1, value: JSON.stringify(configWith(['chat', 'embed-free'])) };
    const { client, calls, close } = await startFakeSsm(parameter);
    const gw = await startGateway(configWith(['chat']), 'spoke', { probes: false });
    const source = new SsmConfigSource(parameter.name, 400, client, undefined, undefined, false);
    const reloader = startHotReload(gw.gateway, source);
    try {
      // The first poll is due 320-480 ms after start (the interval, jittered).
      await new Promise((r) => setTimeout(r, 150));
      expect(calls).toEqual([]);
      await until(async () => (await gw.client.models.list()).data.length === 2, 'the first poll');
      expect(calls[0]).toBe('AmazonSSM.GetParameter');
    } finally {
      reloader.stop();
      await gw.close();
      await close();
    }
  });
});
