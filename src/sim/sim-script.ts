import type { CanonicalRequest, FinishReason, JsonObject, JsonValue } from '../core/types.js';

/**
 * A scripted reply (SPEC SIM-9): what a matching script makes the model say instead of the
 * improvised answer. Any field left out is improvised; `fault` is a fault spec applied on top.
 */
export interface SimScriptedReply {
  text?: string;
  reasoning?: string;
  /** Serialised with JSON.stringify and sent as the text answer. */
  json?: JsonValue;
  toolCalls?: Array<{ name: string; arguments: JsonObject | string; id?: string }>;
  fault?: string;
  finishReason?: FinishReason;
}

/** What a script can match on besides the request itself. */
export interface SimScriptContext {
  /** The simulated model's name, without any fault suffix. */
  model: string;
  /** The `x-sim-scenario` header, when sent. */
  scenario?: string;
  /** 1 for the first assistant turn of the conversation, 2 for the next, … */
  turn: number;
}

/**
 * Finds the scripted reply for a request, or undefined to let the engine improvise. The scenario
 * layer (model, message regex, turn, tools, scenario matchers) builds one of these; the engine only
 * calls it.
 */
export type SimScriptResolver = (request: CanonicalRequest, context: SimScriptContext) => SimScriptedReply | undefined;

/** The assistant turn a request asks for: one more than the assistant messages so far. */
export function simTurnOf(request: CanonicalRequest): number {
  return request.messages.filter((message) => message.role === 'assistant').length + 1;
}
