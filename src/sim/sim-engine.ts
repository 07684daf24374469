import { BreakwaterError, isBreakwaterError } from '../core/errors.js';
import type { CanonicalRequest, EmbeddingRequest, EmbeddingResponse, Usage } from '../core/types.js';
import { buildSimContent, countContentTokens } from './sim-content.js';
import { simEmbedding } from './sim-embeddings.js';
import { simContentPolicyError, simContextLengthError, simStatusError, type SimDialect } from './sim-error-body.js';
import { parseSimFault, type SimFault } from './sim-fault.js';
import { createSimFaultState, isTerminalFault, type SimFaultState } from './sim-fault-state.js';
import { hexId, randomFor } from './sim-hash.js';
import { createSimJournal, type SimJournal, type SimJournalEntry } from './sim-journal.js';
import { getSimModel, SIM_MODEL_NAMES, splitSimModelName, type SimModel } from './sim-models.js';
import {
  buildAnswerParts,
  isSimContentPart,
  type SimAnswerPlan,
  type SimHangPlan,
  type SimHttpErrorPlan,
  type SimPlan,
  type SimResetPlan,
} from './sim-plan.js';
import { createSimPromptCache, type SimPromptCache } from './sim-prompt-cache.js';
import { simTurnOf, type SimScriptResolver } from './sim-script.js';
import { countPromptTokens, countSimTokens } from './sim-tokenizer.js';

/** Options of {@link createSimEngine}. */
export interface SimEngineOptions {
  seed: number;
  /** Time source for journal entries (defaults to Date.now). */
  now?: () => number;
  /** Scripted replies (SPEC SIM-9); without one every answer is improvised. */
  scripts?: SimScriptResolver;
}

/** Per-request inputs of a plan. */
export interface SimPlanOptions {
  /** The upstream model name, possibly with an `@fault` suffix; defaults to `request.model`. */
  model?: string;
  /** The `x-sim-fault` header. */
  faultSpec?: string;
  requestId?: string;
  /** Whose error shapes and headers to imitate (default `openai`). */
  dialect?: SimDialect;
  /** Multiplies model latencies; 0 = instant. Fault delays are absolute. Default 1. */
  timeScale?: number;
  /** The `x-sim-scenario` header, for scripts. */
  scenario?: string;
}

/** A successful embeddings plan: the answer and how long to wait before sending it. */
export interface SimEmbeddingsPlan {
  kind: 'embeddings';
  requestId: string;
  model: string;
  journal: SimJournalEntry;
  response: EmbeddingResponse;
  delayMs: number;
}

/** Whatever an embeddings call will get: vectors, an error, a reset or nothing. */
export type SimEmbeddingsCallPlan = SimEmbeddingsPlan | SimHttpErrorPlan | SimResetPlan | SimHangPlan;

/** The deterministic simulated provider: plans answers and faults, keeps fault counters and a journal. */
export interface SimEngine {
  readonly seed: number;
  /** Plans one chat call. Throws `invalid_request` for a bad fault spec, `model_not_found` for an unknown model. */
  plan(request: CanonicalRequest, options?: SimPlanOptions): SimPlan;
  /** Plans one embeddings call (terminal faults apply; answer faults do not). */
  planEmbeddings(request: EmbeddingRequest, options?: SimPlanOptions): SimEmbeddingsCallPlan;
  /** Runtime fault API: applies `spec` to every later call (of `model` only, when given). */
  setFaults(spec: string, scope?: { model?: string }): void;
  /** Removes runtime faults. */
  clearFaults(): void;
  /** Every call so far, oldest first. */
  getJournal(): SimJournalEntry[];
  clearJournal(): void;
  /** Forgets fault counters, the prompt cache, runtime faults and the journal. */
  reset(): void;
}

/** The mutable state of one engine; every planning function takes it first. */
interface EngineState {
  readonly seed: number;
  readonly now: () => number;
  readonly scripts: SimScriptResolver | undefined;
  readonly journal: SimJournal;
  readonly faultState: SimFaultState;
  readonly promptCache: SimPromptCache;
  scoped: Array<{ model?: string; faults: SimFault[] }>;
  calls: number;
}

interface ResolvedCall {
  model: Readonly<SimModel>;
  faults: SimFault[];
  requestId: string;
}

type PlanBase = Pick<SimAnswerPlan, 'requestId' | 'model' | 'journal'>;

