import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Config } from '../config/schema.js';
import type { KeyRecord, Stores } from '../store/interfaces.js';
import { Admission } from './admission.js';
import { createBudgetAlerts } from './budget-alerts.js';
import { LaneGate } from './lane-gate.js';
import type { LimitStore } from './limit-store.js';
import { MemoryLimitStore } from './memory-limit-store.js';
import { PrincipalDirectory } from './principal-chain.js';

/** Tenancy as the server uses it. */
export interface Tenancy {
  admission: Admission;
  directory: PrincipalDirectory;
  limits: LimitStore;
  /** Deployment capacity by lane (queue depths for metrics and the dashboard). */
  lanes: LaneGate;
  /** Wraps key authentication so routes see each key with its chain's allow-list (and the chain is cached). */
  resolveKey(record: KeyRecord | undefined): Promise<KeyRecord | undefined>;
}

const LEVEL_KINDS = ['org', 'team', 'user', 'key'] as const;

/**
 * Loads this month's and today's committed spend per principal from the ledger, so a restart
 * does not hand every budget back (the memory LimitStore starts empty).
 */
async function seedSpendFromLedger(stores: Stores, limits: LimitStore, admission: Admission, now: number): Promise<void> {
  const calendar = admission.budgetCalendar;
  const periods = calendar.at(now);
  const monthStart = calendar.monthStart(now);
  const dayStart = calendar.dayStart(now);
  for (const kind of LEVEL_KINDS) {
    const [month, day] = await Promise.all([
      stores.ledger.usage({ since: monthStart, groupBy: [kind] }),
      stores.ledger.usage({ since: dayStart, groupBy: [kind] }),
    ]);
    const daily = new Map(day.map((row) => [row.group[kind], row.costMicros]));
    for (const row of month) {
      const id = row.group[kind];
      if (id === null || id === undefined || row.costMicros === 0) continue;
      await limits.seedSpend(`${kind}:${id}`, periods, daily.get(id) ?? 0, row.costMicros);
    }
  }
}

/** Builds tenancy for one process: memory limits, cached principal chains, lanes and alerts. */
export async function createTenancy(options: { config: Config; stores: Stores; clock: Clock; logger: Logger; limits?: LimitStore | undefined }): Promise<Tenancy> {
  const { config, stores, clock, logger } = options;
  // The shared (Redis) store when replicas share limits; else in process.
  const limits = options.limits ?? new MemoryLimitStore();
  const directory = new PrincipalDirectory(stores.principals, clock, { ttlMs: config.tenancy.cacheTtlMs, softThreshold: config.tenancy.softThreshold });
  const lanes = new LaneGate(config.lanes, clock);
  const admission = new Admission({
    limits,
    directory,
    lanes,
    clock,
    tenancy: config.tenancy,
    onSoftCrossing: createBudgetAlerts({ config: config.tenancy, logger, clock }),
    onError: (err) => logger.error({ err }, 'limit store settle failed'),
  });
  await seedSpendFromLedger(stores, limits, admission, clock.now());
  return {
    admission,
    directory,
    limits,
    lanes,
    resolveKey: async (record) => (record && record.kind === 'virtual' ? directory.resolve(record) : record),
  };
}
