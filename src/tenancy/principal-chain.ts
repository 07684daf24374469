import type { Clock } from '../core/clock.js';
import type { KeyRecord, Lane, PrincipalPolicy, PrincipalRecord, PrincipalStore } from '../store/interfaces.js';
import type { LevelKind, LimitLevel } from './limit-store.js';

/**
 * A key with everything above it, compiled once per key and cached (SPEC §2.2 step 2): the
 * limit levels a request must fit, top down, and the effective allow-list and lane.
 */
export interface PrincipalChain {
  /** The key as routes see it: `allowedModels` is the intersection of every level's list. */
  key: KeyRecord;
  /** Levels with any limit or budget, org first; empty levels are left out so they cost nothing. */
  levels: readonly LimitLevel[];
  lane: Lane;
  /** Some level limits tokens: admission must estimate them. */
  needsTokens: boolean;
  /** Some level has a budget: admission must estimate cost. */
  needsCost: boolean;
}

function intersect(lists: Array<readonly string[] | undefined>): string[] | undefined {
  let result: string[] | undefined;
  for (const list of lists) {
    if (!list) continue;
    result = result ? result.filter((model) => list.includes(model)) : [...list];
  }
  return result;
}

function levelOf(kind: LevelKind, id: string, name: string, policy: PrincipalPolicy | undefined, softThreshold: number): LimitLevel | undefined {
  const limits = policy?.limits ?? {};
  const budgets = policy?.budgets ?? {};
  const limited = Object.values(limits).some((v) => v !== undefined) || budgets.dailyMicros !== undefined || budgets.monthlyMicros !== undefined;
  if (!limited) return undefined;
  return Object.freeze({
    id: `${kind}:${id}`,
    kind,
    name,
    limits: Object.freeze({ ...limits }),
    dailyMicros: budgets.dailyMicros,
    monthlyMicros: budgets.monthlyMicros,
    softThreshold: budgets.softThreshold ?? softThreshold,
  });
}

/** Compiles a key and its principals into a chain. */
export function compileChain(key: KeyRecord, principals: { org?: PrincipalRecord | undefined; team?: PrincipalRecord | undefined; user?: PrincipalRecord | undefined }, softThreshold: number): PrincipalChain {
  const { org, team, user } = principals;
  const levels: LimitLevel[] = [];
  for (const [kind, record] of [['org', org], ['team', team], ['user', user]] as const) {
    const level = record && levelOf(kind, record.id, record.name, record.policy, softThreshold);
    if (level) levels.push(level);
  }
  const own = levelOf('key', key.id, key.name, key.policy, softThreshold);
  if (own) levels.push(own);
  const allowed = intersect([org?.policy.allowedModels, team?.policy.allowedModels, user?.policy.allowedModels, key.allowedModels]);
  const effective = allowed === undefined ? key : Object.freeze({ ...key, allowedModels: allowed });
  return Object.freeze({
    key: effective,
    levels: Object.freeze(levels),
    lane: key.policy?.lane ?? 'interactive',
    needsTokens: levels.some((l) => l.limits.inputTpm !== undefined || l.limits.outputTpm !== undefined || l.dailyMicros !== undefined || l.monthlyMicros !== undefined),
    needsCost: levels.some((l) => l.dailyMicros !== undefined || l.monthlyMicros !== undefined),
  });
}

interface CachedChain {
  source: KeyRecord;
  chain: PrincipalChain;
  until: number;
}

/**
 * Principal chains per key, cached in process for `ttlMs` (the same bound as the key cache, so
 * an admin change reaches every replica within it) and dropped at once on a local admin change.
 */
export class PrincipalDirectory {
  private readonly byKey = new Map<string, CachedChain>();
  private readonly byRecord = new WeakMap<KeyRecord, PrincipalChain>();

  constructor(
    private readonly store: PrincipalStore,
    private readonly clock: Clock,
    private readonly options: { ttlMs: number; softThreshold: number },
  ) {}

  /** The key as routes should see it, its chain compiled (a store read only on a cache miss). */
  async resolve(key: KeyRecord): Promise<KeyRecord> {
    const now = this.clock.now();
    const cached = this.byKey.get(key.id);
    if (cached && cached.source === key && now < cached.until) return cached.chain.key;
    const chain = await this.load(key);
    this.byKey.set(key.id, { source: key, chain, until: now + this.options.ttlMs });
    this.byRecord.set(chain.key, chain);
    return chain.key;
  }

  /** The chain of a key `resolve` returned; a key it never saw gets a chain of its own policy only. */
  chainOf(key: KeyRecord): PrincipalChain {
    let chain = this.byRecord.get(key);
    if (!chain) {
      chain = compileChain(key, {}, this.options.softThreshold);
      this.byRecord.set(key, chain);
    }
    return chain;
  }

  /** Forgets every chain (after an admin change in this process). */
  invalidate(): void {
    this.byKey.clear();
  }

  private async load(key: KeyRecord): Promise<PrincipalChain> {
    const [org, team, user] = await Promise.all([
      key.orgId === undefined ? undefined : this.store.getPrincipal(key.orgId),
      key.teamId === undefined ? undefined : this.store.getPrincipal(key.teamId),
      key.userId === undefined ? undefined : this.store.getPrincipal(key.userId),
    ]);
    return compileChain(key, { org, team, user }, this.options.softThreshold);
  }
}
