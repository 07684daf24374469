import type { Migration } from '../migrator.js';
import { migrationsFromFiles, readMigrationFolder, type MigrationFile } from './sqlite.js';

/** The PostgreSQL migration files, embedded by the production bundle like the SQLite ones. */
declare const BREAKWATER_POSTGRES_MIGRATIONS: readonly MigrationFile[] | undefined;

/** PostgreSQL migrations, oldest first; append only, never edit one that shipped. */
export const POSTGRES_MIGRATIONS: readonly Migration[] =
  typeof BREAKWATER_POSTGRES_MIGRATIONS !== 'undefined'
    ? migrationsFromFiles(BREAKWATER_POSTGRES_MIGRATIONS)
    : readMigrationFolder(new URL('./postgres/', import.meta.url));
