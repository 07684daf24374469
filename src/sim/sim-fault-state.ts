import type { SimFault } from './sim-fault.js';
import { hashValues } from './sim-hash.js';

/** Kinds that replace the answer entirely; the first one that fires wins. */
const TERMINAL_KINDS: ReadonlySet<SimFault['kind']> = new Set(['http', 'reset', 'hang', 'context-length', 'content-policy']);

/** True for faults that replace the whole answer (errors, reset, hang). */
export function isTerminalFault(fault: SimFault): boolean {
  return TERMINAL_KINDS.has(fault.kind);
}

/**
 * Decides which faults fire, with counters per (model, fault spec): `times=N` fires on the first N
 * matching requests, `p=x` rolls seeded dice numbered by the request's position, so a seed replays
 * the same pattern in the same call order.
 */
export interface SimFaultState {
  /** The faults that fire for this request, in the order given. */
  select(faults: readonly SimFault[], model: string): SimFault[];
  /** Forgets every counter. */
  reset(): void;
}

/** Fault counters for one engine. */
export function createSimFaultState(seed: number): SimFaultState {
  let counters = new Map<string, { seen: number; fired: number }>();
  return {
    select(faults, model) {
      return faults.filter((fault) => {
        const key = `${model}|${fault.spec}`;
        const counter = counters.get(key) ?? { seen: 0, fired: 0 };
        counters.set(key, counter);
        const roll = hashValues(seed, 'fault-dice', key, counter.seen++) / 2 ** 32;
        const fires = (fault.p === undefined || roll < fault.p) && (fault.times === undefined || counter.fired < fault.times);
        if (fires) counter.fired++;
        return fires;
      });
    },
    reset() {
      counters = new Map();
    },
  };
}
