'use strict';
/**
 * The benchmarks' fake OpenAI-compatible upstream (and Anthropic Messages API, at
 * /v1/messages): node:http on 127.0.0.1, answers built once (chat and messages at start,
 * embeddings per input count and encoding) so that a request costs almost nothing here.
 * Configurable latency, stream
 * chunk count (capped by the request's max_tokens, a token per chunk) and interval; per-account behaviour (path prefix `/<account>/v1/...`):
 * an rpm quota enforced over a sliding minute (429 + Retry-After + x-ratelimit headers,
 * as OpenAI sends them) or a throttle that answers every request with 429. Listens on
 * several ports when asked (one per "endpoint"); each port has a kill switch.
 *
 * A killed port keeps listening but resets every connection after reading its request
 * line, as a crashed host behind a load balancer would: the client sees a reset, and
 * this process can still count what the gateway sent after the death.
 *
 * An account may also be made silent (requests accepted, never answered) or fail its next
 * requests with 500 (`account` command); `latencyJitterMs` adds an exponentially
 * distributed extra delay (its mean) to every answer, so that latencies have a tail.
 *
 * Run by run.js with child_process.fork: options as JSON in argv[2]; commands over IPC
 * ({ id, cmd, arg } -> { id, result }): stats, kill, revive, reset, account. Alone:
 *   node bench/upstream.js '{"ports":1,"latencyMs":5}'
 */
const http = require('node:http');
const { performance } = require('node:perf_hooks');

const DEFAULTS = { ports: 1, latencyMs: 0, latencyJitterMs: 0, completionTokens: 32, chunks: 20, chunkIntervalMs: 0, accounts: {}, embeddingDimensions: 1536 };
const WINDOW_MS = 60_000;
const MODEL = 'bench-model';
const EMBEDDING_MODEL = 'bench-embedding-model';

/** Epoch ms with sub-ms precision, comparable across processes on this machine. */
const now = () => performance.timeOrigin + performance.now();

function sse(payload) {
  return Buffer.from(`data: ${JSON.stringify(payload)}\n\n`);
}

/** Every answer, encoded once. */
function buildAnswers(o) {
  const words = Array.from({ length: o.completionTokens }, (_, i) => `word${i % 10} `);
  const usage = { prompt_tokens: 60, completion_tokens: o.completionTokens, total_tokens: 60 + o.completionTokens };
  const created = Math.floor(Date.now() / 1000);
  const completion = Buffer.from(
    JSON.stringify({
      id: 'chatcmpl-bench',
      object: 'chat.completion',
      created,
      model: MODEL,
      choices: [{ index: 0, message: { role: 'assistant', content: words.join('') }, finish_reason: 'stop', logprobs: null }],
      usage,
    }),
  );
  const base = { id: 'chatcmpl-bench', object: 'chat.completion.chunk', created, model: MODEL };
  const chunk = (delta, finish = null) => sse({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] });
  const perChunk = Math.max(1, Math.ceil(words.length / Math.max(1, o.chunks)));
  const content = [];
  for (let i = 0; i < o.chunks; i++) content.push(chunk({ content: words.slice(i * perChunk, (i + 1) * perChunk).join('') || ' ' }));
  return {
    completion,
    first: chunk({ role: 'assistant', content: '' }),
    content,
    finish: chunk({}, 'stop'),
    usage: sse({ ...base, choices: [], usage }),
    done: Buffer.from('data: [DONE]\n\n'),
    messages: messagesAnswers(words, perChunk, o.chunks),
    models: Buffer.from(JSON.stringify({ object: 'list', data: [{ id: MODEL, object: 'model', owned_by: 'bench' }] })),
    throttled: Buffer.from(JSON.stringify({ error: { message: 'Rate limit reached for requests', type: 'requests', param: null, code: 'rate_limit_exceeded' } })),
    failed: Buffer.from(JSON.stringify({ error: { message: 'The server had an error while processing your request.', type: 'server_error', param: null, code: null } })),
  };
}

