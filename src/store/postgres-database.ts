import pg from 'pg';
import { pendingMigrations, type MigrationResult } from './migrator.js';
import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';

/** BIGINT columns (times, tokens, micro-USD) and SUMs (numeric) stay far below 2^53: plain numbers, like SQLite's. */
const NUMERIC_OIDS = new Set([20, 1700]);
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    NUMERIC_OIDS.has(oid) ? (value: string) => Number(value) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

/** A pool on one schema; `?schema=name` in the URL picks it (default `public`). */
export interface PostgresDatabase {
  pool: pg.Pool;
  schema: string;
}

const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Opens a pool on `url` (`postgres://…[?schema=name]`); nothing is sent until the first query. */
export function openPostgresDatabase(url: string): PostgresDatabase {
  const parsed = new URL(url);
  const schema = parsed.searchParams.get('schema') ?? 'public';
  if (!SCHEMA_NAME.test(schema)) throw new Error(`schema '${schema}' must be a lower-case SQL identifier`);
  parsed.searchParams.delete('schema');
  const pool = new pg.Pool({ connectionString: parsed.toString(), options: `-c search_path=${schema}`, types, max: 10 });
  // An idle client losing its connection must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  return { pool, schema };
}

/**
 * Brings the schema up to date under a session advisory lock (SPEC STO-4), so replicas starting
 * together apply each migration exactly once; each migration runs in its own transaction.
 */
export async function migratePostgres(db: PostgresDatabase, now: () => number = Date.now): Promise<MigrationResult> {
  const client = await db.pool.connect();
  try {
    await client.query('SELECT pg_advisory_lock(hashtext($1))', [`breakwater:${db.schema}`]);
    try {
      await client.query(`CREATE SCHEMA IF NOT EXISTS ${db.schema}`);
      await client.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const { rows } = await client.query<{ version: number | null }>('SELECT MAX(version) AS version FROM schema_migrations');
      const from = rows[0]?.version ?? 0;
      const pending = pendingMigrations(from, POSTGRES_MIGRATIONS, 'postgres');
      for (const migration of pending) {
        await client.query('BEGIN');
        try {
          await client.query(migration.sql);
          await client.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [migration.version, migration.name, now()]);
          await client.query('COMMIT');
        } catch (error) {
          await client.query('ROLLBACK');
          throw error;
        }
      }
      return { dialect: 'postgres', from, to: pending.at(-1)?.version ?? from, applied: pending.map((m) => m.name) };
    } finally {
      await client.query('SELECT pg_advisory_unlock(hashtext($1))', [`breakwater:${db.schema}`]);
    }
  } finally {
    client.release();
  }
}
