/**
 * What an operator sees when a config goes wrong on its way in: a proxy's `dns.servers`
 * that is a host name names its key at start and on reload, and the rejected reload applies
 * nothing of itself (its tenants and models do not appear); versions apply in the order
 * they came, however long one takes; a reload that drops the last tenant opens the gateway
 * and says so, as the start does.
 */
import { spawnSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { stringify } from 'yaml';
import { startHotReload } from '../../runtime/src/entry/hot-reload';
import { FileConfigSource } from '../../runtime/src/config/file-source';
import { parseConfigText } from '../../runtime/src/config/load';
import type { GatewayConfigInput } from '../../runtime/src/config/schema';
import type { GatewayEvent } from '../../runtime/src/observability/events';
import { hashKey } from '../../runtime/src/tenants/auth';
import { postJson, simulatedConfig, startGateway } from '../helpers/gateway';
import { until } from '../helpers/until';
import { LineCapture } from '../observability/capture';

const BIN = resolve(__dirname, '../../bin/ai-gateway.js');
const ask = (url: string, headers: Record<string, string> = {}) => postJson(`${url}/v1/chat/completions`, { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }, headers);
const configFile = (doc: unknown) => {
  const file = join(mkdtempSync(join(tmpdir(), 'reload-safety-')), 'gateway.yaml');
  writeFileSync(file, stringify(doc));
  return file;
};

/** A proxy in front of one spoke, its config file watched (each `intervalMs`); `events` gets its reload outcomes. */
async function watchedProxy(intervalMs: number) {
  const spoke = await startGateway(simulatedConfig(), 'spoke', { probes: false });
  const running: GatewayConfigInput = { spokes: [{ id: 's1', url: spoke.url }], models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }] };
  const file = configFile(running);
  const proxy = await startGateway(running, 'proxy', { probes: false });
  const events: GatewayEvent[] = [];
  proxy.gateway.events.subscribe((e) => events.push(e));
  const reloader = startHotReload(proxy.gateway, new FileConfigSource(file, parseConfigText, { intervalMs }));
  const close = async () => {
    reloader.stop();
    await proxy.close();
    await spoke.close();
  };
  return { spoke, running, file, proxy, events, close };
}