/** The same answer as the Anthropic Messages API gives it: a message, or its SSE events (one text delta per chunk). */
function messagesAnswers(words, perChunk, chunks) {
  const event = (type, data) => Buffer.from(`event: ${type}\ndata: ${JSON.stringify({ type, ...data })}\n\n`);
  const base = { id: 'msg_bench', type: 'message', role: 'assistant', model: MODEL };
  const usage = { input_tokens: 60, output_tokens: words.length };
  const content = [];
  for (let i = 0; i < chunks; i++)
    content.push(event('content_block_delta', { index: 0, delta: { type: 'text_delta', text: words.slice(i * perChunk, (i + 1) * perChunk).join('') || ' ' } }));
  return {
    completion: Buffer.from(JSON.stringify({ ...base, content: [{ type: 'text', text: words.join('') }], stop_reason: 'end_turn', stop_sequence: null, usage })),
    first: Buffer.concat([
      event('message_start', { message: { ...base, content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 60, output_tokens: 1 } } }),
      event('content_block_start', { index: 0, content_block: { type: 'text', text: '' } }),
    ]),
    content,
    finish: Buffer.concat([
      event('content_block_stop', { index: 0 }),
      event('message_delta', { delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: words.length } }),
    ]),
    done: event('message_stop', {}),
  };
}

/** An embeddings answer for `count` inputs: unit-ish vectors of `dims` float32 values, as float or base64. */
function embeddingsAnswer(count, base64, dims) {
  const data = [];
  for (let i = 0; i < count; i++) {
    const v = new Float32Array(dims);
    for (let j = 0; j < dims; j++) v[j] = Math.sin(i * 31 + j) / Math.sqrt(dims);
    const embedding = base64 ? `"${Buffer.from(v.buffer).toString('base64')}"` : `[${Array.from(v, (x) => Number(x.toPrecision(9))).join(',')}]`;
    data.push(`{"object":"embedding","index":${i},"embedding":${embedding}}`);
  }
  const tokens = count * 12;
  return `{"object":"list","data":[${data.join(',')}],"model":"${EMBEDDING_MODEL}","usage":{"prompt_tokens":${tokens},"total_tokens":${tokens}}}`;
}

/** A sliding one-minute window of request times (a ring would do; this stays simple and cheap). */
class MinuteWindow {
  constructor() {
    this.times = [];
    this.head = 0;
  }
  count(t) {
    while (this.head < this.times.length && this.times[this.head] <= t - WINDOW_MS) this.head++;
    if (this.head > 4096) {
      this.times = this.times.slice(this.head);
      this.head = 0;
    }
    return this.times.length - this.head;
  }
  oldest() {
    return this.times[this.head];
  }
  add(t) {
    this.times.push(t);
  }
}

function newPortStats() {
  return {
    requests: 0,
    killedAt: undefined,
    revivedAt: undefined,
    afterKill: { posts: 0, gets: 0, connections: 0, firstPostAt: undefined, lastPostAt: undefined },
    firstPostAfterRevive: undefined,
  };
}

function newAccountStats() {
  return { requests: 0, ok: 0, throttled: 0, failed: 0, silent: 0, streams: 0, throttledAt: [] };
}

