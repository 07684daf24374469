import type { EventLog, LoggedEvent, StreamRecord } from '../store/interfaces.js';
import { luaScript, type RedisLink } from './redis-connection.js';

/*
 * Stream ids are `0-<seq+1>`: the log-assigned sequence number is the Redis Streams id, so XADD
 * itself refuses a reused or out-of-order id and XRANGE with an exclusive start pages a replay.
 * Every key of one stream shares its `{id}` hash tag, so each script stays in one Cluster slot.
 */

const CREATE = luaScript(`
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.error_reply('a stream with this id already exists') end
redis.call('HSET', KEYS[1], unpack(ARGV, 3))
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[4])
redis.call('SET', KEYS[2], 'producer', 'PX', ARGV[1])
return 1
`);

/** ARGV: channel, stream id, then (seq, event or '', hasEvent, data) per event. All or nothing per stream. */
const APPEND = luaScript(`
local last = -1
local top = redis.call('XREVRANGE', KEYS[1], '+', '-', 'COUNT', 1)
if #top > 0 then last = tonumber(string.match(top[1][1], '%-(%d+)$')) - 1 end
if tonumber(ARGV[3]) <= last then return redis.error_reply('seq ' .. ARGV[3] .. ' is not after ' .. last) end
for i = 3, #ARGV, 4 do
  local id = '0-' .. (tonumber(ARGV[i]) + 1)
  if ARGV[i + 2] == '1' then redis.call('XADD', KEYS[1], id, 'd', ARGV[i + 3], 'e', ARGV[i + 1])
  else redis.call('XADD', KEYS[1], id, 'd', ARGV[i + 3]) end
end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`);

/** ARGV: status, endedAt, expiresAt, id. Only the first end counts. */
const END = luaScript(`
if redis.call('HGET', KEYS[1], 'status') ~= 'active' then return 0 end
redis.call('HSET', KEYS[1], 'status', ARGV[1], 'endedAt', ARGV[2], 'expiresAt', ARGV[3])
redis.call('ZREM', KEYS[3], ARGV[4])
redis.call('ZADD', KEYS[4], ARGV[3], ARGV[4])
redis.call('DEL', KEYS[2])
return 1
`);

const FOLLOW_POLL_MS = 250;

/** Settings of {@link createRedisEventLog}. */
export interface RedisEventLogOptions {
  /** A producer's lease; renewed every third of it while this process produces the stream (SPEC ST-14). */
  leaseMs: number;
}

/** The EventLog on Redis Streams (SPEC §2.4), shared by replicas, with producer leases and a follow for remote readers. */
export interface RedisEventLog extends EventLog {
  readonly leaseMs: number;
  close(): void;
}

function toRecord(id: string, hash: Record<string, string>): StreamRecord | undefined {
  if (!hash.status) return undefined;
  const record: StreamRecord = {
    id,
    tenant: hash.tenant!,
    kind: hash.kind as StreamRecord['kind'],
    status: hash.status as StreamRecord['status'],
    createdAt: Number(hash.createdAt),
    expiresAt: Number(hash.expiresAt),
    meta: hash.meta!,
  };
  if (hash.endedAt !== undefined) record.endedAt = Number(hash.endedAt);
  return record;
}

function pairs(reply: unknown): Record<string, string> {
  const list = reply as string[];
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < list.length; i += 2) out[list[i]!] = list[i + 1]!;
  return out;
}

