import type { WorldDoc } from './load-scenario.js';
import type { EffectAssertion, Scenario, WorldAssertion } from './scenario-schema.js';
import { matches } from './world-tools.js';
import type { LedgerEntry, WorldStore } from './world-store.js';

/** What a trial ended with, as the assertions see it. */
export interface TrialOutcome {
  status: string;
  error?: unknown;
  steps: number;
  costMicros: number;
}

function describe(filter: Record<string, unknown> | undefined): string {
  return filter ? ` where ${JSON.stringify(filter)}` : '';
}

function checkEffects(assertion: EffectAssertion, ledger: readonly LedgerEntry[]): string[] {
  const effects = ledger.filter((entry) => entry.outcome === 'performed' && entry.tool === assertion.tool && matches(entry.args as Record<string, unknown>, assertion.where));
  const what = `${assertion.tool}${describe(assertion.where)}`;
  const keys = () => effects.map((e) => e.idempotencyKey).join(', ');
  const failures: string[] = [];
  if (assertion.exactly !== undefined && effects.length !== assertion.exactly) failures.push(`expected exactly ${assertion.exactly} × ${what}, ledger has ${effects.length} (keys: ${keys() || 'none'})`);
  if (assertion.atMost !== undefined && effects.length > assertion.atMost) failures.push(`expected at most ${assertion.atMost} × ${what}, ledger has ${effects.length}`);
  if (assertion.atLeast !== undefined && effects.length < assertion.atLeast) failures.push(`expected at least ${assertion.atLeast} × ${what}, ledger has ${effects.length}`);
  if (assertion.uniqueBy) {
    const seen = new Map<string, number>();
    for (const effect of effects) {
      const value = JSON.stringify((effect.args as Record<string, unknown>)?.[assertion.uniqueBy]);
      seen.set(value, (seen.get(value) ?? 0) + 1);
    }
    const repeated = [...seen].filter(([, n]) => n > 1);
    if (repeated.length > 0) failures.push(`${what}: ${assertion.uniqueBy} not unique: ${repeated.map(([value, n]) => `${value} × ${n}`).join(', ')}`);
  }
  return failures;
}

function checkWorld(assertion: WorldAssertion, world: WorldStore): string[] {
  const where = `${assertion.collection}${assertion.id ? `/${assertion.id}` : ''}`;
  const docs = assertion.id ? [world.get(assertion.collection, assertion.id)].filter((d): d is WorldDoc => d !== undefined) : world.list(assertion.collection).filter((d) => matches(d, assertion.where));
  const failures: string[] = [];
  if (assertion.exists !== undefined && (docs.length > 0) !== assertion.exists) failures.push(`expected ${where}${describe(assertion.where)} to ${assertion.exists ? 'exist' : 'be gone'}`);
  if (assertion.count !== undefined && docs.length !== assertion.count) failures.push(`expected ${assertion.count} × ${where}${describe(assertion.where)}, found ${docs.length}`);
  if (assertion.expect) {
    for (const doc of docs) if (!matches(doc, assertion.expect)) failures.push(`${assertion.collection}/${doc.id}: expected ${JSON.stringify(assertion.expect)}, found ${JSON.stringify(doc)}`);
    if (assertion.id && docs.length === 0) failures.push(`${where} is missing`);
  }
  return failures;
}

/** Documents changed, removed or added in `collection` that did not match `where` at the start. */
function collateral(collection: string, where: Record<string, unknown>, start: readonly WorldDoc[], world: WorldStore): string[] {
  const before = new Map(start.map((doc) => [doc.id, doc]));
  const after = new Map(world.list(collection).map((doc) => [doc.id, doc]));
  const failures: string[] = [];
  for (const id of new Set([...before.keys(), ...after.keys()])) {
    const old = before.get(id);
    const now = after.get(id);
    if (JSON.stringify(old) === JSON.stringify(now) || matches(old, where)) continue;
    const change = !now ? 'deleted' : !old ? 'created' : 'changed';
    failures.push(`collateral damage: ${collection}/${id} ${change} but it did not match ${JSON.stringify(where)} (was ${JSON.stringify(old ?? null)})`);
  }
  return failures;
}

/** Every failed success criterion of a scenario, as one readable line each (none = pass). */
export function checkAssertions(scenario: Scenario, fixtures: Record<string, readonly WorldDoc[]>, world: WorldStore, outcome: TrialOutcome): string[] {
  const { assertions } = scenario;
  const ledger = world.ledger();
  const failures: string[] = [];
  if (outcome.status !== assertions.status) failures.push(`run ${outcome.status}, expected ${assertions.status}${outcome.error ? `: ${JSON.stringify(outcome.error)}` : ''}`);
  for (const assertion of assertions.effects) failures.push(...checkEffects(assertion, ledger));
  for (const assertion of assertions.world) failures.push(...checkWorld(assertion, world));
  for (const { collection, where } of assertions.untouchedOutside) failures.push(...collateral(collection, where, fixtures[collection] ?? [], world));
  if (assertions.maxSteps !== undefined && outcome.steps > assertions.maxSteps) failures.push(`${outcome.steps} steps, at most ${assertions.maxSteps} allowed`);
  if (assertions.maxCostMicros !== undefined && outcome.costMicros > assertions.maxCostMicros) failures.push(`cost ${outcome.costMicros} µ$, at most ${assertions.maxCostMicros} allowed`);
  return failures;
}
