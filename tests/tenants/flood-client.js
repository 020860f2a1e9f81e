/**
 * A separate load generator for the noisy-neighbour test, as a flooding tenant's own
 * machines would be: first BURST concurrent chat requests with KEY against URL, then a
 * steady RATE requests per second (a batch every 50 ms) until stdin closes or MAX_S
 * seconds have passed. Prints one JSON summary line when every answer is in.
 * Usage: node flood-client.js URL KEY BURST RATE MAX_S
 */
const [url, key, burst, rate, maxSeconds] = process.argv.slice(2);
let stop = false;
process.stdin.on('end', () => (stop = true)).resume();

const body = JSON.stringify({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] });
const summary = { sent: 0, statuses: {}, codes: {}, retryAfter: [], messages: [] };
const pending = [];

async function one() {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
    body,
  });
  const json = await res.json();
  summary.statuses[res.status] = (summary.statuses[res.status] ?? 0) + 1;
  if (json.error) {
    const tag = `${json.error.type} ${json.error.code}`;
    summary.codes[tag] = (summary.codes[tag] ?? 0) + 1;
    if (summary.messages.length < 3) summary.messages.push(json.error.message);
    summary.retryAfter.push(res.headers.get('retry-after'));
  }
}

function send(n) {
  summary.sent += n;
  for (let i = 0; i < n; i++) pending.push(one());
}

(async () => {
  send(Number(burst));
  const perBatch = Math.max(1, Math.round(Number(rate) / 20));
  const batches = Number(maxSeconds) * 20;
  for (let i = 0; i < batches && !stop; i++) {
    await new Promise((r) => setTimeout(r, 50));
    send(perBatch);
  }
  await Promise.all(pending);
  process.stdout.write(`${JSON.stringify(summary)}\n`);
})().catch((err) => {
  process.stderr.write(`flood-client: ${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 1;
});
