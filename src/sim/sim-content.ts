import type { Random } from '../core/clock.js';
import type { CanonicalRequest, FinishReason, JsonObject, ToolDefinition } from '../core/types.js';
import type { SimFault } from './sim-fault.js';
import { hexId, randomFor, randomInt } from './sim-hash.js';
import { generateFromJsonSchema } from './sim-json-schema.js';
import type { SimModel } from './sim-models.js';
import type { SimScriptedReply } from './sim-script.js';
import { REFUSAL_TEXT, simProse, simReasoning, simSentence, simWord } from './sim-text.js';
import { countSimTokens, splitSimTokens } from './sim-tokenizer.js';
import { applyOutputLimits } from './sim-limits.js';

/** A tool call the simulated model makes; `arguments` is JSON text exactly as "written". */
export interface SimToolCall {
  id: string;
  name: string;
  arguments: string;
}

/** What the simulated model answers, before it is cut into stream parts. */
export interface SimContent {
  reasoning: string;
  text: string;
  toolCalls: SimToolCall[];
  finishReason: FinishReason;
  /** The stop sequence that ended the text, when one did. */
  stopSequence?: string;
}

/** Inputs of {@link buildSimContent}. */
export interface SimContentInput {
  request: CanonicalRequest;
  model: Readonly<SimModel>;
  seed: number;
  /** Unique per call, so tool-call ids differ between calls with the same prompt. */
  callKey: string;
  /** Active content faults (empty, truncated, invalid-json, refusal, bad-tool-args). */
  faults: readonly SimFault[];
  script?: SimScriptedReply;
  /** Tool-call id prefix: `call_` (OpenAI) or `toolu_` (Anthropic). */
  toolCallPrefix?: string;
}

/** The text of the last user message: what the answer is "about". */
export function lastUserText(request: CanonicalRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!;
    if (message.role !== 'user') continue;
    const text = message.content.flatMap((part) => (part.type === 'text' ? [part.text] : []));
    if (text.length > 0) return text.join('\n');
  }
  return '';
}

/** The text of the tool results in the last message, or undefined when it carries none. */
function lastToolResultText(request: CanonicalRequest): string | undefined {
  const last = request.messages[request.messages.length - 1];
  if (!last) return undefined;
  const results = last.content.filter((part) => part.type === 'tool-result');
  if (last.role !== 'tool' && results.length === 0) return undefined;
  return results.map((part) => part.content.map((inner) => (inner.type === 'text' ? inner.text : '')).join('')).join('\n');
}

/** "Write 500 words …" asks for a long answer; the simulator takes the hint as a token count. */
function requestedLength(text: string, random: Random): number {
  const match = /(\d{1,6})\s*(?:words|tokens)\b/i.exec(text);
  return match ? Math.min(Number(match[1]), 200_000) : randomInt(random, 40, 160);
}

/** Decides what the model says: scripted, faulted, a tool call, JSON or prose; then applies limits. */
export function buildSimContent(input: SimContentInput): SimContent {
  const { request, model, seed } = input;
  const userText = lastUserText(request);
  const toolResult = lastToolResultText(request);
  const key = [seed, model.name, userText, request.seed, toolResult ?? ''] as const;
  const random = randomFor('content', ...key);
  const has = (kind: SimFault['kind']) => input.faults.some((fault) => fault.kind === kind);
  const script = input.script ?? {};
  const thinks = model.reasoning === true;
  const reasoning = script.reasoning ?? (thinks ? simReasoning(randomFor('reasoning', ...key), randomInt(random, 20, 60)) : '');
  const content: SimContent = { reasoning, text: '', toolCalls: [], finishReason: 'stop' };
  const badArgs = input.faults.find((fault) => fault.kind === 'bad-tool-args');
  // Faults about the text answer win over a tool call the model would otherwise make.
  const textFault = has('invalid-json') || has('truncated');
  if (script.toolCalls) {
    content.toolCalls = script.toolCalls.map((call, index) => ({
      id: call.id ?? toolCallId(input, index),
      name: call.name,
      arguments: typeof call.arguments === 'string' ? call.arguments : JSON.stringify(call.arguments),
    }));
  } else if (script.text !== undefined || script.json !== undefined) {
    content.text = script.text ?? JSON.stringify(script.json);
  } else if (has('refusal')) {
    content.text = REFUSAL_TEXT;
  } else if (has('empty')) {
    content.text = '';
  } else if (badArgs || (!textFault && wantsToolCall(request, toolResult !== undefined))) {
    content.toolCalls = [makeToolCall(input, random, badArgs?.mode)];
  } else {
    content.text = answerText(request, random, requestedLength(userText, random));
  }
  if (content.toolCalls.length > 0) content.finishReason = 'tool_calls';
  if (content.toolCalls.length === 0 && has('invalid-json')) content.text = breakJson(content.text);
  if (content.toolCalls.length === 0 && has('truncated')) truncateMidSentence(content, random);
  if (script.finishReason) content.finishReason = script.finishReason;
  return applyOutputLimits(content, request, model);
}

