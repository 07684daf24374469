import { luaScript } from './redis-connection.js';

/*
 * The Redis LimitStore's scripts (SPEC MT-12, PERF-5). Each call is one atomic script on Redis
 * server time, so replicas with skewed clocks still share one exact bucket. KEYS come in pairs
 * per level: its state hash (GCRA arrival times, calendar spend) and its concurrency leases (a
 * sorted set scored by lease end). The GCRA arithmetic mirrors src/tenancy/gcra.ts.
 */

const COMMON = `
local WINDOW = 60000
local EPS = 1e-6
local function fmt(x) return string.format('%.17g', x) end
local function opt(v) if v == nil or v == cjson.null then return nil end return tonumber(v) end
local function field(v, default) if v == false or v == nil then return default end return v end
`;

/** ARGV[1]: {id, input, output, cost, lease, day, month, dayEnds, monthEnds, clientNow, levels}. */
export const RESERVE_SCRIPT = luaScript(`${COMMON}
local p = cjson.decode(ARGV[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local denial = nil
local function tighter(d)
  if denial == nil then denial = d return end
  local ba = string.sub(denial.dim, -6) == '_spend'
  local bb = string.sub(d.dim, -6) == '_spend'
  if ba ~= bb then if bb then denial = d end return end
  local ra = denial.retry or math.huge
  local rb = d.retry or math.huge
  if rb > ra then denial = d end
end
local function take(i, dim, tat, cost, limit, share)
  if limit == nil then return nil end
  local interval = WINDOW / limit
  local depth = WINDOW * share
  local base = math.max(tat, now)
  local nxt = base + cost * interval
  local used = base - now
  if nxt - now <= depth + EPS or used <= EPS then return nxt end
  local wait
  if cost * interval > depth then wait = used else wait = nxt - now - depth end
  tighter({ i = i, dim = dim, limit = limit, retry = math.ceil(wait - EPS),
    remaining = math.max(0, math.floor((depth - used) / interval + EPS)), reset = math.ceil(used - EPS) })
  return nil
end
local pending = {}
for i, level in ipairs(p.levels) do
  local key = KEYS[2 * i - 1]
  local h = redis.call('HMGET', key, 'rq', 'in', 'out', 'dk', 'dc', 'dr', 'mk', 'mc', 'mr')
  local share = opt(level.share) or 1
  local next = {}
  next.rq = take(i, 'requests', tonumber(field(h[1], 0)), 1, opt(level.rpm), share)
  if p.input > 0 then next['in'] = take(i, 'input_tokens', tonumber(field(h[2], 0)), p.input, opt(level.itpm), share) end
  if p.output > 0 then next.out = take(i, 'output_tokens', tonumber(field(h[3], 0)), p.output, opt(level.otpm), share) end
  local conc = opt(level.conc)
  if conc ~= nil then
    local leases = KEYS[2 * i]
    redis.call('ZREMRANGEBYSCORE', leases, '-inf', now)
    if redis.call('ZCARD', leases) + 1 > math.max(1, math.floor(conc * share)) then
      tighter({ i = i, dim = 'concurrency', limit = conc, retry = 1000 })
    end
  end
  local dc, dr, mc, mr = 0, 0, 0, 0
  if h[4] == p.day then dc = tonumber(field(h[5], 0)) dr = tonumber(field(h[6], 0)) end
  if h[7] == p.month then mc = tonumber(field(h[8], 0)) mr = tonumber(field(h[9], 0)) end
  local daily = opt(level.daily)
  if daily ~= nil and dc + dr + p.cost > daily then
    tighter({ i = i, dim = 'daily_spend', limit = daily, spent = dc + dr, retry = math.max(0, p.dayEnds - p.clientNow) })
  end
  local monthly = opt(level.monthly)
  if monthly ~= nil and mc + mr + p.cost > monthly then
    tighter({ i = i, dim = 'monthly_spend', limit = monthly, spent = mc + mr, retry = math.max(0, p.monthEnds - p.clientNow) })
  end
  next.dc, next.dr, next.mc, next.mr = dc, dr, mc, mr
  next.dnew, next.mnew = h[4] ~= p.day, h[7] ~= p.month
  pending[i] = next
end
-- Both answers carry the Redis time of the decision, so a burst's admission span can be read off the replies.
if denial ~= nil then denial.ok = false denial.now = now return cjson.encode(denial) end
for i, level in ipairs(p.levels) do
  local key = KEYS[2 * i - 1]
  local n = pending[i]
  local args = { 'dk', p.day, 'dc', fmt(n.dc), 'dr', fmt(n.dr + p.cost), 'mk', p.month, 'mc', fmt(n.mc), 'mr', fmt(n.mr + p.cost) }
  if n.dnew then table.insert(args, 'da') table.insert(args, '0') end
  if n.mnew then table.insert(args, 'ma') table.insert(args, '0') end
  if n.rq ~= nil then table.insert(args, 'rq') table.insert(args, fmt(n.rq)) end
  if n['in'] ~= nil then table.insert(args, 'in') table.insert(args, fmt(n['in'])) end
  if n.out ~= nil then table.insert(args, 'out') table.insert(args, fmt(n.out)) end
  redis.call('HSET', key, unpack(args))
  redis.call('PEXPIRE', key, 3024000000)
  if opt(level.conc) ~= nil then
    redis.call('ZADD', KEYS[2 * i], now + p.lease, p.id)
    redis.call('PEXPIRE', KEYS[2 * i], p.lease + 60000)
  end
end
return cjson.encode({ ok = true, now = now })
`);

