import { POSTGRES_MIGRATIONS } from './migrations/postgres.js';
import { SQLITE_MIGRATIONS } from './migrations/sqlite.js';
import { openSqliteDatabase, type SqliteDatabase } from './sqlite-database.js';

/** SQL dialects with their own migration folder (`migrations/<dialect>/NNNN_name.sql`). */
export type SqlDialect = 'sqlite' | 'postgres';

/** One forward-only schema step. */
export interface Migration {
  /** Strictly increasing, starting at 1; the `NNNN` of the file name. */
  version: number;
  /** The file name without `.sql`, e.g. `0001_init`. */
  name: string;
  sql: string;
}

/** What a migration run did. */
export interface MigrationResult {
  dialect: SqlDialect;
  /** Schema version before the run (0 for a new database). */
  from: number;
  to: number;
  /** Names of the migrations applied by this run, oldest first. */
  applied: string[];
}

/** Where `migrate` should apply migrations. */
export type MigrationTarget = { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

/** A database written by a newer Breakwater: refusing it is the only safe move (SPEC STO-4). */
export class SchemaTooNewError extends Error {
  readonly code = 'schema_too_new';

  constructor(
    readonly databaseVersion: number,
    readonly knownVersion: number,
    readonly dialect: SqlDialect,
  ) {
    super(
      `the ${dialect} database is at schema version ${databaseVersion} but this Breakwater knows only up to ` +
        `version ${knownVersion}; upgrade Breakwater, or point it at another data directory`,
    );
    this.name = 'SchemaTooNewError';
  }
}

/** The bundled migrations of a dialect, oldest first. */
export function migrationsFor(dialect: SqlDialect): readonly Migration[] {
  if (dialect === 'sqlite') return SQLITE_MIGRATIONS;
  return POSTGRES_MIGRATIONS;
}

/** The migrations still to apply over `current`; throws {@link SchemaTooNewError} when the database is ahead. */
export function pendingMigrations(current: number, migrations: readonly Migration[], dialect: SqlDialect): Migration[] {
  let previous = 0;
  for (const migration of migrations) {
    if (!Number.isInteger(migration.version) || migration.version <= previous) {
      throw new Error(`${dialect} migration ${migration.name} is out of order: versions must increase from 1`);
    }
    previous = migration.version;
  }
  if (current > previous) throw new SchemaTooNewError(current, previous, dialect);
  return migrations.filter((migration) => migration.version > current);
}

/**
 * Brings a SQLite database up to date in one IMMEDIATE transaction: the write lock is taken before
 * the version is read, so two processes starting together apply each migration exactly once.
 */
export function migrateSqliteDatabase(
  db: SqliteDatabase,
  migrations: readonly Migration[] = SQLITE_MIGRATIONS,
  now: () => number = Date.now,
): MigrationResult {
  // A restart with nothing new reads one row and takes no write lock (SPEC CS-1).
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current !== undefined && current === latest) return { dialect: 'sqlite', from: current, to: current, applied: [] };
  const run = db.transaction((): MigrationResult => {
    db.exec(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)',
    );
    const row = db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null };
    const from = row.version ?? 0;
    const pending = pendingMigrations(from, migrations, 'sqlite');
    const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
    for (const migration of pending) {
      db.exec(migration.sql);
      record.run(migration.version, migration.name, now());
    }
    return { dialect: 'sqlite', from, to: pending.at(-1)?.version ?? from, applied: pending.map((m) => m.name) };
  });
  return run.immediate();
}

/** The schema version recorded in a SQLite database; undefined before the first migration. */
function schemaVersion(db: SqliteDatabase): number | undefined {
  const table = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'").get();
  if (!table) return undefined;
  return (db.prepare('SELECT MAX(version) AS version FROM schema_migrations').get() as { version: number | null }).version ?? undefined;
}

/** Applies pending migrations to a database and closes it: the body of `breakwater migrate`. */
export async function migrate(target: MigrationTarget): Promise<MigrationResult> {
  if (target.dialect === 'postgres') {
    const { openPostgresDatabase, migratePostgres } = await import('./postgres-database.js');
    const db = openPostgresDatabase(target.url);
    try {
      return await migratePostgres(db);
    } finally {
      await db.pool.end();
    }
  }
  const db = openSqliteDatabase(target.path);
  try {
    return migrateSqliteDatabase(db);
  } finally {
    db.close();
  }
}
