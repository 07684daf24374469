import { readdirSync, readFileSync } from 'node:fs';
import type { Migration } from '../migrator.js';

const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

/**
 * Reads `NNNN_name.sql` files from a folder, oldest first. The .sql files are the only source:
 * the build copies them next to the compiled module.
 */
export function readMigrationFolder(folder: URL): readonly Migration[] {
  const files = readdirSync(folder).filter((name) => MIGRATION_FILE.test(name)).sort();
  return Object.freeze(
    files.map((file) => ({
      version: Number(MIGRATION_FILE.exec(file)![1]),
      name: file.slice(0, -'.sql'.length),
      sql: readFileSync(new URL(file, folder), 'utf8'),
    })),
  );
}

/** SQLite migrations, oldest first; append only, never edit one that shipped. */
export const SQLITE_MIGRATIONS: readonly Migration[] = readMigrationFolder(new URL('./sqlite/', import.meta.url));
