import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { CanonicalRequest, ContentPart, FinishReason, Message, Usage } from '../core/types.js';
import type { Gateway, RequestContext } from '../gateway/gateway.js';
import type { KeyRecord, RequestRecord, RunRecord } from '../store/interfaces.js';
import type { LlmRequest, LlmResult, StepContext } from './define-agent.js';
import type { StepOutcome } from './step-engine.js';

/** What an LLM step needs from its execution. */
export interface LlmStepDeps {
  gateway: () => Gateway;
  /** The run creator's key: the call is made, limited and billed as it (SPEC LR-11, LR-16). */
  key: () => Promise<KeyRecord>;
  clock: Clock;
  run: RunRecord;
  /** Publishes a provisional run event. */
  emit: (type: string, fields: Record<string, unknown>) => void;
  /** Text produced so far by the call in flight, for a cancel's partial output. */
  partial: { step?: string; text: string };
}

function toMessage(message: LlmRequest['messages'][number]): Message {
  const content: ContentPart[] = typeof message.content === 'string' ? [{ type: 'text', text: message.content }] : message.content;
  return { role: message.role, content };
}

function toCanonical(request: LlmRequest): CanonicalRequest {
  const canonical: CanonicalRequest = { model: request.model, messages: request.messages.map(toMessage), stream: true, includeUsage: true };
  if (request.maxTokens !== undefined) canonical.maxTokens = request.maxTokens;
  if (request.temperature !== undefined) canonical.temperature = request.temperature;
  if (request.tools) canonical.tools = request.tools;
  if (request.responseFormat) canonical.responseFormat = request.responseFormat;
  return canonical;
}

/**
 * One live attempt of `ctx.llm`: a streamed call through the gateway pipeline (limits, routing,
 * resilience, ledger) as the run's key, tagged with run, step and root request; its text deltas
 * become provisional `llm.delta` events. The run's signal aborts the upstream on cancel.
 */
export async function callLlm(deps: LlmStepDeps, request: LlmRequest, stepKey: string, context: StepContext): Promise<StepOutcome> {
  const requestId = newId('req');
  let record: RequestRecord | undefined;
  const ctx: RequestContext = {
    requestId,
    key: await deps.key(),
    dialect: 'openai-chat',
    endpoint: '/v1/runs',
    signal: context.signal,
    receivedAt: performance.now(),
    receivedAtMs: deps.clock.now(),
    upstreamHeaders: { 'x-request-id': requestId },
    tags: { run: deps.run.id, step: stepKey, root_request: deps.run.requestId },
    onRecord: (r) => (record = r),
  };
  const session = await deps.gateway().stream(toCanonical(request), ctx);
  const abort = () => session.abort(context.signal.reason);
  context.signal.addEventListener('abort', abort, { once: true });
  deps.partial.step = stepKey;
  deps.partial.text = '';
  const toolCalls: LlmResult['toolCalls'] = [];
  let finishReason: FinishReason = 'other';
  let usage: Usage = { inputTokens: 0, outputTokens: 0 };
  try {
    for await (const part of session.parts) {
      if (part.type === 'text-delta') {
        deps.partial.text += part.text;
        deps.emit('llm.delta', { step: stepKey, text: part.text });
      } else if (part.type === 'tool-call-start') {
        toolCalls[part.index] = { id: part.id, name: part.name, arguments: '' };
      } else if (part.type === 'tool-call-delta') {
        const call = toolCalls[part.index];
        if (call) call.arguments += part.argumentsDelta;
      } else if (part.type === 'usage') {
        usage = part.usage;
      } else if (part.type === 'finish') {
        finishReason = part.finishReason;
        if (part.usage) usage = part.usage;
      } else if (part.type === 'error') {
        throw part.error;
      }
    }
  } finally {
    context.signal.removeEventListener('abort', abort);
  }
  if (context.signal.aborted) throw context.signal.reason ?? new BreakwaterError('cancelled', 'the LLM call was aborted');
  const ledger = record as RequestRecord | undefined;
  const costMicros = ledger?.costMicros ?? 0;
  // In the step journal with the result, and in the step's usage: the run turns cold only when the step commits.
  const cold = session.cold ? { cold: true as const, initMs: ledger?.initMs ?? 0 } : {};
  const result: LlmResult = { text: deps.partial.text, toolCalls: toolCalls.filter(Boolean), finishReason, usage, costMicros, servedBy: session.servedBy, requestId, ...cold };
  deps.partial.text = '';
  deps.partial.step = undefined;
  return { output: result, usage: { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, costMicros, ...cold } };
}