/** ARGV[1]: {id, dIn, dOut, reserved, cost, day, month, levels: [{itpm, otpm, daily, monthly, soft}]}. */
export const SETTLE_SCRIPT = luaScript(`${COMMON}
local p = cjson.decode(ARGV[1])
local crossings = {}
local function commit(i, key, kf, cf, rf, af, period, cap, soft, name)
  local h = redis.call('HMGET', key, kf, cf, rf, af)
  local committed, reserved, alerted = 0, 0, '0'
  if h[1] == period then
    committed = tonumber(field(h[2], 0))
    reserved = math.max(0, tonumber(field(h[3], 0)) - p.reserved)
    alerted = field(h[4], '0')
  end
  committed = committed + p.cost
  if cap ~= nil and alerted ~= '1' and committed >= cap * soft then
    alerted = '1'
    table.insert(crossings, { i = i, period = name, key = period, spent = committed, cap = cap })
  end
  redis.call('HSET', key, kf, period, cf, fmt(committed), rf, fmt(reserved), af, alerted)
end
for i, level in ipairs(p.levels) do
  local key = KEYS[2 * i - 1]
  if redis.call('EXISTS', key) == 1 then
    local itpm, otpm = opt(level.itpm), opt(level.otpm)
    if itpm ~= nil and p.dIn ~= 0 then
      redis.call('HSET', key, 'in', fmt(tonumber(field(redis.call('HGET', key, 'in'), 0)) + p.dIn * (WINDOW / itpm)))
    end
    if otpm ~= nil and p.dOut ~= 0 then
      redis.call('HSET', key, 'out', fmt(tonumber(field(redis.call('HGET', key, 'out'), 0)) + p.dOut * (WINDOW / otpm)))
    end
    redis.call('ZREM', KEYS[2 * i], p.id)
    local soft = opt(level.soft) or 1
    commit(i, key, 'dk', 'dc', 'dr', 'da', p.day, opt(level.daily), soft, 'day')
    commit(i, key, 'mk', 'mc', 'mr', 'ma', p.month, opt(level.monthly), soft, 'month')
  end
end
if #crossings == 0 then return '[]' end
return cjson.encode(crossings)
`);

/** ARGV: day, month, daily, monthly. Seeds a period only when Redis holds nothing for it yet, so a restarting replica never rewinds shared spend. */
export const SEED_SCRIPT = luaScript(`
local h = redis.call('HMGET', KEYS[1], 'dk', 'mk')
if h[1] ~= ARGV[1] then redis.call('HSET', KEYS[1], 'dk', ARGV[1], 'dc', ARGV[3], 'dr', '0', 'da', '0') end
if h[2] ~= ARGV[2] then redis.call('HSET', KEYS[1], 'mk', ARGV[2], 'mc', ARGV[4], 'mr', '0', 'ma', '0') end
redis.call('PEXPIRE', KEYS[1], 3024000000)
return 1
`);
