import type { SharedState } from '../shared/shared-state.js';
import type { Stores } from './interfaces.js';
import { createMemoryEventLog } from './memory-event-log.js';
import { createMemoryIdempotencyStore } from './memory-stores.js';
import { migratePostgres, openPostgresDatabase } from './postgres-database.js';
import { createPostgresRunEventLog } from './postgres-run-event-log.js';
import { createPostgresRunStore } from './postgres-run-store.js';
import {
  createPostgresKeyStore,
  createPostgresLedgerStore,
  createPostgresMetaStore,
  createPostgresPrincipalStore,
  createPostgresResponseStore,
} from './postgres-stores.js';

/**
 * The PostgreSQL stores (SPEC STO-3), migrated before first use. Stream logs and idempotency keys
 * come from Redis when shared; without it (one process on PostgreSQL) they stay in this process.
 * Durable runs and their event streams live in PostgreSQL, written in the same transactions.
 */
export async function openPostgresStores(url: string, shared?: Pick<SharedState, 'events' | 'idempotency'>): Promise<Stores> {
  const db = openPostgresDatabase(url);
  try {
    await migratePostgres(db);
  } catch (error) {
    await db.pool.end();
    throw error;
  }
  return {
    keys: createPostgresKeyStore(db),
    principals: createPostgresPrincipalStore(db),
    ledger: createPostgresLedgerStore(db),
    meta: createPostgresMetaStore(db),
    responses: createPostgresResponseStore(db),
    events: createPostgresRunEventLog(db, shared?.events ?? createMemoryEventLog()),
    idempotency: shared?.idempotency ?? createMemoryIdempotencyStore(),
    runs: createPostgresRunStore(db),
    async ping() {
      await db.pool.query('SELECT 1');
    },
    async close() {
      await db.pool.end();
    },
  };
}
