import { openSqliteDatabase, type SqliteDatabase } from '../store/sqlite-database.js';
import type { ToolFunction } from './define-agent.js';

/** One effect a fake tool performed. */
export interface FakeEffect {
  tool: string;
  idempotencyKey: string;
  /** JSON of the arguments. */
  args: string;
  /** JSON of the answer. */
  result: string;
  at: number;
}

/** The outside world the fake tools change: effects by idempotency key, and every call made. */
export interface FakeEffectLedger {
  /** Performs `tool` once per idempotency key; a repeat gets the first answer. */
  perform(tool: string, idempotencyKey: string, args: unknown, produce: () => unknown): { result: unknown; repeated: boolean };
  effects(): FakeEffect[];
  /** Calls made, repeats included (a crash between a call and its checkpoint shows here, not in `effects`). */
  calls(): number;
  close(): void;
}

/**
 * A ledger shared by processes through a SQLite file (or in memory without a path), so a test can
 * SIGKILL a worker and still count what the "payment provider" saw. Like a real provider it
 * honours idempotency keys: the second charge with a key returns the first one's receipt.
 */
export function createFakeEffectLedger(path = ':memory:'): FakeEffectLedger {
  const db: SqliteDatabase = openSqliteDatabase(path);
  db.exec(`CREATE TABLE IF NOT EXISTS fake_effects (idempotency_key TEXT PRIMARY KEY, tool TEXT NOT NULL, args TEXT NOT NULL, result TEXT NOT NULL, at INTEGER NOT NULL);
           CREATE TABLE IF NOT EXISTS fake_calls (id INTEGER PRIMARY KEY AUTOINCREMENT, tool TEXT NOT NULL, idempotency_key TEXT NOT NULL, at INTEGER NOT NULL);`);
  const find = db.prepare<[string], { result: string }>('SELECT result FROM fake_effects WHERE idempotency_key = ?');
  const insert = db.prepare<[string, string, string, string, number]>('INSERT INTO fake_effects (idempotency_key, tool, args, result, at) VALUES (?, ?, ?, ?, ?)');
  const call = db.prepare<[string, string, number]>('INSERT INTO fake_calls (tool, idempotency_key, at) VALUES (?, ?, ?)');
  const all = db.prepare<[], { idempotency_key: string; tool: string; args: string; result: string; at: number }>('SELECT * FROM fake_effects ORDER BY at, idempotency_key');
  const count = db.prepare<[], { n: number }>('SELECT COUNT(*) AS n FROM fake_calls');
  const perform = db.transaction((tool: string, key: string, args: unknown, produce: () => unknown) => {
    const now = Date.now();
    call.run(tool, key, now);
    const existing = find.get(key);
    if (existing) return { result: JSON.parse(existing.result) as unknown, repeated: true };
    const result = produce();
    insert.run(key, tool, JSON.stringify(args ?? null), JSON.stringify(result ?? null), now);
    return { result, repeated: false };
  });
  return {
    perform: (tool, key, args, produce) => perform.immediate(tool, key, args, produce),
    effects: () => all.all().map((row) => ({ tool: row.tool, idempotencyKey: row.idempotency_key, args: row.args, result: row.result, at: row.at })),
    calls: () => count.get()!.n,
    close: () => db.close(),
  };
}

/** Arguments of the fake payment tools. */
export interface PaymentArgs {
  orderId: string;
  amountCents: number;
}

/** A fake payment provider: `payment.charge` and `payment.refund`, idempotent by key. */
export function createFakePaymentTools(ledger: FakeEffectLedger): Record<'payment.charge' | 'payment.refund', ToolFunction<PaymentArgs>> {
  const tool =
    (name: string, prefix: string): ToolFunction<PaymentArgs> =>
    (args, context) => {
      if (typeof args?.orderId !== 'string' || !Number.isInteger(args.amountCents) || args.amountCents <= 0) {
        throw Object.assign(new Error(`${name} needs { orderId: string, amountCents: positive integer }`), { retryable: false });
      }
      const { result } = ledger.perform(name, context.idempotencyKey, args, () => ({ id: `${prefix}_${context.idempotencyKey.replace(/[^A-Za-z0-9]/g, '').slice(-24)}`, ...args, status: 'succeeded' }));
      return result;
    };
  return { 'payment.charge': tool('payment.charge', 'ch'), 'payment.refund': tool('payment.refund', 're') };
}

/** Arguments of the fake email tool. */
export interface EmailArgs {
  to: string;
  subject: string;
  body: string;
}

/** A fake email sender: `email.send`, delivered once per idempotency key. */
export function createFakeEmailTool(ledger: FakeEffectLedger): Record<'email.send', ToolFunction<EmailArgs>> {
  return {
    'email.send': (args, context) => {
      if (typeof args?.to !== 'string' || !args.to.includes('@')) throw Object.assign(new Error('email.send needs a "to" address'), { retryable: false });
      return ledger.perform('email.send', context.idempotencyKey, args, () => ({ messageId: `msg_${context.idempotencyKey.replace(/[^A-Za-z0-9]/g, '').slice(-24)}`, to: args.to })).result;
    },
  };
}