/** Creates a simulation engine; everything it produces follows from the seed and the call order. */
export function createSimEngine(options: SimEngineOptions): SimEngine {
  const state: EngineState = {
    seed: options.seed,
    now: options.now ?? Date.now,
    scripts: options.scripts,
    journal: createSimJournal(),
    faultState: createSimFaultState(options.seed),
    promptCache: createSimPromptCache(),
    scoped: [],
    calls: 0,
  };
  return {
    seed: options.seed,
    plan: (request, opts = {}) => planChat(state, request, opts),
    planEmbeddings: (request, opts = {}) => planEmbeddings(state, request, opts),
    setFaults(spec, scope = {}) {
      state.scoped.push({ model: scope.model, faults: parseSimFault(spec) });
    },
    clearFaults() {
      state.scoped = [];
    },
    getJournal: () => state.journal.entries(),
    clearJournal: () => state.journal.clear(),
    reset() {
      state.scoped = [];
      state.faultState.reset();
      state.promptCache.reset();
      state.journal.clear();
    },
  };
}

function checkModel(name: string, endpoint: SimJournalEntry['endpoint']): Readonly<SimModel> {
  const model = getSimModel(name);
  if (!model) {
    const known = SIM_MODEL_NAMES.join(', ');
    throw new BreakwaterError('model_not_found', `unknown simulated model '${name}'; known: ${known}`, { param: 'model' });
  }
  if ((endpoint === 'embeddings') !== (model.kind === 'embedding')) {
    const what = model.kind === 'embedding' ? 'only serves embeddings' : 'does not serve embeddings';
    throw new BreakwaterError('invalid_request', `simulated model '${model.name}' ${what}`, { param: 'model' });
  }
  return model;
}

/**
 * Finds the model and gathers faults from the header, the upstream model's suffix, the requested
 * model's suffix and runtime scopes. A call that fails here is journaled as `invalid`.
 */
function resolveCall(
  state: EngineState,
  requestModel: string,
  stream: boolean,
  endpoint: SimJournalEntry['endpoint'],
  opts: SimPlanOptions,
): ResolvedCall {
  const requestId = opts.requestId ?? `sim_${hexId(32, state.seed, 'request', ++state.calls)}`;
  const upstream = splitSimModelName(opts.model ?? requestModel);
  const fromAlias = opts.model !== undefined ? splitSimModelName(requestModel).faultSpec : undefined;
  try {
    const model = checkModel(upstream.model, endpoint);
    // The same spec may arrive twice (a gateway passing the suffixed name as both models): count it once.
    const specs = new Set([opts.faultSpec, upstream.faultSpec, fromAlias].filter((spec): spec is string => Boolean(spec)));
    const faults = [...specs].flatMap((spec) => parseSimFault(spec));
    for (const entry of state.scoped) if (!entry.model || entry.model === model.name) faults.push(...entry.faults);
    return { model, faults, requestId };
  } catch (error) {
    const code = isBreakwaterError(error) ? error.code : 'internal_error';
    const model = upstream.model;
    state.journal.record({ time: state.now(), requestId, model, endpoint, stream, faults: [], outcome: 'invalid', error: code });
    throw error;
  }
}

/** Journals a call that passed validation as `ok`; the plan then corrects the outcome. */
function recordCall(
  state: EngineState,
  requestId: string,
  model: Readonly<SimModel>,
  endpoint: SimJournalEntry['endpoint'],
  stream: boolean,
  active: readonly SimFault[],
): PlanBase {
  const faults = active.map((fault) => fault.spec);
  const journal = state.journal.record({ time: state.now(), requestId, model: model.name, endpoint, stream, faults, outcome: 'ok', status: 200 });
  return { requestId, model: model.name, journal };
}

function terminalPlan(fault: SimFault, base: PlanBase, model: Readonly<SimModel>, dialect: SimDialect, inputTokens: number): SimPlan {
  if (fault.kind === 'reset' || fault.kind === 'hang') {
    base.journal.outcome = fault.kind;
    delete base.journal.status;
    return { kind: fault.kind, ...base };
  }
  const error =
    fault.kind === 'context-length'
      ? simContextLengthError(dialect, base.requestId, inputTokens, model.contextWindow)
      : fault.kind === 'content-policy'
        ? simContentPolicyError(dialect, base.requestId)
        : simStatusError(fault, dialect, base.requestId);
  base.journal.outcome = 'http_error';
  base.journal.status = error.status;
  return { kind: 'http-error', ...base, ...error };
}

function inputTokensOf(request: CanonicalRequest): number {
  const format = request.responseFormat;
  const schema = format?.type === 'json_schema' ? countSimTokens(JSON.stringify(format.schema)) : 0;
  return countPromptTokens(request.messages, request.tools) + schema;
}

