import { systemClock, type Clock } from '../core/clock.js';
import type { CallContext, ProviderAdapter } from '../core/provider.js';
import type { CanonicalRequest, CanonicalResponse, EmbeddingRequest, EmbeddingResponse, StreamPart } from '../core/types.js';
import { collectSimResponse } from './sim-collect.js';
import { createSimEngine, type SimEngine, type SimPlanOptions } from './sim-engine.js';
import type { SimJournalEntry } from './sim-journal.js';
import { SIM_MODEL_NAMES } from './sim-models.js';
import { runSimEmbeddingsPlan, runSimPlan } from './sim-runner.js';
import type { SimScriptResolver } from './sim-script.js';

/** Options of {@link createSimAdapter}. */
export interface SimAdapterOptions {
  /** The provider name in config, e.g. `sim`. */
  id: string;
  seed: number;
  /** Multiplies simulated latencies; 0 answers instantly (fault delays stay absolute). */
  timeScale: number;
  /** The clock for journal times; call timing always uses `ctx.clock`. */
  clock?: Clock;
  /** Share an engine (fault counters, journal) with a server or another adapter. */
  engine?: SimEngine;
  scripts?: SimScriptResolver;
}

/** The in-process simulated provider, with its journal for counting upstream attempts. */
export interface SimAdapter extends ProviderAdapter {
  readonly engine: SimEngine;
  /** Every call so far, oldest first. */
  getJournal(): SimJournalEntry[];
  clearJournal(): void;
}

function header(ctx: CallContext, name: string): string | undefined {
  for (const [key, value] of Object.entries(ctx.headers ?? {})) if (key.toLowerCase() === name) return value;
  return undefined;
}

/**
 * Creates the in-process `sim` adapter (SPEC SIM-8, SIM-10). Faults come from
 * `ctx.headers['x-sim-fault']` or an `@fault` suffix on the upstream or requested model; they
 * surface as the errors a real adapter would throw, with delays on `ctx.clock`. `generate` plays
 * the same timeline as `stream` (headers at once, then TTFT and tokens), so the first-token, idle
 * and total timeouts apply to both; `hang` is bounded by the headers timeout.
 */
export function createSimAdapter(options: SimAdapterOptions): SimAdapter {
  const clock = options.clock ?? systemClock;
  const engine = options.engine ?? createSimEngine({ seed: options.seed, now: () => clock.now(), scripts: options.scripts });
  const id = options.id;

  function planOptions(ctx: CallContext): SimPlanOptions {
    return {
      model: ctx.upstreamModel,
      faultSpec: header(ctx, 'x-sim-fault'),
      requestId: ctx.requestId,
      timeScale: options.timeScale,
      scenario: header(ctx, 'x-sim-scenario'),
    };
  }

  // A generator, so a bad fault spec or unknown model rejects the first `next()` like any
  // other stream failure instead of throwing from `stream()` itself.
  async function* stream(request: CanonicalRequest, ctx: CallContext): AsyncGenerator<StreamPart> {
    const plan = engine.plan({ ...request, stream: true }, planOptions(ctx));
    plan.journal.time = ctx.clock.now();
    yield* runSimPlan(plan, ctx, id);
  }

  async function generate(request: CanonicalRequest, ctx: CallContext): Promise<CanonicalResponse> {
    const plan = engine.plan({ ...request, stream: false }, planOptions(ctx));
    plan.journal.time = ctx.clock.now();
    const parts: StreamPart[] = [];
    for await (const part of runSimPlan(plan, ctx, id)) parts.push(part);
    return collectSimResponse(parts, Math.floor(ctx.clock.now() / 1000));
  }

  async function embed(request: EmbeddingRequest, ctx: CallContext): Promise<EmbeddingResponse> {
    const plan = engine.planEmbeddings(request, planOptions(ctx));
    plan.journal.time = ctx.clock.now();
    return runSimEmbeddingsPlan(plan, ctx, id);
  }

  return {
    id,
    engine,
    stream,
    generate,
    embed,
    async listModels() {
      return [...SIM_MODEL_NAMES];
    },
    getJournal: () => engine.getJournal(),
    clearJournal: () => engine.clearJournal(),
  };
}
