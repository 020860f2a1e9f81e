/** GET /v1/models/{model} with the OpenAI SDK: a logical model's name may hold slashes, as provider-style names do. */
import { simulatedConfig, startGateway, type TestGateway } from '../helpers/gateway';

describe('GET /v1/models/{model}', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    const config = simulatedConfig();
    gw = await startGateway({ ...config, models: [{ name: 'team/chat', targets: [{ provider: 'sim', model: 'sim-model' }] }] });
  });
  afterAll(async () => {
    await gw.close();
  });

  it('retrieves a model whose name holds a slash, and answers 405 with Allow to another method on it', async () => {
    expect(await gw.client.models.retrieve('team/chat')).toMatchObject({ id: 'team/chat', object: 'model' });
    const res = await fetch(`${gw.url}/v1/models/team/chat`, { method: 'DELETE' });
    expect(res.status).toBe(405);
    expect(res.headers.get('allow')).toBe('GET, HEAD');
    const missing = await fetch(`${gw.url}/v1/models/team/other`);
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('model_not_found');
  });
});
