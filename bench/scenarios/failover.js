'use strict';
/**
 * Failover: steady load (open-loop JSON requests plus back-to-back streams) on one
 * account with two equivalent endpoints. One endpoint is killed at a known instant and
 * revived later. Counts what the clients saw, what the dead endpoint still received
 * (the upstream keeps counting on a killed port: it resets each connection after
 * reading the request line) and how soon traffic came back after the revival.
 */
const { setTimeout: sleep } = require('node:timers/promises');
const { startGatewayProcess, startUpstreamProcess } = require('../lib/children');
const { chatBody, providerConfig } = require('../lib/configs');
const { paced, streamLoad } = require('../lib/load');
const { median } = require('../lib/stats');

/** 20 ms answers; streams of 10 chunks 10 ms apart, so some are mid-stream at the kill. */
const UPSTREAM = { ports: 2, latencyMs: 20, chunks: 10, chunkIntervalMs: 10 };

async function once({ quick }) {
  const durationS = quick ? 6 : 14;
  const killAtMs = quick ? 2000 : 4000;
  const reviveAtMs = quick ? 4000 : 8000;
  const rate = 200;
  const up = await startUpstreamProcess(UPSTREAM);
  const gw = await startGatewayProcess({ name: 'failover', config: providerConfig([{ id: 'acct', urls: [up.url(0), up.url(1)] }]) });
  try {
    const jsonLoad = paced({ url: gw.url, body: chatBody(), rate, durationS });
    const streams = streamLoad({ url: gw.url, body: chatBody({ stream: true }), connections: 8, durationMs: durationS * 1000 });
    await sleep(killAtMs);
    const killedAt = await up.cmd('kill', 1);
    await sleep(reviveAtMs - killAtMs);
    const revivedAt = await up.cmd('revive', 1);
    const [json, stream] = await Promise.all([jsonLoad, streams]);
    const port = (await up.cmd('stats')).ports[1];
    const after = port.afterKill;
    return {
      jsonRequests: json.requests,
      jsonErrors: json.non2xx + json.errors,
      jsonStatuses: json.statuses,
      streams: stream.requests,
      streamErrors: stream.failed,
      streamFailures: stream.failures,
      postsAfterKill: after.posts,
      lastPostAfterKillMs: after.lastPostAt === undefined ? 0 : after.lastPostAt - killedAt,
      probesAfterKill: after.gets,
      backAfterReviveMs: port.firstPostAfterRevive === undefined ? NaN : port.firstPostAfterRevive - revivedAt,
    };
  } finally {
    await Promise.all([gw.stop(), up.stop()]);
  }
}

async function run({ quick, log }) {
  const reps = quick ? 1 : 3;
  const runs = [];
  for (let i = 0; i < reps; i++) {
    const r = await once({ quick });
    log(
      `  run ${i + 1}/${reps}: client errors ${r.jsonErrors} json, ${r.streamErrors} streams; ${r.postsAfterKill === 0 ? 'no request' : `${r.postsAfterKill} requests, the last ${r.lastPostAfterKillMs.toFixed(1)} ms after the kill,`} to the dead endpoint; back ${r.backAfterReviveMs.toFixed(0)} ms after revival`,
    );
    runs.push(r);
  }
  return {
    meta: {
      reps,
      upstream: UPSTREAM,
      rate: '200 JSON req/s (paced) + 8 back-to-back streams',
      killAt: quick ? '2 s' : '4 s',
      reviveAt: quick ? '4 s' : '8 s',
      duration: quick ? '6 s' : '14 s',
    },
    runs,
    clientErrors: runs.reduce((a, r) => a + r.jsonErrors + r.streamErrors, 0),
    worstLastPostAfterKillMs: Math.max(...runs.map((r) => r.lastPostAfterKillMs)),
    medianBackAfterReviveMs: median(runs.map((r) => r.backAfterReviveMs)),
  };
}

module.exports = { id: 'failover', run };
