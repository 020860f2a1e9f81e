'use strict';
/**
 * Run in a fresh `node` by the cold-start scenario: require() the Lambda bundle, then send
 * one API Gateway REST proxy event through its handler. Prints the times as JSON.
 * Config comes from GATEWAY_CONFIG_JSON and GATEWAY_ROLE, as on Lambda.
 */
const { performance } = require('node:perf_hooks');

async function main() {
  const bundle = process.argv[2];
  const body = process.argv[3];
  const t0 = performance.now();
  const { handler } = require(bundle);
  const t1 = performance.now();
  const event = {
    resource: '/{proxy+}',
    path: '/v1/chat/completions',
    httpMethod: 'POST',
    headers: { 'content-type': 'application/json', host: 'gateway.example.com' },
    multiValueHeaders: { 'content-type': ['application/json'], host: ['gateway.example.com'] },
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { proxy: 'v1/chat/completions' },
    stageVariables: null,
    requestContext: {
      accountId: '123456789012',
      apiId: 'bench',
      resourcePath: '/{proxy+}',
      httpMethod: 'POST',
      path: '/prod/v1/chat/completions',
      stage: 'prod',
      requestId: 'cold-start-bench',
      identity: { sourceIp: '127.0.0.1' },
    },
    body,
    isBase64Encoded: false,
  };
  const context = { awsRequestId: 'cold-start-bench', functionName: 'ai-gateway-proxy', getRemainingTimeInMillis: () => 30_000 };
  const res = await handler(event, context);
  const t2 = performance.now();
  // The gateway logs to stdout too: the marker tells our line apart.
  process.stdout.write('BENCH ' + JSON.stringify({ requireMs: t1 - t0, firstAnswerMs: t2 - t0, status: res.statusCode, uptimeAtStartMs: t0 }) + '\n');
  // The gateway's pools and probes would keep the process alive; the measurement is done.
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(String(err?.stack ?? err) + '\n');
  process.exit(1);
});
