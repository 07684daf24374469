import { BreakwaterError, isBreakwaterError, upstreamHttpError } from '../core/errors.js';
import type { CallContext } from '../core/provider.js';
import type { EmbeddingResponse, StreamPart } from '../core/types.js';
import type { SimEmbeddingsCallPlan } from './sim-engine.js';
import type { SimAnswerPlan, SimPlan } from './sim-plan.js';
import { firstTokenIndex, isSimContentPart } from './sim-plan.js';
import type { SimJournalEntry } from './sim-journal.js';

type TimeoutReason = 'headers_timeout' | 'first_token_timeout' | 'idle_timeout' | 'total_timeout';

/**
 * Waits on the call's clock the way a real client would see the wire: `ms` of silence, unless a
 * timeout (`limitMs`, or the attempt's total deadline) passes first, in which case it waits
 * exactly until that moment and throws `upstream_timeout`. `Infinity` means silence forever.
 */
class SimWaiter {
  private readonly deadline: number;

  constructor(
    private readonly ctx: CallContext,
    private readonly provider: string,
  ) {
    this.deadline = ctx.clock.now() + ctx.timeouts.totalMs;
  }

  async wait(ms: number, limitMs: number, reason: TimeoutReason): Promise<void> {
    const left = this.deadline - this.ctx.clock.now();
    const allowed = Math.min(limitMs, left);
    if (ms <= allowed) {
      if (ms > 0) await this.sleep(ms);
      return;
    }
    await this.sleep(Math.max(0, allowed));
    const why = limitMs <= left ? reason : 'total_timeout';
    const limit = why === 'total_timeout' ? this.ctx.timeouts.totalMs : limitMs;
    throw new BreakwaterError('upstream_timeout', `simulated upstream ${why.replace('_', ' ')}: nothing within ${limit} ms`, {
      provider: this.provider,
      reason: why,
    });
  }

  private async sleep(ms: number): Promise<void> {
    try {
      await this.ctx.clock.sleep(ms, this.ctx.signal);
    } catch (error) {
      throw abortError(error, this.provider);
    }
  }
}

function abortError(error: unknown, provider: string): BreakwaterError {
  if (isBreakwaterError(error)) return error;
  return new BreakwaterError('upstream_error', 'the simulated call was aborted', { provider, reason: 'aborted', cause: error });
}

/** The error an in-process caller sees for a plan that is not an answer. */
function failureOf(plan: Exclude<SimPlan, SimAnswerPlan>, provider: string): BreakwaterError | undefined {
  if (plan.kind === 'reset') {
    return new BreakwaterError('upstream_error', 'simulated connection reset before headers', { provider, reason: 'connection_reset' });
  }
  if (plan.kind !== 'http-error') return undefined;
  if (plan.errorCode) return new BreakwaterError(plan.errorCode, plan.message, { provider, upstreamStatus: plan.status });
  return upstreamHttpError(plan.status, plan.message, { provider, retryAfterMs: plan.retryAfterMs });
}

function record(entry: SimJournalEntry, error: BreakwaterError): void {
  if (error.details.reason === 'aborted') entry.outcome = 'aborted';
  else if (error.code === 'upstream_timeout') entry.outcome = 'timeout';
  entry.error = error.code;
}

/**
 * Plays a plan in process as canonical behaviour (SPEC SIM-10): errors are thrown as the adapter
 * contract says, delays run on `ctx.clock` so a ManualClock drives them, and the attempt's
 * timeouts fire at exactly their deadline. There is no wire, so `omitTerminator` changes nothing:
 * the stream still ends with usage and finish, as an adapter does for a stream that ends without
 * its terminator.
 */
export async function* runSimPlan(plan: SimPlan, ctx: CallContext, provider: string): AsyncGenerator<StreamPart> {
  try {
    if (ctx.signal.aborted) throw abortError(ctx.signal.reason, provider);
    const waiter = new SimWaiter(ctx, provider);
    if (plan.kind !== 'answer') {
      const failure = failureOf(plan, provider);
      if (failure) throw failure;
      await waiter.wait(Infinity, ctx.timeouts.headersMs, 'headers_timeout');
      return;
    }
    yield* playAnswer(plan, ctx, waiter, provider);
  } catch (error) {
    const failure = abortError(error, provider);
    record(plan.journal, failure);
    throw failure;
  }
}

async function* playAnswer(plan: SimAnswerPlan, ctx: CallContext, waiter: SimWaiter, provider: string): AsyncGenerator<StreamPart> {
  let chunks = 0;
  const afterChunk = async () => {
    if (plan.cutAfterChunks === chunks) {
      const message = `simulated connection reset after ${chunks} chunks`;
      throw new BreakwaterError('upstream_error', message, { provider, reason: 'connection_reset' });
    }
    if (plan.stallAfterChunks === chunks) await waiter.wait(Infinity, ctx.timeouts.idleMs, 'idle_timeout');
  };
  const first = firstTokenIndex(plan.parts);
  for (let i = 0; i < plan.parts.length; i++) {
    const part = plan.parts[i]!;
    if (i === first) await waiter.wait(plan.timing[i]!, ctx.timeouts.firstTokenMs, 'first_token_timeout');
    else if (i > first) await waiter.wait(plan.timing[i]!, ctx.timeouts.idleMs, 'idle_timeout');
    const content = isSimContentPart(part);
    if (content && plan.malformedAtChunk === chunks + 1) {
      throw new BreakwaterError('upstream_error', `simulated malformed chunk ${chunks + 1}`, { provider, reason: 'malformed_chunk' });
    }
    yield part;
    if (content) chunks++;
    // Wire faults count from the headers: `after=0` fires before the first content chunk.
    if (i === first - 1 || content) await afterChunk();
  }
}

/** Plays an embeddings plan in process: the answer after its delay, or the planned failure. */
export async function runSimEmbeddingsPlan(
  plan: SimEmbeddingsCallPlan,
  ctx: CallContext,
  provider: string,
): Promise<EmbeddingResponse> {
  try {
    if (ctx.signal.aborted) throw abortError(ctx.signal.reason, provider);
    const waiter = new SimWaiter(ctx, provider);
    if (plan.kind === 'embeddings') {
      await waiter.wait(plan.delayMs, ctx.timeouts.headersMs, 'headers_timeout');
      return plan.response;
    }
    const failure = failureOf(plan, provider);
    if (failure) throw failure;
    await waiter.wait(Infinity, ctx.timeouts.headersMs, 'headers_timeout');
    throw new BreakwaterError('internal_error', 'unreachable: an endless wait returned');
  } catch (error) {
    const failure = abortError(error, provider);
    record(plan.journal, failure);
    throw failure;
  }
}
