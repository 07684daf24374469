import { DEFAULT_IDEMPOTENCY_LEASE_MS, type IdempotencyRecord, type IdempotencyStore } from '../store/interfaces.js';
import { luaScript, type RedisLink } from './redis-connection.js';

/*
 * Idempotency keys on Redis (SPEC §2.4, UP-8): one hash per (scope, key), tagged `{scope}` (the
 * tenant). `begin` is the `SET NX` of the interface's contract, made a script so an expired row
 * (by the caller's clock, like the SQL stores) is taken over in the same atomic step.
 */

/** ARGV: requestHash, owner, now, expiresAt, member. Returns JSON: the row that holds the key, or {started}. */
const BEGIN = luaScript(`
local row = redis.call('HGETALL', KEYS[1])
if #row > 0 then
  local h = {}
  for i = 1, #row, 2 do h[row[i]] = row[i + 1] end
  if tonumber(h.expiresAt) > tonumber(ARGV[3]) then
    if h.requestHash ~= ARGV[1] then return '{"kind":"conflict"}' end
    return cjson.encode({ kind = h.state, row = h })
  end
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[1], 'requestHash', ARGV[1], 'state', 'in_flight', 'owner', ARGV[2], 'createdAt', ARGV[3], 'expiresAt', ARGV[4])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[5])
return '{"kind":"started"}'
`);

/** ARGV: owner, status, body, headers or '', expiresAt, member. */
const COMPLETE = luaScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'in_flight' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'completed', 'status', ARGV[2], 'body', ARGV[3], 'expiresAt', ARGV[5])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[1], 'headers', ARGV[4]) end
redis.call('ZADD', KEYS[2], ARGV[5], ARGV[6])
return 1
`);

/** ARGV: owner, member. */
const ABANDON = luaScript(`
if redis.call('HGET', KEYS[1], 'owner') ~= ARGV[1] or redis.call('HGET', KEYS[1], 'state') ~= 'in_flight' then return 0 end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return 1
`);

function toRecord(scope: string, key: string, h: Record<string, string>): IdempotencyRecord {
  const record: IdempotencyRecord = {
    scope,
    key,
    requestHash: h.requestHash!,
    state: h.state as IdempotencyRecord['state'],
    owner: h.owner!,
    createdAt: Number(h.createdAt),
    expiresAt: Number(h.expiresAt),
  };
  if (h.status !== undefined) record.status = Number(h.status);
  if (h.body !== undefined) record.body = h.body;
  if (h.headers !== undefined) record.headers = JSON.parse(h.headers) as Record<string, string>;
  return record;
}

export function createRedisIdempotencyStore(redis: RedisLink): IdempotencyStore {
  const p = redis.prefix;
  const rowKey = (scope: string, key: string) => `${p}{${scope}}:idem:${key}`;
  const index = `${p}idem:expiry`;
  // NUL cannot appear in a header value, so it separates scope from key unambiguously.
  const member = (scope: string, key: string) => `${scope}\u0000${key}`;
  return {
    async begin(entry) {
      const leaseMs = Math.min(entry.leaseMs ?? DEFAULT_IDEMPOTENCY_LEASE_MS, entry.ttlMs);
      const reply = JSON.parse(
        String(
          await redis.evalScript(BEGIN, [rowKey(entry.scope, entry.key), index], [entry.requestHash, entry.owner, String(entry.now), String(entry.now + leaseMs), member(entry.scope, entry.key)]),
        ),
      ) as { kind: 'started' | 'conflict' | 'in_flight' | 'completed'; row?: Record<string, string> };
      if (reply.kind === 'started' || reply.kind === 'conflict') return { kind: reply.kind };
      if (reply.kind === 'in_flight') return { kind: 'in_flight', owner: reply.row!.owner! };
      return { kind: 'completed', record: toRecord(entry.scope, entry.key, reply.row!) };
    },
    async complete(scope, key, owner, result) {
      const headers = result.headers === undefined ? '' : JSON.stringify(result.headers);
      await redis.evalScript(COMPLETE, [rowKey(scope, key), index], [owner, String(result.status), result.body, headers, String(result.expiresAt), member(scope, key)]);
    },
    async abandon(scope, key, owner) {
      await redis.evalScript(ABANDON, [rowKey(scope, key), index], [owner, member(scope, key)]);
    },
    async get(scope, key, now) {
      const list = (await redis.send(['HGETALL', rowKey(scope, key)])) as string[];
      const h: Record<string, string> = {};
      for (let i = 0; i + 1 < list.length; i += 2) h[list[i]!] = list[i + 1]!;
      if (!h.state || Number(h.expiresAt) <= now) return undefined;
      return toRecord(scope, key, h);
    },
    async purgeExpired(now) {
      const members = (await redis.send(['ZRANGEBYSCORE', index, '-inf', String(now)])) as string[];
      let count = 0;
      for (const m of members) {
        const [scope, key] = m.split('\u0000') as [string, string];
        // Re-check under the row's own expiry: the row may have been re-claimed since.
        const expiresAt = Number(await redis.send(['HGET', rowKey(scope, key), 'expiresAt']));
        if (expiresAt > now) continue;
        count += Number(await redis.send(['DEL', rowKey(scope, key)]));
        await redis.send(['ZREM', index, m]);
      }
      return count;
    },
  };
}
