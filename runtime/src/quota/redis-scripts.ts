/**
 * Lua for the Redis quota store, kept as strings so that bundles (Lambda) carry them.
 * Every script reads the time once (ARGV[1]: the caller's clock, or '' for Redis TIME),
 * does its whole check-and-change atomically, and leaves every key it wrote with a TTL.
 *
 * Keys of one route share a hash tag, so a route's scripts run on one cluster slot:
 *   w  ZSET  reservation id -> time (ms)        the sliding window of requests
 *   t  HASH  reservation id -> tokens           what each reservation counts
 *   m  HASH  sum (tokens in w), seq             running total and id sequence
 *   c  STRING "untilMs|reason" with PX          cooldown (kept RECOVERY ms past its end: one probe first)
 *   cp STRING probe token with PX               who probes the route after its cooldown
 *   p  HASH  rq, rqu, tk, tku                   what the provider's headers said
 * Ids are `timeMs * 1024 + seq % 1024`: unique per route and never reused by a later
 * reservation, so a late reconcile cannot touch someone else's entry.
 */

/**
 * Lua: drops the members of sorted set \`z\` scored up to \`cutoff\` and their fields in hash
 * \`h\` (in chunks: unpack() has a limit); returns the sum of the values they held. Expired
 * quota reservations here, expired budget holds in tenants/spend-scripts.ts.
 */
export const LUA_DROP_EXPIRED = `
local function dropExpired(z, h, cutoff)
  local old = redis.call('ZRANGEBYSCORE', z, '-inf', cutoff)
  if #old == 0 then return 0 end
  local freed = 0
  for i = 1, #old, 500 do
    local chunk = {}
    for j = i, math.min(i + 499, #old) do chunk[#chunk + 1] = old[j] end
    local values = redis.call('HMGET', h, unpack(chunk))
    for k = 1, #values do freed = freed + (tonumber(values[k]) or 0) end
    redis.call('HDEL', h, unpack(chunk))
  end
  redis.call('ZREMRANGEBYSCORE', z, '-inf', cutoff)
  return freed
end
`;

/** Shared head: the time, the window and the helpers. ARGV[1] now|'' ARGV[2] window ARGV[3] ttl. */
const PRELUDE = `${LUA_DROP_EXPIRED}
local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local WINDOW = tonumber(ARGV[2])
local TTL = tonumber(ARGV[3])
local function int(n) return string.format('%d', n) end

-- Drops reservations that left the window; returns the live request count and token sum.
local function trim(w, t, m)
  local freed = dropExpired(w, t, int(now - WINDOW))
  if freed ~= 0 then redis.call('HINCRBY', m, 'sum', -freed) end
  local count = redis.call('ZCARD', w)
  if count == 0 then
    -- Nothing live: start the total from zero so no drift can survive an idle minute.
    redis.call('DEL', t)
    redis.call('HDEL', m, 'sum')
    return 0, 0
  end
  return count, tonumber(redis.call('HGET', m, 'sum')) or 0
end

local function touch(w, t, m)
  redis.call('PEXPIRE', w, TTL)
  redis.call('PEXPIRE', t, TTL)
  redis.call('PEXPIRE', m, TTL)
end

-- Adds one reservation at time 'at'; returns its id.
local function add(w, t, m, at, tokens)
  local seq = redis.call('HINCRBY', m, 'seq', 1)
  local id = at * 1024 + (seq % 1024)
  local sid = int(id)
  redis.call('ZADD', w, int(at), sid)
  redis.call('HSET', t, sid, int(tokens))
  redis.call('HINCRBY', m, 'sum', tokens)
  return id
end
`;

/**
 * KEYS w t m c p cp; ARGV now window ttl rpm|'' tpm|'' tokens probeHolder|'' probeTimeoutMs classRpm|'' classTpm|''.
 * With a capacity class (classRpm/classTpm: its share of each limit), the request is
 * admitted only while the route's total use plus it stays within that share; refused
 * while the whole limit still has room, the reason is 'reserved' (kept for a higher class).
 * Returns {1, id, 0, count, sum, now, 0, '', probeToken|''} or {0, reason, retryAfterMs, count, sum, now, cooldownUntil, cooldownReason}.
 */
