import { join } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';
import type { Stores } from './interfaces.js';
import { createMemoryStores } from './memory-stores.js';
import { openSqliteStores } from './sqlite-stores.js';
import type { SharedState } from '../shared/shared-state.js';

/** The database file inside the data directory (SPEC STO-2). */
export const SQLITE_FILE_NAME = 'breakwater.db';

/** `sqlite:/abs/path.db`, `file:/abs/path.db` or a plain path; the schemes are optional. */
function sqlitePath(url: string): string {
  return url.replace(/^(sqlite|file):(\/\/)?/, '');
}

/** With shared state, stream logs and idempotency keys live in Redis so every replica sees them. */
function withShared(stores: Stores, shared: SharedState | undefined): Stores {
  if (!shared) return stores;
  return { ...stores, events: shared.events, idempotency: shared.idempotency };
}

/**
 * Opens the stores `store.kind` selects (SPEC STO-3): SQLite at `store.url` or
 * `<dataDir>/breakwater.db` (migrated on open), memory, or PostgreSQL at `store.url` (migrated
 * under an advisory lock). With `shared` (Redis), stream logs and idempotency keys come from it.
 */
export async function openStores(config: Config, options: { dataDir?: string; shared?: SharedState | undefined } = {}): Promise<Stores> {
  const kind = config.store.kind;
  if (kind === 'memory') return withShared(createMemoryStores(), options.shared);
  if (kind === 'postgres') {
    if (!config.store.url) {
      throw new ConfigError([{ path: ['store', 'url'], message: 'store.kind postgres needs store.url', hint: 'e.g. postgres://user@host:5432/breakwater' }]);
    }
    const { openPostgresStores } = await import('./postgres-open.js');
    return openPostgresStores(config.store.url, options.shared);
  }
  const dataDir = options.dataDir ?? config.server.dataDir;
  const path = config.store.url ? sqlitePath(config.store.url) : join(dataDir, SQLITE_FILE_NAME);
  return withShared(openSqliteStores({ path }), options.shared);
}