describe('a proxy whose dns.servers names a host instead of an address', () => {
  it('refuses to start, naming dns.servers.0', () => {
    const file = configFile({
      dns: { servers: ['dns.internal'] },
      spokes: [{ id: 's1', url: 'http://spoke-a.internal:8081' }],
      models: [{ name: 'chat', targets: [{ provider: 'spokes', model: 'chat' }] }],
    });
    const run = spawnSync(process.execPath, [BIN, '--config', file, '--role', 'proxy', '--port', '0'], { encoding: 'utf8', timeout: 20_000 });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain(`invalid config ${file}`);
    expect(run.stderr).toMatch(/dns\.servers\.0: an IP address with an optional port/);
  });

  it('on reload: rejected naming the key, and none of that version applies', async () => {
    const { spoke, running, file, proxy, events, close } = await watchedProxy(50);
    try {
      expect((await ask(proxy.url)).status).toBe(200);
      // The new version closes the gateway with a tenant, adds a model, and asks a host name for DNS.
      writeFileSync(
        file,
        stringify({
          ...running,
          dns: { servers: ['dns.internal'] },
          tenants: [{ id: 'team-a', keys: [hashKey('team-a-key')] }],
          models: [...running.models!, { name: 'chat-2', targets: [{ provider: 'spokes', model: 'chat' }] }],
        }),
      );
      expect(await until(() => events.some((e) => e.type === 'config'), 5_000)).toBe(true);
      const outcome = events.find((e) => e.type === 'config') as Extract<GatewayEvent, { type: 'config' }>;
      expect(outcome.ok).toBe(false);
      expect(outcome.error).toMatch(/dns\.servers\.0: an IP address with an optional port/);

      // The running config stays whole: still open (no key needed, operator pages too), the same models.
      expect((await ask(proxy.url)).status).toBe(200);
      expect((await fetch(`${proxy.url}/status.json`)).status).toBe(200);
      expect((await proxy.client.models.list()).data.map((m) => m.id)).toEqual(['chat']);

      // The same version with an address for DNS applies whole: the tenant and a second spoke.
      writeFileSync(
        file,
        stringify({
          ...running,
          dns: { servers: ['127.0.0.1:53'] },
          tenants: [{ id: 'team-a', keys: [hashKey('team-a-key')] }],
          spokes: [...running.spokes!, { id: 's2', url: spoke.url }],
        }),
      );
      expect(await until(() => events.filter((e) => e.type === 'config').length >= 2, 5_000)).toBe(true);
      expect(events.filter((e) => e.type === 'config')[1]).toMatchObject({ ok: true });
      expect((await ask(proxy.url)).status).toBe(401);
      expect((await ask(proxy.url, { authorization: 'Bearer team-a-key' })).status).toBe(200);
      const routes = proxy.gateway.routeTable.allRoutes().map((r) => r.key);
      expect(routes).toEqual(expect.arrayContaining([expect.stringMatching(/^spokes\/s1\//), expect.stringMatching(/^spokes\/s2\//)]));
    } finally {
      await close();
    }
  });
});

describe('versions that come while one is still being applied', () => {
  it('apply in the order they came: the last one written is the one running', async () => {
    // A DNS server that never answers: a version with a new spoke name takes seconds to apply.
    const silent = createSocket('udp4');
    await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
    const { running, file, proxy, events, close } = await watchedProxy(20);
    const reloads = () => events.filter((e) => e.type === 'config').length;
    try {
      // v2: a second spoke by DNS name (slow to resolve); then v3, written while v2 is still applying:
      // the first spoke only, and a tenant.
      expect((await ask(proxy.url)).status).toBe(200);
      // v3 is written once v2's apply is under way (its DNS query has come), not before the file poll saw v2.
      const resolving = new Promise<void>((resolve) => silent.once('message', () => resolve()));
      writeFileSync(
        file,
        stringify({ ...running, dns: { servers: [`127.0.0.1:${silent.address().port}`] }, spokes: [...running.spokes!, { id: 's2', url: 'http://spoke-b.internal:8081' }] }),
      );
      await resolving;
      writeFileSync(file, stringify({ ...running, tenants: [{ id: 'team-a', keys: [hashKey('team-a-key')] }] }));
      expect(await until(() => reloads() >= 2, 15_000)).toBe(true);
      expect(events.filter((e) => e.type === 'config')).toEqual([expect.objectContaining({ ok: true }), expect.objectContaining({ ok: true })]);
      // v3 is in force: closed, and no trace of v2's spoke.
      expect((await ask(proxy.url)).status).toBe(401);
      expect((await ask(proxy.url, { authorization: 'Bearer team-a-key' })).status).toBe(200);
      expect(proxy.gateway.config.spokes.map((sp) => sp.id)).toEqual(['s1']);
    } finally {
      await close();
      silent.close();
    }
  }, 20_000);
});

describe('a reload that drops the last tenant', () => {
  it('opens the gateway and says so in a warn line', async () => {
    const key = 'team-a-key';
    const closed = { ...simulatedConfig(), tenants: [{ id: 'team-a', keys: [hashKey(key)] }] };
    const file = configFile(closed);
    const logs = new LineCapture();
    const gw = await startGateway(closed, 'all-in-one', { probes: false, observability: { destination: logs } });
    const reloader = startHotReload(gw.gateway, new FileConfigSource(file, parseConfigText, { intervalMs: 50 }));
    try {
      expect((await ask(gw.url)).status).toBe(401);
      writeFileSync(file, stringify(simulatedConfig()));
      expect(await until(async () => (await ask(gw.url)).status === 200, 5_000)).toBe(true);
      const open = () => logs.records().find((l) => l.level === 'warn' && /the gateway is open now/.test(String(l.msg)));
      expect(await until(() => open() !== undefined, 2_000)).toBe(true);
      expect(open()!.msg).toBe('config reloaded without tenants: the gateway is open now, any key or none is accepted');
    } finally {
      reloader.stop();
      await gw.close();
    }
  });
});
