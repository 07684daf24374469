import { readdirSync, readFileSync } from 'node:fs';
import type { Migration } from '../migrator.js';

const MIGRATION_FILE = /^(\d{4})_[a-z0-9_]+\.sql$/;

/** One migration file as written: `NNNN_name.sql` and its SQL. */
export interface MigrationFile {
  file: string;
  sql: string;
}

/**
 * The SQLite migration files, embedded by the production bundle (scripts/build-bundle.mjs, an
 * esbuild `define`) so the bundle reads no files and needs no folder next to it; undefined when
 * running from `src/` (tsx) or tsc's `dist/`, which read the folder.
 */
declare const BREAKWATER_SQLITE_MIGRATIONS: readonly MigrationFile[] | undefined;

/** Orders migration files by version and turns them into migrations; other names are ignored. */
export function migrationsFromFiles(files: readonly MigrationFile[]): readonly Migration[] {
  const valid = files.filter(({ file }) => MIGRATION_FILE.test(file)).sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
  return Object.freeze(valid.map(({ file, sql }) => ({ version: Number(MIGRATION_FILE.exec(file)![1]), name: file.slice(0, -'.sql'.length), sql })));
}

/**
 * Reads `NNNN_name.sql` files from a folder, oldest first. The .sql files are the only source:
 * the build copies them next to the compiled module, the bundle embeds them.
 */
export function readMigrationFolder(folder: URL): readonly Migration[] {
  const files = readdirSync(folder).filter((name) => MIGRATION_FILE.test(name));
  return migrationsFromFiles(files.map((file) => ({ file, sql: readFileSync(new URL(file, folder), 'utf8') })));
}

/** SQLite migrations, oldest first; append only, never edit one that shipped. */
export const SQLITE_MIGRATIONS: readonly Migration[] =
  typeof BREAKWATER_SQLITE_MIGRATIONS !== 'undefined'
    ? migrationsFromFiles(BREAKWATER_SQLITE_MIGRATIONS)
    : readMigrationFolder(new URL('./sqlite/', import.meta.url));