export const RESERVE_LUA = `${PRELUDE}
local w, t, m, c, p, cp = KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6]
local rpm, tpm, tokens = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local holder = ARGV[7]
local crpm, ctpm = tonumber(ARGV[9]) or rpm, tonumber(ARGV[10]) or tpm

local cdUntil, cdReason = 0, ''
local cd = redis.call('GET', c)
if cd then
  local sep = string.find(cd, '|', 1, true)
  cdUntil = tonumber(string.sub(cd, 1, sep - 1)) or 0
  cdReason = string.sub(cd, sep + 1)
end

local count, sum = trim(w, t, m)
local function deny(reason, ms)
  touch(w, t, m)
  return {0, reason, math.max(1, ms), count, sum, now, cdUntil, cdReason}
end

if cdUntil > now then return deny('cooldown', cdUntil - now) end
-- The cooldown ended and nothing has answered since: one probe at a time.
local probing = cdUntil > 0
if probing then
  local cur = redis.call('GET', cp)
  if cur and cur ~= holder then return deny('cooldown', math.min(1000, redis.call('PTTL', cp))) end
end

-- Room under the whole limits: a refusal by the class's share keeps it for a higher class.
local fitsAll = (not rpm or count + 1 <= rpm) and (not tpm or sum + tokens <= tpm)

if crpm and count + 1 > crpm then
  local why = fitsAll and 'reserved' or 'rpm'
  if crpm < 1 then return deny(why, WINDOW) end
  local e = redis.call('ZRANGE', w, count - crpm, count - crpm, 'WITHSCORES')
  return deny(why, tonumber(e[2]) + WINDOW - now)
end

if ctpm and sum + tokens > ctpm then
  local why = fitsAll and 'reserved' or 'tpm'
  if tokens > ctpm then return deny(why, WINDOW) end
  -- The oldest reservations leave first: wait until enough of them have gone.
  local freed = 0
  local batch = 500
  for start = 0, count - 1, batch do
    local e = redis.call('ZRANGE', w, start, start + batch - 1, 'WITHSCORES')
    local ids = {}
    for i = 1, #e, 2 do ids[#ids + 1] = e[i] end
    local toks = redis.call('HMGET', t, unpack(ids))
    for i = 1, #ids do
      freed = freed + (tonumber(toks[i]) or 0)
      if sum - freed + tokens <= ctpm then return deny(why, tonumber(e[i * 2]) + WINDOW - now) end
    end
  end
  return deny(why, WINDOW)
end

local cap = redis.call('HMGET', p, 'rq', 'rqu', 'tk', 'tku')
local rq, rqu, tk, tku = tonumber(cap[1]), tonumber(cap[2]) or 0, tonumber(cap[3]), tonumber(cap[4]) or 0
if rqu > now and rq and rq < 1 then return deny('provider-limit', rqu - now) end
if tku > now and tk and tk < tokens then return deny('provider-limit', tku - now) end
if rqu > now and rq then redis.call('HINCRBY', p, 'rq', -1) end
if tku > now and tk then redis.call('HINCRBY', p, 'tk', -tokens) end

local id = add(w, t, m, now, tokens)
touch(w, t, m)
local token = ''
if probing then
  token = holder ~= '' and holder or ('#' .. int(id))
  redis.call('SET', cp, token, 'PX', tonumber(ARGV[8]))
end
return {1, id, 0, count + 1, sum + tokens, now, 0, '', token}
`;

/** KEYS w t m; ARGV now window ttl id tokens. Sets one live reservation's tokens. Returns {count, sum, now}. */
export const RECONCILE_LUA = `${PRELUDE}
local w, t, m = KEYS[1], KEYS[2], KEYS[3]
local id, tokens = ARGV[4], tonumber(ARGV[5])
local count, sum = trim(w, t, m)
if redis.call('ZSCORE', w, id) then
  local old = tonumber(redis.call('HGET', t, id)) or 0
  redis.call('HSET', t, id, int(tokens))
  redis.call('HINCRBY', m, 'sum', tokens - old)
  sum = sum + tokens - old
end
touch(w, t, m)
return {count, sum, now}
`;

/** KEYS w t m; ARGV now window ttl id. Drops one live reservation, its request and its tokens. Returns {count, sum, now}. */
export const CANCEL_LUA = `${PRELUDE}
local w, t, m = KEYS[1], KEYS[2], KEYS[3]
local id = ARGV[4]
local count, sum = trim(w, t, m)
if redis.call('ZREM', w, id) == 1 then
  local old = tonumber(redis.call('HGET', t, id)) or 0
  redis.call('HDEL', t, id)
  redis.call('HINCRBY', m, 'sum', -old)
  count, sum = count - 1, sum - old
end
touch(w, t, m)
return {count, sum, now}
`;

