'use strict';
/** Gateway configs for the scenarios: one logical model `bench` over the fake upstream. */

const MODEL = 'bench';
const SERVER = { host: '127.0.0.1', port: 0, maxBodyBytes: 1_048_576, requestTimeoutMs: 120_000 };

/**
 * All-in-one (or spoke) config: one openai-compatible provider whose accounts are
 * `{ id, limits?, urls: [...] }`, one endpoint (region) per url.
 */
function providerConfig(accounts) {
  return {
    server: SERVER,
    providers: [
      {
        id: 'upstream',
        type: 'openai-compatible',
        accounts: accounts.map((a) => ({
          id: a.id,
          ...(a.rpm ? { limits: { '*': { rpm: a.rpm } } } : {}),
          endpoints: a.urls.map((url, i) => ({ region: `r${i + 1}`, url: `${url}/v1` })),
        })),
      },
    ],
    models: [{ name: MODEL, targets: [{ provider: 'upstream', model: 'bench-model' }] }],
  };
}

/** The proxy role in front of spokes (two-tier). */
function proxyConfig(spokeUrls) {
  return {
    server: SERVER,
    spokes: spokeUrls.map((url, i) => ({ id: `spoke-${i + 1}`, url })),
    models: [{ name: MODEL, targets: [{ provider: 'spokes', model: MODEL }] }],
  };
}

/** A chat request of realistic size (~100 prompt tokens); `stream` adds stream: true. */
function chatBody({ stream = false, maxTokens = 128 } = {}) {
  return JSON.stringify({
    model: MODEL,
    messages: [
      { role: 'system', content: 'You are a concise assistant. Answer in plain text, without lists or headings.' },
      {
        role: 'user',
        content:
          'Summarise in two sentences why a gateway in front of several model providers should prefer an equivalent account over a model fallback when one account is throttled, and what it should do with streams that already started.',
      },
    ],
    max_tokens: maxTokens,
    temperature: 0.2,
    ...(stream ? { stream: true } : {}),
  });
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** The env var the Anthropic provider's key is read from (the bench upstream checks none). */
const ANTHROPIC_KEY_ENV = 'BENCH_ANTHROPIC_KEY';

/** All-in-one (or spoke) config whose one model is Claude on an `anthropic` provider: Messages requests go through natively. */
function anthropicConfig(accounts) {
  return {
    server: SERVER,
    providers: [
      {
        id: 'anthropic',
        type: 'anthropic',
        accounts: accounts.map((a) => ({ id: a.id, credentials: { env: ANTHROPIC_KEY_ENV }, endpoints: a.urls.map((url, i) => ({ region: `r${i + 1}`, url })) })),
      },
    ],
    models: [{ name: MODEL, targets: [{ provider: 'anthropic', model: 'bench-model' }] }],
  };
}

/** A Messages request of the same size as chatBody's; `stream` adds stream: true. */
function messagesBody({ stream = false, maxTokens = 128 } = {}) {
  const chat = JSON.parse(chatBody({ maxTokens }));
  return JSON.stringify({
    model: MODEL,
    max_tokens: maxTokens,
    system: chat.messages[0].content,
    messages: [{ role: 'user', content: chat.messages[1].content }],
    temperature: chat.temperature,
    ...(stream ? { stream: true } : {}),
  });
}

/** What a Messages client sends besides its body (an older client's version, which takes temperature). */
const MESSAGES_HEADERS = { ...JSON_HEADERS, 'anthropic-version': '2023-06-01', 'x-api-key': 'bench' };

/**
 * What each API sends (`request(stream)`: path, headers, body and the stream's last event,
 * ready for the load generators), and the config of a gateway that serves it (the floor
 * proxies any path), for the tools' `--api`.
 */
const APIS = {
  chat: { request: (stream) => ({ path: '/v1/chat/completions', headers: JSON_HEADERS, body: chatBody({ stream }) }), config: providerConfig },
  messages: { request: (stream) => ({ path: '/v1/messages', headers: MESSAGES_HEADERS, body: messagesBody({ stream }), end: 'message_stop' }), config: anthropicConfig },
};

/** The entry of APIS named by `--api`, or an error that lists the names. The gateways it starts read the Anthropic key from their environment (the fake upstream checks none). */
function apiNamed(name) {
  const api = APIS[name];
  if (!api) throw new Error(`--api ${name}: one of ${Object.keys(APIS).join(', ')}`);
  process.env[ANTHROPIC_KEY_ENV] ??= 'bench-anthropic-key';
  return api;
}

module.exports = { APIS, apiNamed, MODEL, providerConfig, proxyConfig, chatBody, JSON_HEADERS, ANTHROPIC_KEY_ENV, anthropicConfig, messagesBody, MESSAGES_HEADERS };
