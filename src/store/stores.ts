import { join } from 'node:path';
import { ConfigError } from '../config/config-error.js';
import type { Config } from '../config/schema.js';
import type { Stores } from './interfaces.js';
import { createMemoryStores } from './memory-stores.js';
import { openSqliteStores } from './sqlite-stores.js';

/** The database file inside the data directory (SPEC STO-2). */
export const SQLITE_FILE_NAME = 'breakwater.db';

/** `sqlite:/abs/path.db`, `file:/abs/path.db` or a plain path; the schemes are optional. */
function sqlitePath(url: string): string {
  return url.replace(/^(sqlite|file):(\/\/)?/, '');
}

/**
 * Opens the stores `store.kind` selects (SPEC STO-3): SQLite at `store.url` or
 * `<dataDir>/breakwater.db` (migrated on open), or memory. PostgreSQL arrives with scale-out.
 */
export async function openStores(config: Config, options: { dataDir?: string } = {}): Promise<Stores> {
  const kind = config.store.kind;
  if (kind === 'memory') return createMemoryStores();
  if (kind === 'postgres') {
    throw new ConfigError([
      { path: ['store', 'kind'], message: 'postgres store arrives with the scale-out work', hint: 'use sqlite (the default) or memory' },
    ]);
  }
  const dataDir = options.dataDir ?? config.server.dataDir;
  const path = config.store.url ? sqlitePath(config.store.url) : join(dataDir, SQLITE_FILE_NAME);
  return openSqliteStores({ path });
}
