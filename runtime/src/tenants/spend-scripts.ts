/**
 * Lua for tenant spend and budgets in Redis, kept as strings so that bundles carry them.
 * Amounts are whole nano-dollars (1e-9 USD): exact sums, no float drift (written with
 * int(): Lua would print a large number in exponent form, which HINCRBY refuses). The keys of one
 * tenant share a hash tag (one cluster slot):
 *   d   HASH  spent, alerted          the UTC day's spend; how many alert thresholds were reported
 *   m   HASH  spent, alerted          the UTC month's
 *   hz  ZSET  hold id -> expiry (ms)  worst cases reserved by requests in flight
 *   hh  HASH  hold id -> amount, sum, seq
 *   op:<instance>  STRING  the last batch this instance added (its flushes go one at a time, in order)
 * A hold whose request never settled (its instance died) expires after the request deadline.
 */
import { LUA_DROP_EXPIRED } from '../quota/redis-scripts';

/** Shared head: the caller's time, and a whole-number formatter. */
const PRELUDE = `${LUA_DROP_EXPIRED}
local now = tonumber(ARGV[1])
local function int(n) return string.format('%d', n) end

-- Drops expired holds; returns what is still held.
local function held(hz, hh)
  local freed = dropExpired(hz, hh, int(now))
  if freed ~= 0 then redis.call('HINCRBY', hh, 'sum', int(-freed)) end
  return tonumber(redis.call('HGET', hh, 'sum')) or 0
end

-- Adds 'amount' to a period's spend; returns the new spend and the thresholds it newly
-- crossed, as (from, to]: how many had been reported, how many are crossed now (equal when
-- none is new; each threshold is reported once per period, by one caller).
local function spend(key, amount, ttl, thresholds)
  local spent = redis.call('HINCRBY', key, 'spent', int(amount))
  redis.call('PEXPIRE', key, ttl)
  if thresholds == '' then return spent, 0, 0 end
  local crossed = 0
  for t in string.gmatch(thresholds, '[^,]+') do
    if spent >= tonumber(t) then crossed = crossed + 1 end
  end
  local alerted = tonumber(redis.call('HGET', key, 'alerted')) or 0
  if crossed > alerted then
    redis.call('HSET', key, 'alerted', crossed)
    return spent, alerted, crossed
  end
  return spent, alerted, alerted
end
`;

/**
 * KEYS d m hz hh; ARGV now worst dayCap|'' monthCap|'' holdExpiresAt holdTtl.
 * Admits a request whose worst case is `worst` while spent + held + worst stays within
 * each cap, and holds it. Returns {1, holdId, daySpent, monthSpent, held} or
 * {0, dayOver, monthOver, daySpent, monthSpent, held}: 2 when the spend alone leaves no
 * room, 1 when requests in flight hold what is left, 0 when that cap is not the reason.
 */
export const BUDGET_RESERVE_LUA = `${PRELUDE}
local d, m, hz, hh = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local worst, dcap, mcap = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local h = held(hz, hh)
local ds = tonumber(redis.call('HGET', d, 'spent')) or 0
local ms = tonumber(redis.call('HGET', m, 'spent')) or 0
local function over(spent, cap)
  if not cap or spent + h + worst <= cap then return 0 end
  if spent + worst > cap then return 2 end
  return 1
end
local dover, mover = over(ds, dcap), over(ms, mcap)
if dover > 0 or mover > 0 then return {0, dover, mover, ds, ms, h} end
local id = redis.call('HINCRBY', hh, 'seq', 1)
redis.call('ZADD', hz, ARGV[5], id)
redis.call('HSET', hh, id, int(worst))
redis.call('HINCRBY', hh, 'sum', int(worst))
redis.call('PEXPIRE', hz, tonumber(ARGV[6]))
redis.call('PEXPIRE', hh, tonumber(ARGV[6]))
return {1, id, ds, ms, h + worst}
`;

/**
 * KEYS d m hz hh [op]; ARGV now holdId|'' amount dayTtl monthTtl dayThresholds
 * monthThresholds ifHeld('1'|'') [opSeq opTtl].
 * Frees the hold (if still there) and adds `amount` to the day's and the month's spend.
 * With ifHeld, only while the hold is there: the retry of a settle that may have run
 * already (its answer never came), which freed the hold if it did. With an op key, only
 * when opSeq is past the one it holds: the retry of a batch that ran already.
 * Thresholds: comma-separated amounts, '' for none. Returns {daySpent, monthSpent,
 * dayFrom, dayTo, monthFrom, monthTo, held, added}: thresholds from+1..to were newly
 * crossed here; held is what requests in flight still hold; added is 1 when `amount` was
 * added, 0 when ifHeld found no hold.
 */
export const BUDGET_SETTLE_LUA = `${PRELUDE}
local d, m, hz, hh = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local function unchanged()
  local ds = tonumber(redis.call('HGET', d, 'spent')) or 0
  local ms = tonumber(redis.call('HGET', m, 'spent')) or 0
  return {ds, ms, 0, 0, 0, 0, held(hz, hh), 0}
end
if KEYS[5] then
  local seq = tonumber(ARGV[9])
  if seq <= (tonumber(redis.call('GET', KEYS[5])) or 0) then return unchanged() end
  redis.call('SET', KEYS[5], ARGV[9], 'PX', ARGV[10])
end
local id = ARGV[2]
if id ~= '' then
  local v = redis.call('HGET', hh, id)
  if v then
    redis.call('HDEL', hh, id)
    redis.call('ZREM', hz, id)
    redis.call('HINCRBY', hh, 'sum', int(-tonumber(v)))
  elseif ARGV[8] == '1' then
    return unchanged()
  end
end
local amount = tonumber(ARGV[3])
local ds, dfrom, dto = spend(d, amount, tonumber(ARGV[4]), ARGV[6])
local ms, mfrom, mto = spend(m, amount, tonumber(ARGV[5]), ARGV[7])
return {ds, ms, dfrom, dto, mfrom, mto, held(hz, hh), 1}
`;
