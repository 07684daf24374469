import type {
  CanonicalRequest,
  ImagePart,
  Message,
  ReasoningPart,
  ResponseFormat,
  TextPart,
  ToolCallPart,
  ToolDefinition,
  ToolResultPart,
} from '../core/types.js';

type Block = Record<string, unknown>;
interface Turn {
  role: 'user' | 'assistant';
  content: Block[];
}

/** `max_tokens` is mandatory on Anthropic; this is what we send when the client set none. */
export const ANTHROPIC_DEFAULT_MAX_TOKENS = 4096;
/** The preferred name of the forced tool that carries structured output (SPEC PV-7). */
export const ANTHROPIC_JSON_TOOL_NAME = 'json_output';

/** Thinking budgets for a canonical effort hint (OpenAI `reasoning_effort`), since Anthropic takes tokens. */
const EFFORT_BUDGETS: Readonly<Record<string, number>> = Object.freeze({ minimal: 1024, low: 1024, medium: 4096, high: 16384 });
const MIN_THINKING_BUDGET = 1024;

/**
 * The name of the forced tool `toAnthropicMessagesRequest` adds for a JSON response format, or
 * undefined when the request needs none. The adapter passes it as `unwrapJsonTool` to the decoders.
 */
export function anthropicJsonToolName(req: CanonicalRequest): string | undefined {
  if (!req.responseFormat || req.responseFormat.type === 'text') return undefined;
  const taken = new Set(req.tools?.map((tool) => tool.name));
  let name = ANTHROPIC_JSON_TOOL_NAME;
  for (let n = 2; taken.has(name); n++) name = `${ANTHROPIC_JSON_TOOL_NAME}_${n}`;
  return name;
}

function textBlock(part: TextPart): Block | undefined {
  // Anthropic rejects empty text blocks, which OpenAI conversations produce (content: "" beside tool_calls).
  if (part.text.length === 0) return undefined;
  const block: Block = { type: 'text', text: part.text };
  if (part.cacheControl) block.cache_control = part.cacheControl;
  return block;
}

function imageBlock(part: ImagePart): Block | undefined {
  if (part.data !== undefined) {
    return { type: 'image', source: { type: 'base64', media_type: part.mediaType ?? 'image/png', data: part.data } };
  }
  const url = part.url;
  if (url === undefined) return undefined;
  if (!url.startsWith('data:')) return { type: 'image', source: { type: 'url', url } };
  const comma = url.indexOf(',');
  const header = url.slice(5, comma);
  const isBase64 = header.endsWith(';base64');
  const mediaType = (isBase64 ? header.slice(0, -7) : header.split(';')[0]) || 'image/png';
  const payload = url.slice(comma + 1);
  const data = isBase64 ? payload : Buffer.from(decodeURIComponent(payload)).toString('base64');
  return { type: 'image', source: { type: 'base64', media_type: mediaType, data } };
}

/**
 * A tool call's `input` object from its JSON arguments. Arguments that are not a JSON object (a
 * stream cut off by max_tokens, a model's malformed output) become `{}`: Anthropic needs an
 * object, inventing keys would be worse, and refusing a conversation over a past turn helps nobody.
 */
export function anthropicToolInput(args: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(args);
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // fall through
  }
  return {};
}

function toolUseBlock(part: ToolCallPart): Block {
  return { type: 'tool_use', id: part.id, name: part.name, input: anthropicToolInput(part.arguments) };
}

function toolResultBlock(part: ToolResultPart): Block {
  const block: Block = { type: 'tool_result', tool_use_id: part.toolCallId };
  const content: Block[] = [];
  for (const inner of part.content) {
    const converted = inner.type === 'text' ? textBlock(inner) : imageBlock(inner);
    if (converted) content.push(converted);
  }
  if (content.length > 0) block.content = content;
  if (part.isError) block.is_error = true;
  return block;
}

/** Reasoning without Anthropic's signature (e.g. from an open model) cannot be replayed: Anthropic rejects it. */
function reasoningBlock(part: ReasoningPart): Block | undefined {
  if (part.redactedData !== undefined) return { type: 'redacted_thinking', data: part.redactedData };
  if (!part.signature) return undefined;
  return { type: 'thinking', thinking: part.text, signature: part.signature };
}

