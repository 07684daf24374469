import { openSqliteDatabase, type SqliteDatabase } from '../store/sqlite-database.js';
import type { WorldDoc } from './load-scenario.js';

/** One mutating call of a fake tool (SPEC SIM-2). */
export interface LedgerEntry {
  seq: number;
  tool: string;
  args: unknown;
  result: unknown;
  idempotencyKey: string;
  runId: string;
  step: string;
  at: number;
  /** `performed`, `repeated` (an idempotency key seen before: the first answer was returned) or `failed`. */
  outcome: 'performed' | 'repeated' | 'failed';
}

/**
 * The state of one episode: documents by collection, the side-effect ledger and tool-call
 * counters. It lives in one SQLite database (in memory, or a file when worker processes share
 * it), so a SIGKILLed worker's effects are still there for the assertions.
 */
export interface WorldStore {
  list(collection: string): WorldDoc[];
  get(collection: string, id: string): WorldDoc | undefined;
  put(collection: string, doc: WorldDoc): void;
  remove(collection: string, id: string): boolean;
  /** Runs `fn` once per idempotency key in one transaction; a repeat is ledgered and gets the first answer. */
  mutate(entry: Omit<LedgerEntry, 'seq' | 'result' | 'outcome'>, idempotent: boolean, fn: () => unknown): unknown;
  ledger(): LedgerEntry[];
  /** Increments and returns the call count of `name` (tool faults on the nth call, crashes). */
  count(name: string): number;
  close(): void;
}

/** Opens a world at `path` (`:memory:` by default), filled with `fixtures` when new. */
export function openWorldStore(path: string, fixtures?: Record<string, readonly WorldDoc[]>): WorldStore {
  const db: SqliteDatabase = openSqliteDatabase(path);
  db.exec(`CREATE TABLE IF NOT EXISTS docs (collection TEXT NOT NULL, id TEXT NOT NULL, pos INTEGER NOT NULL, doc TEXT NOT NULL, PRIMARY KEY (collection, id));
           CREATE TABLE IF NOT EXISTS ledger (seq INTEGER PRIMARY KEY AUTOINCREMENT, tool TEXT, args TEXT, result TEXT, idempotency_key TEXT, run_id TEXT, step TEXT, at INTEGER, outcome TEXT);
           CREATE TABLE IF NOT EXISTS idempotency (key TEXT PRIMARY KEY, result TEXT NOT NULL);
           CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, n INTEGER NOT NULL);`);
  const upsert = db.prepare<[string, string, string]>(
    `INSERT INTO docs (collection, id, pos, doc) VALUES (?, ?, (SELECT COALESCE(MAX(pos), 0) + 1 FROM docs), ?) ON CONFLICT (collection, id) DO UPDATE SET doc = excluded.doc`,
  );
  const all = db.prepare<[string], { doc: string }>('SELECT doc FROM docs WHERE collection = ? ORDER BY pos');
  const one = db.prepare<[string, string], { doc: string }>('SELECT doc FROM docs WHERE collection = ? AND id = ?');
  const del = db.prepare<[string, string]>('DELETE FROM docs WHERE collection = ? AND id = ?');
  const findKey = db.prepare<[string], { result: string }>('SELECT result FROM idempotency WHERE key = ?');
  const saveKey = db.prepare<[string, string]>('INSERT INTO idempotency (key, result) VALUES (?, ?)');
  const append = db.prepare<[string, string, string, string, string, string, number, string]>(
    'INSERT INTO ledger (tool, args, result, idempotency_key, run_id, step, at, outcome) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
  );
  const entries = db.prepare<[], Record<string, string | number>>('SELECT * FROM ledger ORDER BY seq');
  const bump = db.prepare<[string], { n: number }>('INSERT INTO counters (name, n) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET n = n + 1 RETURNING n');
  if (fixtures && (db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM docs').get()?.n ?? 0) === 0) {
    db.transaction(() => {
      for (const [collection, docs] of Object.entries(fixtures)) for (const doc of docs) upsert.run(collection, doc.id, JSON.stringify(doc));
    })();
  }
  const mutate = db.transaction((entry: Omit<LedgerEntry, 'seq' | 'result' | 'outcome'>, idempotent: boolean, fn: () => unknown) => {
    const record = (result: unknown, outcome: LedgerEntry['outcome']) =>
      append.run(entry.tool, JSON.stringify(entry.args ?? null), JSON.stringify(result ?? null), entry.idempotencyKey, entry.runId, entry.step, entry.at, outcome);
    const seen = idempotent ? findKey.get(`${entry.tool}|${entry.idempotencyKey}`) : undefined;
    if (seen) {
      record(JSON.parse(seen.result), 'repeated');
      return JSON.parse(seen.result) as unknown;
    }
    const result = fn();
    record(result, 'performed');
    if (idempotent) saveKey.run(`${entry.tool}|${entry.idempotencyKey}`, JSON.stringify(result ?? null));
    return result;
  });
  return {
    list: (collection) => all.all(collection).map((row) => JSON.parse(row.doc) as WorldDoc),
    get: (collection, id) => {
      const row = one.get(collection, id);
      return row ? (JSON.parse(row.doc) as WorldDoc) : undefined;
    },
    put: (collection, doc) => void upsert.run(collection, doc.id, JSON.stringify(doc)),
    remove: (collection, id) => del.run(collection, id).changes > 0,
    mutate: (entry, idempotent, fn) => mutate.immediate(entry, idempotent, fn),
    ledger: () =>
      entries.all().map((row) => ({
        seq: Number(row.seq),
        tool: String(row.tool),
        args: JSON.parse(String(row.args)) as unknown,
        result: JSON.parse(String(row.result)) as unknown,
        idempotencyKey: String(row.idempotency_key),
        runId: String(row.run_id),
        step: String(row.step),
        at: Number(row.at),
        outcome: row.outcome as LedgerEntry['outcome'],
      })),
    count: (name) => bump.get(name)!.n,
    close: () => db.close(),
  };
}
