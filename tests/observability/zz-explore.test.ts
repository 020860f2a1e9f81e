import { hashKey } from '../../runtime/src/tenants/auth';
import { startFakeOpenAI, type FakeOpenAI } from '../fakes/openai';
import { startGateway, type TestGateway } from '../helpers/gateway';
import { LineCapture } from './capture';
import { send } from '../capacity/helpers';

it('explore', async () => {
  const a = await startFakeOpenAI({ latencyMs: 1 });
  const b = await startFakeOpenAI({ latencyMs: 1 });
  const logs = new LineCapture();
  const gw: TestGateway = await startGateway(
    {
      providers: [
        { id: 'pa', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'r1', url: a.url }] }] },
        { id: 'pb', type: 'openai-compatible', accounts: [{ id: 'acct', endpoints: [{ region: 'r1', url: b.url }] }] },
      ],
      models: [{ name: 'chat', targets: [{ provider: 'pa', model: 'm' }, { provider: 'pb', model: 'm' }], timeouts: { firstByteMs: 300, completeMs: 500 } } as never],
      tenants: [{ id: 'team', keys: [hashKey('k')] }],
      operators: { networks: ['127.0.0.1'] },
    },
    'all-in-one',
    { probes: false, observability: { destination: logs } },
  );
  a.faults.push({ kind: 'status', status: 429, headers: { 'retry-after': '30' } });
  console.log('429', await send(gw.url, 'k', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }));
  b.faults.push({ kind: 'status', status: 500 });
  b.faults.push({ kind: 'status', status: 500 });
  console.log('500', await send(gw.url, 'k', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }));
  b.always = { kind: 'hang' };
  console.log('hang', await send(gw.url, 'k', { model: 'chat', messages: [{ role: 'user', content: 'hi' }] }));
  const m = await (await fetch(`${gw.url}/metrics`)).text();
  console.log(m.split('\n').filter((l) => l.startsWith('gateway_') && !l.includes('_bucket')).join('\n'));
  const s = await (await fetch(`${gw.url}/status.json`)).json();
  console.log(JSON.stringify(s, null, 1).slice(0, 6000));
  console.log(logs.requests().map((r) => JSON.stringify(r)).join('\n'));
  b.always = undefined;
  await gw.close(); await a.close(); await b.close();
}, 30000);