function blocksFor(message: Message, role: Turn['role']): Block[] {
  const blocks: Block[] = [];
  for (const part of message.content) {
    let block: Block | undefined;
    if (part.type === 'text') block = textBlock(part);
    else if (role === 'user' && part.type === 'image') block = imageBlock(part);
    else if (role === 'user' && part.type === 'tool-result') block = toolResultBlock(part);
    else if (role === 'assistant' && part.type === 'tool-call') block = toolUseBlock(part);
    else if (role === 'assistant' && part.type === 'reasoning') block = reasoningBlock(part);
    if (block) blocks.push(block);
  }
  return blocks;
}

function toSystem(blocks: Block[]): string | Block[] | undefined {
  if (blocks.length === 0) return undefined;
  if (blocks.length === 1 && blocks[0]!.cache_control === undefined) return blocks[0]!.text as string;
  return blocks;
}

/**
 * Canonical messages → Anthropic `system` + strictly alternating `messages`: system messages are
 * hoisted in order, tool messages become user turns of tool_result blocks, consecutive same-role
 * turns merge, and within a user turn tool_result blocks come first, as Anthropic requires.
 */
export function convertToAnthropicMessages(messages: Message[]): { system?: string | Block[]; messages: Turn[] } {
  const system: Block[] = [];
  const turns: Turn[] = [];
  for (const message of messages) {
    if (message.role === 'system') {
      for (const part of message.content) {
        const block = part.type === 'text' ? textBlock(part) : undefined;
        if (block) system.push(block);
      }
      continue;
    }
    const role = message.role === 'assistant' ? 'assistant' : 'user';
    const blocks = blocksFor(message, role);
    if (blocks.length === 0) continue;
    const last = turns.at(-1);
    if (last?.role === role) last.content.push(...blocks);
    else turns.push({ role, content: blocks });
  }
  for (const turn of turns) {
    if (turn.role !== 'user') continue;
    const results = turn.content.filter((block) => block.type === 'tool_result');
    if (results.length > 0 && results.length < turn.content.length) {
      turn.content = [...results, ...turn.content.filter((block) => block.type !== 'tool_result')];
    }
  }
  const hoisted = toSystem(system);
  return hoisted === undefined ? { messages: turns } : { system: hoisted, messages: turns };
}

function toolDefinition(tool: ToolDefinition, sameDialect: boolean): Block {
  // input_schema must declare an object; OpenAI tools without parameters send `{}`.
  const schema = tool.parameters.type === undefined ? { type: 'object', ...tool.parameters } : tool.parameters;
  const block: Block = { name: tool.name };
  if (tool.description !== undefined) block.description = tool.description;
  block.input_schema = schema;
  // Older Claude models reject `strict`, and OpenAI helpers set it by habit: only Anthropic clients' flags go through.
  if (sameDialect && tool.strict !== undefined) block.strict = tool.strict;
  if (tool.cacheControl) block.cache_control = tool.cacheControl;
  return block;
}

function jsonToolDefinition(name: string, format: Exclude<ResponseFormat, { type: 'text' }>): Block {
  const schema = format.type === 'json_schema' ? format.schema : { type: 'object' };
  const about = format.type === 'json_schema' ? (format.description ?? `the ${format.name} object`) : 'a JSON object';
  return {
    name,
    description: `Always answer by calling this tool exactly once; its input is the final answer: ${about}.`,
    input_schema: schema.type === undefined ? { type: 'object', ...schema } : schema,
  };
}

function toolChoiceFor(req: CanonicalRequest, jsonTool: string | undefined, thinking: boolean): Block | undefined {
  // Anthropic refuses forced tool use while thinking; the tool description then carries the instruction.
  if (jsonTool !== undefined) return thinking ? { type: 'auto' } : { type: 'tool', name: jsonTool };
  if (!req.tools?.length) return undefined;
  const choice = req.toolChoice;
  if (choice === 'none') return { type: 'none' };
  const disableParallel = req.parallelToolCalls === false;
  if (choice === undefined && !disableParallel) return undefined;
  const block: Block =
    choice === 'required' ? { type: 'any' } : typeof choice === 'object' ? { type: 'tool', name: choice.name } : { type: 'auto' };
  if (disableParallel) block.disable_parallel_tool_use = true;
  return block;
}