export function createRedisEventLog(redis: RedisLink, options: RedisEventLogOptions): RedisEventLog {
  const p = redis.prefix;
  const meta = (id: string) => `${p}{${id}}:stream`;
  const eventsKey = (id: string) => `${p}{${id}}:events`;
  const lease = (id: string) => `${p}{${id}}:lease`;
  const watched = (id: string) => `${p}{${id}}:watched`;
  const active = `${p}streams:active`;
  const expiry = `${p}streams:expiry`;
  const channel = `${p}streams:appended`;
  const owned = new Set<string>();
  const waiters = new Map<string, Set<() => void>>();
  let subscribed: Promise<void> | undefined;
  const { leaseMs } = options;

  // Renew the leases of streams produced here; a process that dies stops renewing (SPEC ST-14).
  const renewer = setInterval(() => {
    for (const id of owned) redis.send(['PEXPIRE', lease(id), String(leaseMs)]).catch(() => undefined);
  }, Math.max(50, Math.floor(leaseMs / 3)));
  renewer.unref();

  const wake = (id: string) => {
    const set = waiters.get(id);
    if (!set) return;
    waiters.delete(id);
    for (const resolve of set) resolve();
  };

  const remove = async (id: string): Promise<boolean> => {
    const existed = Number(await redis.send(['DEL', meta(id), eventsKey(id), lease(id), watched(id)]));
    await Promise.all([redis.send(['ZREM', active, id]), redis.send(['ZREM', expiry, id])]);
    owned.delete(id);
    return existed > 0;
  };

  return {
    leaseMs,
    async createStream(record) {
      const fields = ['tenant', record.tenant, 'kind', record.kind, 'status', record.status, 'createdAt', String(record.createdAt), 'expiresAt', String(record.expiresAt), 'meta', record.meta];
      if (record.endedAt !== undefined) fields.push('endedAt', String(record.endedAt));
      // ARGV[4] must be the id for ZADD: HSET reads ARGV from 3 on, so the id rides along as a field.
      await redis.evalScript(CREATE, [meta(record.id), lease(record.id), active], [String(leaseMs), String(record.createdAt), 'id', record.id, ...fields]);
      owned.add(record.id);
    },
    async append(batch) {
      await Promise.all(
        batch
          .filter(({ events }) => events.length > 0)
          .map(({ streamId, events }) => {
            const args = [channel, streamId];
            for (const event of events) args.push(String(event.seq), event.event ?? '', event.event === undefined ? '0' : '1', event.data);
            return redis.evalScript(APPEND, [eventsKey(streamId)], args);
          }),
      );
    },
    async read(streamId, after, limit) {
      const start = after < 0 ? '-' : `(0-${after + 1}`;
      const reply = (await redis.send(['XRANGE', eventsKey(streamId), start, '+', 'COUNT', String(limit)])) as Array<[string, string[]]>;
      return reply.map(([id, list]) => {
        const fields = pairs(list);
        const event: LoggedEvent = { seq: Number(id.slice(2)) - 1, data: fields.d ?? '' };
        if (fields.e !== undefined) event.event = fields.e;
        return event;
      });
    },
    async getStream(id) {
      return toRecord(id, pairs(await redis.send(['HGETALL', meta(id)])));
    },
    async endStream(id, status, at, expiresAt) {
      await redis.evalScript(END, [meta(id), lease(id), active, expiry], [status, String(at), String(expiresAt), id]);
      owned.delete(id);
    },
    async listActive() {
      const ids = (await redis.send(['ZRANGE', active, '0', '-1'])) as string[];
      const records = await Promise.all(ids.map(async (id) => toRecord(id, pairs(await redis.send(['HGETALL', meta(id)])))));
      return records.filter((record): record is StreamRecord => record?.status === 'active');
    },
    async claimOrphan(id) {
      // Only a lapsed lease can be taken, and only by one replica.
      if (owned.has(id)) return false;
      return (await redis.send(['SET', lease(id), 'recovering', 'NX', 'PX', String(leaseMs)])) === 'OK';
    },
    async follow(id, signal) {
      redis.send(['SET', watched(id), '1', 'PX', String(leaseMs * 2)]).catch(() => undefined);
      subscribed ??= redis.subscribe(channel, wake).catch(() => {
        subscribed = undefined;
      });
      await subscribed;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal.removeEventListener('abort', done);
          waiters.get(id)?.delete(done);
          resolve();
        };
        const timer = setTimeout(done, FOLLOW_POLL_MS);
        signal.addEventListener('abort', done, { once: true });
        let set = waiters.get(id);
        if (!set) waiters.set(id, (set = new Set()));
        set.add(done);
      });
    },
    async watchedElsewhere(id) {
      return (await redis.send(['EXISTS', watched(id)])) === 1;
    },
    deleteStream: remove,
    async purgeExpired(now) {
      const ids = (await redis.send(['ZRANGEBYSCORE', expiry, '-inf', String(now)])) as string[];
      let count = 0;
      for (const id of ids) if (await remove(id)) count++;
      return count;
    },
    close() {
      clearInterval(renewer);
      for (const id of [...waiters.keys()]) wake(id);
    },
  };
}
