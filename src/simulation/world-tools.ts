import { setTimeout as delay } from 'node:timers/promises';
import type { ToolContext, ToolFunction } from '../runs/define-agent.js';
import { hashValues } from '../sim/sim-hash.js';
import type { WorldDoc } from './load-scenario.js';
import type { Scenario, ToolFault } from './scenario-schema.js';
import type { WorldStore } from './world-store.js';

/** How the fakes of one episode behave. */
export interface WorldToolOptions {
  scenario: Scenario;
  world: WorldStore;
  /** Seeds the fault dice with the trial, so a seed replays the same pattern. */
  seed: number;
  /** Called right after a mutating tool performed its effect (the crash hook of worker processes). */
  afterEffect?: (tool: string) => void;
  now?: () => number;
}

type Args = Record<string, unknown>;

function fail(message: string, status = 400, retryable = false): never {
  throw Object.assign(new Error(message), { status, retryable });
}

function text(args: Args, field: string, tool: string): string {
  const value = args?.[field];
  if (typeof value !== 'string' || value === '') fail(`${tool} needs a string "${field}"`);
  return value;
}

export function matches(doc: Record<string, unknown> | undefined, filter: Record<string, unknown> | undefined): boolean {
  if (!filter) return true;
  if (!doc) return false;
  return Object.entries(filter).every(([field, value]) => JSON.stringify(doc[field]) === JSON.stringify(value));
}

function fires(fault: ToolFault, call: number, seed: number): boolean {
  if (fault.nth) return fault.nth.includes(call);
  if (fault.times !== undefined && call > fault.times) return false;
  return fault.p === undefined || hashValues(seed, 'tool-fault', fault.tool, fault.kind, call) / 2 ** 32 < fault.p;
}

/**
 * The built-in fakes of SPEC SIM-12 bound to one world: `email.send`, `payment.charge`,
 * `payment.refund`, `records.*` and `http.fetch`. Every mutating call goes through the ledger
 * with its idempotency key (`runId:stepKey` from the runtime), so a repeated key after a crash
 * returns the first answer like a real payment API; tool faults of the scenario apply first.
 */
export function createWorldTools(options: WorldToolOptions): Record<string, ToolFunction> {
  const { scenario, world, seed } = options;
  const now = options.now ?? Date.now;
  const idempotent = scenario.tools.idempotent;
  const mutating = (tool: string, args: Args, context: ToolContext, fn: () => unknown) => {
    const result = world.mutate({ tool, args, idempotencyKey: context.idempotencyKey, runId: context.runId, step: context.stepKey, at: now() }, idempotent, fn);
    options.afterEffect?.(tool);
    return result;
  };
  const collectionOf = (args: Args, tool: string) => (typeof args?.collection === 'string' ? args.collection : fail(`${tool} needs a "collection"`));
  const existing = (args: Args, tool: string): [string, WorldDoc] => {
    const collection = collectionOf(args, tool);
    const doc = world.get(collection, text(args, 'id', tool));
    if (!doc) fail(`${tool}: no ${collection} "${String(args.id)}"`, 404);
    // A precondition, like an HTTP If-Match: the change applies only while the document still matches.
    if (args.ifMatch && !matches(doc, args.ifMatch as Args)) fail(`${tool}: ${collection} "${doc.id}" no longer matches ifMatch`, 412);
    return [collection, doc];
  };
  const tools: Record<string, (args: Args, context: ToolContext, stale: (docs: WorldDoc[]) => WorldDoc[]) => unknown> = {
    'email.send': (args, context) => {
      const to = text(args, 'to', 'email.send');
      if (!to.includes('@')) fail('email.send needs a "to" address');
      return mutating('email.send', args, context, () => {
        const sent = { id: `msg_${world.list('outbox').length + 1}`, to, subject: args.subject ?? '', body: args.body ?? '' };
        world.put('outbox', sent);
        return { messageId: sent.id, to };
      });
    },
    'payment.charge': (args, context) => payment('payment.charge', 'charges', args, context),
    'payment.refund': (args, context) => payment('payment.refund', 'refunds', args, context),
    'records.list': (args, _context, stale) => stale(world.list(collectionOf(args, 'records.list'))).filter((doc) => matches(doc, args.where as Args | undefined)),
    'records.get': (args, _context, stale) => stale([existing(args, 'records.get')[1]])[0],
    'records.create': (args, context) => mutating('records.create', args, context, () => {
      const doc = { ...(args.doc as Args), id: text(args.doc as Args, 'id', 'records.create') } as WorldDoc;
      world.put(collectionOf(args, 'records.create'), doc);
      return doc;
    }),
    'records.update': (args, context) => mutating('records.update', args, context, () => {
      const [collection, doc] = existing(args, 'records.update');
      const next = { ...doc, ...(args.patch as Args), id: doc.id };
      world.put(collection, next);
      return next;
    }),
    'records.delete': (args, context) => mutating('records.delete', args, context, () => {
      const [collection, doc] = existing(args, 'records.delete');
      world.remove(collection, doc.id);
      return { id: doc.id, deleted: true };
    }),
    'http.fetch': (args, context) => {
      const method = typeof args.method === 'string' ? args.method.toUpperCase() : 'GET';
      const route = scenario.tools.http.find((r) => r.url === args.url && r.method.toUpperCase() === method);
      const answer = { status: route?.status ?? 404, body: route?.body ?? null };
      return method === 'GET' ? answer : mutating('http.fetch', args, context, () => answer);
    },
  };
  function payment(tool: string, collection: string, args: Args, context: ToolContext): unknown {
    const orderId = text(args, 'orderId', tool);
    if (!Number.isInteger(args.amountCents) || (args.amountCents as number) <= 0) fail(`${tool} needs a positive integer "amountCents"`);
    return mutating(tool, args, context, () => {
      const receipt = { id: `${collection.slice(0, 2)}_${world.list(collection).length + 1}`, orderId, amountCents: args.amountCents, status: 'succeeded' };
      world.put(collection, receipt);
      return receipt;
    });
  }
  const enabled = scenario.tools.enabled ?? Object.keys(tools);
  return Object.fromEntries(
    enabled.map((name) => {
      const impl = tools[name]!;
      const faults = scenario.faults.tools.filter((fault) => fault.tool === name);
      const bound: ToolFunction = async (args: Args, context) => {
        const call = faults.length > 0 ? world.count(`tool:${name}`) : 0;
        const firing = faults.filter((fault) => fires(fault, call, seed));
        let stale = (docs: WorldDoc[]) => docs;
        for (const fault of firing) {
          if (fault.kind === 'latency') await delay(fault.ms, undefined, { signal: context.signal });
          else if (fault.kind === 'error') fail(`${name}: simulated ${fault.status}`, fault.status, fault.status >= 500 || fault.status === 429);
          else stale = (docs) => docs.map((doc) => (fault.patch[doc.id] ? { ...doc, ...fault.patch[doc.id] } : doc));
        }
        return impl(args ?? {}, context, stale);
      };
      return [name, bound];
    }),
  );
}