/** The thinking budget to request, or undefined; effort-derived budgets shrink to fit under max_tokens. */
function thinkingBudget(req: CanonicalRequest): number | undefined {
  if (req.reasoning?.budgetTokens !== undefined) return req.reasoning.budgetTokens;
  const effort = req.reasoning?.effort;
  const budget = effort === undefined ? undefined : EFFORT_BUDGETS[effort];
  if (budget === undefined || req.maxTokens === undefined || budget < req.maxTokens) return budget;
  return req.maxTokens - 1 >= MIN_THINKING_BUDGET ? req.maxTokens - 1 : undefined;
}

function applySampling(req: CanonicalRequest, body: Block): void {
  if (req.stop?.length) body.stop_sequences = req.stop;
  if (req.temperature !== undefined) body.temperature = Math.min(req.temperature, 1);
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.topK !== undefined) body.top_k = req.topK;
  if (req.user !== undefined) body.metadata = { user_id: req.user };
}

/**
 * Encodes a canonical request as an Anthropic Messages body for `upstreamModel`. A JSON response
 * format becomes a forced tool (see {@link anthropicJsonToolName}); unknown fields of an
 * Anthropic-dialect client pass through unchanged.
 */
export function toAnthropicMessagesRequest(req: CanonicalRequest, upstreamModel: string): Record<string, unknown> {
  const sameDialect = req.extraDialect === 'anthropic-messages';
  const body: Block = sameDialect && req.extra ? { ...req.extra } : {};
  const budget = thinkingBudget(req);
  body.model = upstreamModel;
  body.max_tokens = req.maxTokens ?? (budget === undefined ? ANTHROPIC_DEFAULT_MAX_TOKENS : budget + ANTHROPIC_DEFAULT_MAX_TOKENS);
  const { system, messages } = convertToAnthropicMessages(req.messages);
  if (system !== undefined) body.system = system;
  body.messages = messages;
  applySampling(req, body);
  if (budget !== undefined) body.thinking = { type: 'enabled', budget_tokens: budget };
  const jsonTool = anthropicJsonToolName(req);
  const tools = (req.tools ?? []).map((tool) => toolDefinition(tool, sameDialect));
  if (jsonTool !== undefined && req.responseFormat && req.responseFormat.type !== 'text') {
    tools.push(jsonToolDefinition(jsonTool, req.responseFormat));
  }
  if (tools.length > 0) body.tools = tools;
  const toolChoice = toolChoiceFor(req, jsonTool, body.thinking !== undefined);
  if (toolChoice) body.tool_choice = toolChoice;
  if (req.stream) body.stream = true;
  return body;
}

/**
 * Request parameters an Anthropic upstream cannot honour, for `x-breakwater-dropped-params`
 * (SPEC API-3): canonical fields without an Anthropic equivalent and other dialects' extra fields.
 */
export function droppedAnthropicMessagesParams(req: CanonicalRequest): string[] {
  const dropped: string[] = [];
  if (req.seed !== undefined) dropped.push('seed');
  if (req.metadata && Object.keys(req.metadata).length > 0) dropped.push('metadata');
  if (req.messages.some((message) => message.name !== undefined)) dropped.push('messages.name');
  const hasDetail = (message: Message) => message.content.some((part) => part.type === 'image' && part.detail !== undefined && part.detail !== 'auto');
  if (req.messages.some(hasDetail)) dropped.push('image.detail');
  const sameDialect = req.extraDialect === 'anthropic-messages';
  if (!sameDialect && req.tools?.some((tool) => tool.strict !== undefined)) dropped.push('tools.strict');
  if (req.extra && !sameDialect) dropped.push(...Object.keys(req.extra));
  return dropped;
}