function wantsToolCall(request: CanonicalRequest, afterToolResult: boolean): boolean {
  const tools = request.tools ?? [];
  if (tools.length === 0 || request.toolChoice === 'none') return false;
  if (request.toolChoice === 'required' || typeof request.toolChoice === 'object') return true;
  return !afterToolResult && request.messages[request.messages.length - 1]?.role === 'user';
}

function toolCallId(input: SimContentInput, index: number): string {
  return `${input.toolCallPrefix ?? 'call_'}${hexId(24, input.seed, input.callKey, index)}`;
}

function chooseTool(request: CanonicalRequest, random: Random): ToolDefinition | undefined {
  const tools = request.tools ?? [];
  const choice = request.toolChoice;
  if (typeof choice === 'object') return tools.find((tool) => tool.name === choice.name) ?? { name: choice.name, parameters: {} };
  return tools.length > 0 ? tools[Math.floor(random() * tools.length)] : undefined;
}

function makeToolCall(input: SimContentInput, random: Random, badMode: 'json' | 'schema' | undefined): SimToolCall {
  const tool = chooseTool(input.request, random) ?? { name: 'unknown_tool', parameters: { type: 'object' } };
  const schema: JsonObject = tool.parameters.type === undefined ? { type: 'object', ...tool.parameters } : tool.parameters;
  let args = JSON.stringify(generateFromJsonSchema(schema, random));
  if (badMode === 'json') args = breakJson(args);
  if (badMode === 'schema') args = JSON.stringify(schemaViolatingArguments(schema));
  return { id: toolCallId(input, 0), name: tool.name, arguments: args };
}

/** Parses, but breaks the schema: every property gets the wrong type, plus one the schema lacks. */
function schemaViolatingArguments(schema: JsonObject): JsonObject {
  const out: JsonObject = {};
  const properties = (schema.properties ?? {}) as JsonObject;
  for (const [key, property] of Object.entries(properties)) {
    const type = (property as JsonObject | null)?.type;
    out[key] = type === 'string' ? 12345 : 'not-a-valid-value';
  }
  out.unexpected_argument = true;
  return out;
}

function answerText(request: CanonicalRequest, random: Random, length: number): string {
  const format = request.responseFormat;
  if (format?.type === 'json_schema') return JSON.stringify(generateFromJsonSchema(format.schema, random));
  if (format?.type === 'json_object') {
    const confidence = randomInt(random, 50, 99) / 100;
    return JSON.stringify({ answer: simSentence(random), confidence, topics: [simWord(random), simWord(random)] });
  }
  return simProse(random, length);
}

/** Valid-looking JSON that no parser accepts: the closing bracket replaced by a dangling comma. */
function breakJson(text: string): string {
  const json = /^\s*[[{]/.test(text) ? text : JSON.stringify({ answer: text || simSentence(randomFor(text)) });
  return `${json.trimEnd().slice(0, -1)},`;
}

function truncateMidSentence(content: SimContent, random: Random): void {
  const tokens = splitSimTokens(content.text || simProse(random, 40));
  let keep = Math.max(1, Math.floor(tokens.length * 0.6));
  while (keep > 1 && /[.!?]\s*$/.test(tokens[keep - 1]!)) keep--;
  content.text = tokens.slice(0, keep).join('');
  content.finishReason = 'length';
}

/** Output tokens of a content: reasoning, text and every tool call's name and arguments. */
export function countContentTokens(content: SimContent): { output: number; reasoning: number } {
  const reasoning = countSimTokens(content.reasoning);
  let output = reasoning + countSimTokens(content.text);
  for (const call of content.toolCalls) output += countSimTokens(call.name) + countSimTokens(call.arguments);
  return { output, reasoning };
}