function planChat(state: EngineState, request: CanonicalRequest, opts: SimPlanOptions): SimPlan {
  const { model, faults, requestId } = resolveCall(state, request.model, request.stream, 'chat', opts);
  const script = state.scripts?.(request, { model: model.name, scenario: opts.scenario, turn: simTurnOf(request) });
  if (script?.fault) faults.push(...parseSimFault(script.fault));
  const active = state.faultState.select(faults, model.name);
  const base = recordCall(state, requestId, model, 'chat', request.stream, active);
  const dialect = opts.dialect ?? 'openai';
  const inputTokens = inputTokensOf(request);
  const terminal = active.find(isTerminalFault) ?? (inputTokens > model.contextWindow ? CONTEXT_LENGTH : undefined);
  if (terminal) return terminalPlan(terminal, base, model, dialect, inputTokens);
  const toolCallPrefix = dialect === 'anthropic' ? 'toolu_' : 'call_';
  const content = buildSimContent({ request, model, seed: state.seed, callKey: requestId, faults: active, script, toolCallPrefix });
  const counted = countContentTokens(content);
  const usage: Usage = { inputTokens, outputTokens: counted.output, ...state.promptCache.usage(request, model.name) };
  if (model.reasoning) usage.reasoningTokens = counted.reasoning;
  // Timing follows from the content, not the call order, so concurrent runs replay identically.
  const said = content.toolCalls.map((call) => call.name + call.arguments).join();
  const { parts, timing } = buildAnswerParts({
    id: requestId,
    model,
    content,
    usage,
    random: randomFor('timing', state.seed, model.name, content.reasoning, content.text, said),
    timeScale: opts.timeScale ?? 1,
    firstTokenDelayMs: active.find((fault) => fault.kind === 'slow-first-token')?.ms,
    signature: `sim-signature-${hexId(32, state.seed, model.name, content.reasoning)}`,
  });
  const plan: SimAnswerPlan = { kind: 'answer', ...base, parts, timing };
  applyWireFaults(plan, active);
  return plan;
}

/** Over-long prompts fail like the context-length fault, as real providers refuse them. */
const CONTEXT_LENGTH: SimFault = Object.freeze({ kind: 'context-length', spec: 'context-length' });

function planEmbeddings(state: EngineState, request: EmbeddingRequest, opts: SimPlanOptions): SimEmbeddingsCallPlan {
  const resolved = resolveCall(state, request.model, false, 'embeddings', opts);
  const { model, requestId } = resolved;
  const active = state.faultState.select(resolved.faults, model.name).filter(isTerminalFault);
  const base = recordCall(state, requestId, model, 'embeddings', false, active);
  const counts = request.input.map((text) => countSimTokens(text));
  const longest = Math.max(0, ...counts);
  const terminal = active[0] ?? (longest > model.contextWindow ? CONTEXT_LENGTH : undefined);
  if (terminal) return terminalPlan(terminal, base, model, opts.dialect ?? 'openai', longest) as SimEmbeddingsCallPlan;
  const dimensions = request.dimensions ?? model.dimensions ?? 256;
  const response: EmbeddingResponse = {
    model: model.name,
    embeddings: request.input.map((text) => simEmbedding(text, dimensions)),
    usage: { inputTokens: counts.reduce((sum, n) => sum + n, 0) },
  };
  const random = randomFor('timing', state.seed, model.name, ...request.input);
  const delayMs = Math.round(model.ttftMs * (1 + model.jitter * (2 * random() - 1)) * (opts.timeScale ?? 1));
  return { kind: 'embeddings', ...base, response, delayMs };
}

/**
 * Turns stream faults into plan modifiers. Chunk counts past the end are clamped so the fault
 * still fires (a cut after 10 of 6 chunks dies before the finish); with no content at all there is
 * nothing to malform and `malformed` does nothing.
 */
function applyWireFaults(plan: SimAnswerPlan, active: readonly SimFault[]): void {
  const chunks = plan.parts.filter(isSimContentPart).length;
  for (const fault of active) {
    if (fault.kind === 'slow-first-token') plan.firstTokenDelayMs = fault.ms;
    if (fault.kind === 'cut') plan.cutAfterChunks ??= Math.min(fault.after ?? 0, chunks);
    if (fault.kind === 'stall') plan.stallAfterChunks ??= Math.min(fault.after ?? 0, chunks);
    if (fault.kind === 'malformed' && chunks > 0) plan.malformedAtChunk ??= Math.min(fault.at ?? 1, chunks);
    if (fault.kind === 'no-terminator') plan.omitTerminator = true;
  }
  // The journal names the wire fault the client meets first: a cut or stall after n chunks
  // happens after chunk n itself, so it loses a tie with a malformed chunk n.
  const candidates: Array<[number | undefined, SimJournalEntry['outcome']]> = [
    [plan.malformedAtChunk, 'malformed'],
    [plan.cutAfterChunks === undefined ? undefined : plan.cutAfterChunks + 0.5, 'cut'],
    [plan.stallAfterChunks === undefined ? undefined : plan.stallAfterChunks + 0.5, 'stall'],
  ];
  const first = candidates.filter(([at]) => at !== undefined).sort((a, b) => a[0]! - b[0]!)[0];
  if (first) plan.journal.outcome = first[1];
}