async function startUpstream(options = {}) {
  const o = { ...DEFAULTS, ...options };
  const answers = buildAnswers(o);
  const accounts = new Map();
  const account = (name) => {
    let a = accounts.get(name);
    if (!a) {
      a = { conf: o.accounts[name] ?? {}, stats: newAccountStats(), window: new MinuteWindow() };
      accounts.set(name, a);
    }
    return a;
  };
  let activeStreams = 0;
  const ports = [];

  /** The account's own rules, as a provider applies them: answers 429 and returns false, else the headers to add. */
  function admit(a, res) {
    const t = now();
    if (a.conf.throttle) {
      const headers = { 'content-type': 'application/json' };
      if (a.conf.throttle.retryAfterS !== undefined) headers['retry-after'] = String(a.conf.throttle.retryAfterS);
      res.writeHead(429, headers).end(answers.throttled);
      return false;
    }
    if (a.conf.rpm !== undefined) {
      const used = a.window.count(t);
      if (used >= a.conf.rpm) {
        const waitMs = Math.max(1, a.window.oldest() + WINDOW_MS - t);
        res
          .writeHead(429, { 'content-type': 'application/json', 'retry-after': String(Math.ceil(waitMs / 1000)), 'retry-after-ms': String(Math.ceil(waitMs)), ...rateHeaders(a, 0, waitMs) })
          .end(answers.throttled);
        return false;
      }
      a.window.add(t);
      const resetMs = Math.max(1, a.window.oldest() + WINDOW_MS - t);
      return rateHeaders(a, a.conf.rpm - used - 1, resetMs);
    }
    return {};
  }

  function rateHeaders(a, remaining, resetMs) {
    return {
      'x-ratelimit-limit-requests': String(a.conf.rpm),
      'x-ratelimit-remaining-requests': String(remaining),
      'x-ratelimit-reset-requests': `${Math.ceil(resetMs)}ms`,
    };
  }

  function answer(res, body, extraHeaders, stats, messages) {
    const streaming = body.includes('"stream":true');
    const set = messages ? answers.messages : answers;
    if (!streaming) {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': set.completion.length, ...extraHeaders });
      res.end(set.completion);
      return;
    }
    stats.streams++;
    // Chat streams end with a usage chunk when asked; Messages events always carry usage.
    const usage = !messages && body.includes('"include_usage":true');
    // Like a model, stop at max_tokens (one token per chunk here): short streams on demand.
    const max = /"max_tokens":(\d+)/.exec(body.toString('latin1'));
    const content = max && Number(max[1]) < set.content.length ? set.content.slice(0, Number(max[1])) : set.content;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', ...extraHeaders });
    activeStreams++;
    let ended = false;
    const finish = () => {
      if (ended) return;
      ended = true;
      activeStreams--;
    };
    res.on('close', finish);
    res.write(set.first);
    let i = 0;
    const tail = () => {
      res.write(set.finish);
      if (usage) res.write(answers.usage);
      res.end(set.done);
    };
    if (o.chunkIntervalMs <= 0) {
      for (const c of content) res.write(c);
      tail();
      return;
    }
    const next = () => {
      if (res.destroyed) return;
      if (i < content.length) {
        res.write(content[i++]);
        setTimeout(next, o.chunkIntervalMs);
      } else tail();
    };
    setTimeout(next, o.chunkIntervalMs);
  }

  /** POST .../embeddings: one vector per input, in the asked encoding; answers encoded once per (inputs, encoding). */
  const embeddingAnswers = new Map();
  function embeddings(res, body, extraHeaders) {
    let doc;
    try {
      doc = JSON.parse(body.toString('utf8'));
    } catch {
      res.writeHead(400, { 'content-type': 'application/json' }).end('{"error":{"message":"not JSON","type":"invalid_request_error"}}');
      return;
    }
    const count = typeof doc.input === 'string' || typeof doc.input?.[0] === 'number' ? 1 : (doc.input?.length ?? 0);
    const base64 = doc.encoding_format === 'base64';
    const key = `${count}/${base64}`;
    let answer = embeddingAnswers.get(key);
    if (!answer) {
      answer = Buffer.from(embeddingsAnswer(count, base64, o.embeddingDimensions));
      embeddingAnswers.set(key, answer);
    }
    res.writeHead(200, { 'content-type': 'application/json', 'content-length': answer.length, ...extraHeaders });
    res.end(answer);
  }

  function handle(port, req, res) {
    const p = port.stats;
    p.requests++;
    if (port.killed) {
      const t = now();
      const a = p.afterKill;
      if (req.method === 'POST') {
        a.posts++;
        a.firstPostAt ??= t;
        a.lastPostAt = t;
      } else a.gets++;
      req.socket.resetAndDestroy();
      return;
    }
    if (p.revivedAt !== undefined && p.firstPostAfterRevive === undefined && req.method === 'POST') p.firstPostAfterRevive = now();
    const url = req.url;
    if (req.method === 'GET') {
      if (url.endsWith('/models')) res.writeHead(200, { 'content-type': 'application/json' }).end(answers.models);
      else if (url === '/healthz') res.writeHead(200, { 'content-type': 'application/json' }).end('{"status":"ok"}');
      else res.writeHead(404).end();
      return;
    }
    const messages = url.endsWith('/messages');
    const embedding = req.method === 'POST' && url.endsWith('/embeddings');
    if (!embedding && (req.method !== 'POST' || !(messages || url.endsWith('/chat/completions')))) {
      res.writeHead(404).end();
      return;
    }
    const name = url.startsWith('/v1/') ? 'default' : url.slice(1, url.indexOf('/', 1));
    const a = account(name);
    const parts = [];
    req.on('data', (d) => parts.push(d));
    req.on('end', () => {
      a.stats.requests++;
      if (a.conf.silent) {
        a.stats.silent++; // accepted, never answered: the client gives up
        return;
      }
      if (a.conf.failNext > 0) {
        a.conf.failNext--;
        a.stats.failed++;
        res.writeHead(500, { 'content-type': 'application/json' }).end(answers.failed);
        return;
      }
      const extra = admit(a, res);
      if (extra === false) {
        a.stats.throttled++;
        if (a.stats.throttledAt.length < 10_000) a.stats.throttledAt.push(now());
        return;
      }
      a.stats.ok++;
      const body = parts.length === 1 ? parts[0] : Buffer.concat(parts);
      const reply = () => {
        if (res.destroyed) return;
        if (embedding) embeddings(res, body, extra);
        else answer(res, body, extra, a.stats, messages);
      };
      const delay = o.latencyMs + (o.latencyJitterMs > 0 ? -Math.log(1 - Math.random()) * o.latencyJitterMs : 0);
      if (delay > 0) setTimeout(reply, delay);
      else reply();
    });
  }

  for (let i = 0; i < o.ports; i++) {
    const port = { stats: newPortStats(), killed: false, sockets: new Set(), server: undefined, port: 0 };
    port.server = http.createServer({ keepAliveTimeout: 60_000 }, (req, res) => handle(port, req, res));
    port.server.on('connection', (s) => {
      if (port.killed) port.stats.afterKill.connections++;
      port.sockets.add(s);
      s.on('close', () => port.sockets.delete(s));
    });
    await new Promise((resolve, reject) => {
      port.server.once('error', reject);
      port.server.listen(o.basePort ? o.basePort + i : 0, '127.0.0.1', resolve);
    });
    port.port = port.server.address().port;
    ports.push(port);
  }

  const commands = {
    stats: () => ({
      activeStreams,
      accounts: Object.fromEntries([...accounts].map(([k, a]) => [k, a.stats])),
      ports: ports.map((p) => ({ port: p.port, ...p.stats })),
    }),
    kill: (i) => {
      const p = ports[i];
      p.killed = true;
      p.stats.killedAt = now();
      for (const s of p.sockets) s.resetAndDestroy();
      return p.stats.killedAt;
    },
    revive: (i) => {
      const p = ports[i];
      p.killed = false;
      p.stats.revivedAt = now();
      return p.stats.revivedAt;
    },
    /** Changes an account's behaviour: { name, conf: { silent, failNext, ... } }. */
    account: ({ name, conf }) => {
      Object.assign(account(name).conf, conf);
      return true;
    },
    reset: () => {
      for (const a of accounts.values()) a.stats = newAccountStats();
      for (const p of ports) p.stats = newPortStats();
      return true;
    },
    close: async () => {
      for (const p of ports) {
        p.server.close();
        p.server.closeAllConnections();
      }
      return true;
    },
  };
  return { ports: ports.map((p) => p.port), commands };
}

if (require.main === module) {
  const options = process.argv[2] ? JSON.parse(process.argv[2]) : {};
  startUpstream(options).then(
    (up) => {
      if (process.send) {
        process.on('message', async (m) => {
          let result;
          try {
            result = await up.commands[m.cmd](m.arg);
          } catch (err) {
            result = { error: String(err) };
          }
          process.send({ id: m.id, result });
        });
        process.on('disconnect', () => process.exit(0));
        process.send({ type: 'ready', ports: up.ports });
      } else {
        console.log(JSON.stringify({ ports: up.ports }));
      }
    },
    (err) => {
      console.error(`upstream: ${err.message}`);
      process.exit(1);
    },
  );
}

module.exports = { startUpstream, MODEL, EMBEDDING_MODEL };
