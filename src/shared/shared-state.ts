import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { IdempotencyStore } from '../store/interfaces.js';
import type { LimitStore } from '../tenancy/limit-store.js';
import { OutageAwareLimitStore } from './outage-limit-store.js';
import { connectRedis, type RedisLink } from './redis-connection.js';
import { createRedisEventLog, type RedisEventLog } from './redis-event-log.js';
import { createRedisIdempotencyStore } from './redis-idempotency-store.js';
import { RedisLimitStore } from './redis-limit-store.js';

/** What replicas share through Redis (SPEC §2.4 scale-out column). */
export interface SharedState {
  redis: RedisLink;
  limits: OutageAwareLimitStore;
  /** Stream logs on Redis Streams: a stream started on one replica resumes on any (SPEC ST-12). */
  events: RedisEventLog;
  idempotency: IdempotencyStore;
  /** `/readyz`'s view: Redis up, or the outage policy in force (still ready: the policy decides what is served). */
  check(): { ok: boolean; detail?: string };
  close(): Promise<void>;
}

/** Connects to `shared.redis`; undefined when the config shares nothing (single process, the default). */
export async function openSharedState(config: Config, logger: Logger): Promise<SharedState | undefined> {
  const { redis: url, keyPrefix, outage, replicas, streamLeaseMs } = config.shared;
  if (url === undefined) return undefined;
  const redis = await connectRedis(url, keyPrefix);
  if (!redis.ready) logger.warn({ error: redis.lastError }, 'redis is not reachable yet; the outage policy applies until it is');
  const limits = new OutageAwareLimitStore(new RedisLimitStore(redis), redis, { ...outage, replicas }, (error) => {
    if (error === undefined) logger.info('redis is back: limits are shared again');
    else logger.error({ error }, 'redis failed: limits follow shared.outage');
  });
  const events = createRedisEventLog(redis, { leaseMs: streamLeaseMs });
  return {
    redis,
    limits,
    events,
    idempotency: createRedisIdempotencyStore(redis),
    check() {
      const degraded = limits.degraded;
      return degraded === undefined ? { ok: true } : { ok: false, detail: degraded };
    },
    async close() {
      events.close();
      await redis.close();
    },
  };
}

/** The LimitStore a process uses: the shared one when there is one. */
export function limitStoreOf(shared: SharedState | undefined): LimitStore | undefined {
  return shared?.limits;
}