/** KEYS c; ARGV now window ttl durationMs reason recoveryMs. Keeps the later cooldown. Returns {until, reason, now}. */
export const COOLDOWN_LUA = `${PRELUDE}
local c = KEYS[1]
local dur = tonumber(ARGV[4])
local untilMs = now + dur
local cur = redis.call('GET', c)
if cur then
  local sep = string.find(cur, '|', 1, true)
  local curUntil = tonumber(string.sub(cur, 1, sep - 1)) or 0
  if curUntil >= untilMs then return {curUntil, string.sub(cur, sep + 1), now} end
end
if dur > 0 then redis.call('SET', c, int(untilMs) .. '|' .. ARGV[5], 'PX', int(dur + tonumber(ARGV[6]))) end
return {untilMs, ARGV[5], now}
`;

/** KEYS cp; ARGV now window ttl holder pxMs. Claims the probe after a cooldown unless another holds it; returns 1 or 0. */
export const CLAIM_PROBE_LUA = `${PRELUDE}
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[4] then return 0 end
redis.call('SET', KEYS[1], ARGV[4], 'PX', math.max(1, tonumber(ARGV[5])))
return 1
`;

/** KEYS c cp; ARGV now window ttl token ok(1|0). Ends a probe: a success forgets the ended cooldown. */
export const END_PROBE_LUA = `${PRELUDE}
if redis.call('GET', KEYS[2]) ~= ARGV[4] then return 0 end
redis.call('DEL', KEYS[2])
if ARGV[5] == '1' then
  local cd = redis.call('GET', KEYS[1])
  if cd and (tonumber(string.sub(cd, 1, string.find(cd, '|', 1, true) - 1)) or 0) <= now then redis.call('DEL', KEYS[1]) end
end
return 1
`;

/** KEYS p; ARGV now window ttl remainingRequests|'' resetRequestsMs remainingTokens|'' resetTokensMs. */
export const OBSERVE_LUA = `${PRELUDE}
local p = KEYS[1]
local function keep(field, untilField, value, ms)
  if value == '' then return end
  ms = math.max(1, tonumber(ms))
  redis.call('HSET', p, field, value, untilField, int(now + ms))
  local left = redis.call('PTTL', p)
  if left < ms then redis.call('PEXPIRE', p, ms) end
end
keep('rq', 'rqu', ARGV[4], ARGV[5])
keep('tk', 'tku', ARGV[6], ARGV[7])
return now
`;

/**
 * KEYS w t m; ARGV now window ttl, then pairs (ageMs, tokens): reservations an instance
 * admitted while Redis could not count them. Returns their new ids (0 when already out of the window).
 */
export const ADOPT_LUA = `${PRELUDE}
local w, t, m = KEYS[1], KEYS[2], KEYS[3]
trim(w, t, m)
local ids = {}
for i = 4, #ARGV, 2 do
  local age, tokens = tonumber(ARGV[i]), tonumber(ARGV[i + 1])
  if age < WINDOW then ids[#ids + 1] = add(w, t, m, now - math.max(0, age), tokens) else ids[#ids + 1] = 0 end
end
touch(w, t, m)
return ids
`;

/**
 * KEYS instances generation; ARGV now window ttl instanceId instanceTtlMs newGeneration generationTtlMs.
 * Announces an instance, forgets silent ones, returns {live instances, generation}. The
 * generation names this Redis dataset: when it changes, Redis lost its counts.
 */
export const HEARTBEAT_LUA = `${PRELUDE}
local inst, genKey = KEYS[1], KEYS[2]
local life = tonumber(ARGV[5])
redis.call('ZADD', inst, int(now), ARGV[4])
redis.call('ZREMRANGEBYSCORE', inst, '-inf', int(now - life))
redis.call('PEXPIRE', inst, life)
local gen = redis.call('GET', genKey)
if not gen then
  gen = ARGV[6]
  redis.call('SET', genKey, gen)
end
redis.call('PEXPIRE', genKey, tonumber(ARGV[7]))
return {redis.call('ZCARD', inst), gen}
`;
