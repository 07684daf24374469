import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import pg from 'pg';
import { connectRedis, type RedisLink } from '../../src/shared/redis-connection.js';
import { createRedisEventLog } from '../../src/shared/redis-event-log.js';
import { createRedisIdempotencyStore } from '../../src/shared/redis-idempotency-store.js';
import type { Stores } from '../../src/store/interfaces.js';
import { openPostgresStores } from '../../src/store/postgres-open.js';

/** The Redis and PostgreSQL every machine running the suite (and CI) provides. */
export const REDIS_URL = process.env.BREAKWATER_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const POSTGRES_URL = process.env.BREAKWATER_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

function reachable(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.setTimeout(1_000, () => done(false));
  });
}

/**
 * The reason to skip tests that need Redis and PostgreSQL, or undefined when both answer. With
 * `BREAKWATER_REQUIRE_SERVICES=1` (CI) a missing service fails instead of skipping.
 */
export async function servicesMissing(): Promise<string | undefined> {
  const [redis, postgres] = await Promise.all([reachable(REDIS_URL), reachable(POSTGRES_URL)]);
  const missing = [!redis && `Redis at ${REDIS_URL}`, !postgres && `PostgreSQL at ${POSTGRES_URL}`].filter(Boolean).join(' and ');
  if (!missing) return undefined;
  if (process.env.BREAKWATER_REQUIRE_SERVICES === '1') throw new Error(`${missing} not reachable and BREAKWATER_REQUIRE_SERVICES=1`);
  process.stderr.write(`SKIPPING scale-out tests: ${missing} not reachable\n`);
  return `${missing} not reachable`;
}

const suffix = () => randomBytes(6).toString('hex');

/** A key prefix of its own, so concurrent tests never share Redis keys. */
export function freshPrefix(): string {
  return `bwtest:${suffix()}:`;
}

/** Deletes every key under `prefix`. */
export async function dropPrefix(prefix: string): Promise<void> {
  const link = await connectRedis(REDIS_URL, prefix);
  try {
    let cursor = '0';
    do {
      const [next, keys] = (await link.send(['SCAN', cursor, 'MATCH', `${prefix}*`, 'COUNT', '1000'])) as [string, string[]];
      cursor = next;
      if (keys.length > 0) await link.send(['DEL', ...keys]);
    } while (cursor !== '0');
  } finally {
    await link.close();
  }
}

/** A fresh schema name and the store URL selecting it. */
export function freshSchema(): { schema: string; url: string } {
  const schema = `bw_t_${suffix()}`;
  return { schema, url: `${POSTGRES_URL}?schema=${schema}` };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: POSTGRES_URL });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}

/** A Redis link on a fresh prefix; `cleanup` closes it and deletes its keys. */
export async function redisForTest(): Promise<{ redis: RedisLink; cleanup(): Promise<void> }> {
  const prefix = freshPrefix();
  const redis = await connectRedis(REDIS_URL, prefix);
  return {
    redis,
    async cleanup() {
      await redis.close();
      await dropPrefix(prefix);
    },
  };
}

/** The scale-out stores (PostgreSQL + Redis) on a fresh schema and prefix, both dropped on close. */
export async function openScaleOutStores(leaseMs = 5_000): Promise<Stores> {
  const { schema, url } = freshSchema();
  const { redis, cleanup } = await redisForTest();
  const events = createRedisEventLog(redis, { leaseMs });
  const stores = await openPostgresStores(url, { events, idempotency: createRedisIdempotencyStore(redis) });
  return {
    ...stores,
    async close() {
      events.close();
      await stores.close();
      await Promise.all([dropSchema(schema), cleanup()]);
    },
  };
}
