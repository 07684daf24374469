import { BreakwaterError } from '../core/errors.js';
import type {
  CanonicalRequest,
  ContentPart,
  ImagePart,
  JsonObject,
  Message,
  TextPart,
  ToolChoice,
  ToolDefinition,
  ToolResultPart,
} from '../core/types.js';

/** Top-level fields Breakwater reads; everything else travels in `extra`. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'model', 'max_tokens', 'messages', 'system', 'tools', 'tool_choice', 'stop_sequences',
  'temperature', 'top_p', 'top_k', 'metadata', 'stream', 'thinking',
]);

const SUPPORTED_BLOCKS = 'text, image, tool_use, tool_result, thinking, redacted_thinking';

type Json = Record<string, unknown>;

function invalid(message: string, param: string): BreakwaterError {
  return new BreakwaterError('invalid_request', message, { param });
}

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function requireString(value: unknown, param: string, what: string): string {
  if (typeof value !== 'string' || value.length === 0) throw invalid(`${param} must be ${what} (a non-empty string)`, param);
  return value;
}

function optionalNumber(value: unknown, param: string, min: number, max: number): number | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(`${param} must be a number between ${min} and ${max}`, param);
  }
  return value;
}

function cacheControlOf(block: Json): JsonObject | undefined {
  return isRecord(block.cache_control) ? (block.cache_control as JsonObject) : undefined;
}

function parseText(block: Json, param: string): TextPart {
  if (typeof block.text !== 'string') throw invalid(`${param}.text must be a string`, `${param}.text`);
  const cacheControl = cacheControlOf(block);
  return cacheControl ? { type: 'text', text: block.text, cacheControl } : { type: 'text', text: block.text };
}

function parseImage(block: Json, param: string): ImagePart {
  const source = block.source;
  if (!isRecord(source)) throw invalid(`${param}.source must be an object`, `${param}.source`);
  if (source.type === 'base64') {
    const mediaType = requireString(source.media_type, `${param}.source.media_type`, 'the image media type');
    const data = requireString(source.data, `${param}.source.data`, 'base64 image data');
    return { type: 'image', data, mediaType };
  }
  if (source.type === 'url') return { type: 'image', url: requireString(source.url, `${param}.source.url`, 'the image URL') };
  throw invalid(`${param}.source.type must be 'base64' or 'url'`, `${param}.source.type`);
}

function parseToolResult(block: Json, param: string): ToolResultPart {
  const toolCallId = requireString(block.tool_use_id, `${param}.tool_use_id`, 'the id of the tool_use it answers');
  let content: Array<TextPart | ImagePart>;
  if (block.content === undefined || block.content === null) content = [];
  else if (typeof block.content === 'string') content = [{ type: 'text', text: block.content }];
  else if (Array.isArray(block.content)) {
    content = block.content.map((inner, k) => {
      const innerParam = `${param}.content.${k}`;
      if (!isRecord(inner)) throw invalid(`${innerParam} must be a text or image block`, innerParam);
      if (inner.type === 'text') return parseText(inner, innerParam);
      if (inner.type === 'image') return parseImage(inner, innerParam);
      throw invalid(`${innerParam}.type must be 'text' or 'image' inside a tool_result`, `${innerParam}.type`);
    });
  } else throw invalid(`${param}.content must be a string or an array of text/image blocks`, `${param}.content`);
  if (block.is_error !== undefined && typeof block.is_error !== 'boolean') {
    throw invalid(`${param}.is_error must be a boolean`, `${param}.is_error`);
  }
  // Block-level cache_control rides on the last text part: the cached prefix ends at the same place.
  const cacheControl = cacheControlOf(block);
  const last = content.at(-1);
  if (cacheControl && last?.type === 'text' && !last.cacheControl) content[content.length - 1] = { ...last, cacheControl };
  const part: ToolResultPart = { type: 'tool-result', toolCallId, content };
  if (block.is_error === true) part.isError = true;
  return part;
}

function requireRole(role: string, expected: string, param: string, type: string): void {
  if (role !== expected) throw invalid(`${type} blocks are only allowed in ${expected} messages`, `${param}.type`);
}

function parseBlock(block: unknown, role: 'user' | 'assistant', param: string): ContentPart {
  if (!isRecord(block)) throw invalid(`${param} must be a content block object`, param);
  switch (block.type) {
    case 'text':
      return parseText(block, param);
    case 'image':
      return parseImage(block, param);
    case 'tool_use': {
      requireRole(role, 'assistant', param, 'tool_use');
      const id = requireString(block.id, `${param}.id`, 'the tool call id');
      const name = requireString(block.name, `${param}.name`, 'the tool name');
      if (!isRecord(block.input)) throw invalid(`${param}.input must be an object`, `${param}.input`);
      return { type: 'tool-call', id, name, arguments: JSON.stringify(block.input) };
    }
    case 'tool_result':
      requireRole(role, 'user', param, 'tool_result');
      return parseToolResult(block, param);
    case 'thinking': {
      requireRole(role, 'assistant', param, 'thinking');
      if (typeof block.thinking !== 'string') throw invalid(`${param}.thinking must be a string`, `${param}.thinking`);
      if (block.signature !== undefined && typeof block.signature !== 'string') {
        throw invalid(`${param}.signature must be a string`, `${param}.signature`);
      }
      return block.signature === undefined
        ? { type: 'reasoning', text: block.thinking }
        : { type: 'reasoning', text: block.thinking, signature: block.signature };
    }
    case 'redacted_thinking':
      requireRole(role, 'assistant', param, 'redacted_thinking');
      return { type: 'reasoning', text: '', redactedData: requireString(block.data, `${param}.data`, 'the redacted payload') };
    default:
      throw invalid(`${param}.type ${JSON.stringify(block.type)} is not supported; use one of: ${SUPPORTED_BLOCKS}`, `${param}.type`);
  }
}

/**
 * One Anthropic message becomes one or more canonical messages: each `tool_result` block becomes
 * its own `tool` message (the shape every other dialect needs), in place.
 */
function parseMessage(raw: unknown, param: string, out: Message[]): void {
  if (!isRecord(raw)) throw invalid(`${param} must be an object with role and content`, param);
  const role = raw.role;
  if (role !== 'user' && role !== 'assistant') {
    throw invalid(`${param}.role must be 'user' or 'assistant' (system prompts go in the top-level 'system' field)`, `${param}.role`);
  }
  if (typeof raw.content === 'string') {
    out.push({ role, content: [{ type: 'text', text: raw.content }] });
    return;
  }
  if (!Array.isArray(raw.content)) throw invalid(`${param}.content must be a string or an array of content blocks`, `${param}.content`);
  const before = out.length;
  let current: ContentPart[] = [];
  raw.content.forEach((block, j) => {
    const part = parseBlock(block, role, `${param}.content.${j}`);
    if (part.type !== 'tool-result') {
      current.push(part);
      return;
    }
    if (current.length > 0) out.push({ role, content: current });
    current = [];
    out.push({ role: 'tool', content: [part] });
  });
  if (current.length > 0 || out.length === before) out.push({ role, content: current });
}

function parseSystem(value: unknown): Message | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string') return value.length > 0 ? { role: 'system', content: [{ type: 'text', text: value }] } : undefined;
  if (!Array.isArray(value)) throw invalid('system must be a string or an array of text blocks', 'system');
  const content = value.map((block, i): TextPart => {
    if (!isRecord(block) || block.type !== 'text') throw invalid(`system.${i}.type must be 'text'`, `system.${i}.type`);
    return parseText(block, `system.${i}`);
  });
  return content.length > 0 ? { role: 'system', content } : undefined;
}

function parseTools(value: unknown): ToolDefinition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw invalid('tools must be an array of {name, description, input_schema}', 'tools');
  return value.map((tool, i): ToolDefinition => {
    const param = `tools.${i}`;
    if (!isRecord(tool)) throw invalid(`${param} must be an object`, param);
    if (tool.type !== undefined && tool.type !== null && tool.type !== 'custom') {
      throw invalid(`${param}.type ${JSON.stringify(tool.type)}: server tools are not supported; define a custom tool with name and input_schema`, `${param}.type`);
    }
    const name = requireString(tool.name, `${param}.name`, 'the tool name');
    if (!isRecord(tool.input_schema)) throw invalid(`${param}.input_schema must be a JSON Schema object`, `${param}.input_schema`);
    const definition: ToolDefinition = { name, parameters: tool.input_schema as JsonObject };
    if (tool.description !== undefined) {
      if (typeof tool.description !== 'string') throw invalid(`${param}.description must be a string`, `${param}.description`);
      definition.description = tool.description;
    }
    if (typeof tool.strict === 'boolean') definition.strict = tool.strict;
    const cacheControl = cacheControlOf(tool);
    if (cacheControl) definition.cacheControl = cacheControl;
    return definition;
  });
}

function parseToolChoice(value: unknown, request: CanonicalRequest): void {
  if (value === undefined || value === null) return;
  if (!isRecord(value)) throw invalid('tool_choice must be an object like {"type":"auto"}', 'tool_choice');
  let choice: ToolChoice;
  if (value.type === 'auto') choice = 'auto';
  else if (value.type === 'any') choice = 'required';
  else if (value.type === 'none') choice = 'none';
  else if (value.type === 'tool') choice = { name: requireString(value.name, 'tool_choice.name', 'the tool to force') };
  else throw invalid("tool_choice.type must be 'auto', 'any', 'tool' or 'none'", 'tool_choice.type');
  request.toolChoice = choice;
  const disable = value.disable_parallel_tool_use;
  if (disable !== undefined && typeof disable !== 'boolean') {
    throw invalid('tool_choice.disable_parallel_tool_use must be a boolean', 'tool_choice.disable_parallel_tool_use');
  }
  if (typeof disable === 'boolean') request.parallelToolCalls = !disable;
}

function parseStopSequences(value: unknown): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((s) => typeof s === 'string')) {
    throw invalid('stop_sequences must be an array of strings', 'stop_sequences');
  }
  return value as string[];
}

function parseThinking(value: unknown, request: CanonicalRequest, extra: Json): void {
  if (value === undefined || value === null) return;
  if (!isRecord(value)) throw invalid('thinking must be an object like {"type":"enabled","budget_tokens":2048}', 'thinking');
  if (value.type === 'disabled') return;
  if (value.type !== 'enabled') {
    // Newer thinking modes travel untouched to Anthropic upstreams instead of being refused.
    extra.thinking = value;
    return;
  }
  const budget = value.budget_tokens;
  if (typeof budget !== 'number' || !Number.isInteger(budget) || budget < 1) {
    throw invalid('thinking.budget_tokens must be a positive integer', 'thinking.budget_tokens');
  }
  request.reasoning = { budgetTokens: budget };
}

function parseSampling(body: Json, request: CanonicalRequest): void {
  const temperature = optionalNumber(body.temperature, 'temperature', 0, 1);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = optionalNumber(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) request.topP = topP;
  if (body.top_k !== undefined && body.top_k !== null) {
    if (typeof body.top_k !== 'number' || !Number.isInteger(body.top_k) || body.top_k < 0) {
      throw invalid('top_k must be a non-negative integer', 'top_k');
    }
    request.topK = body.top_k;
  }
  const stop = parseStopSequences(body.stop_sequences);
  if (stop) request.stop = stop;
}

function parseMetadata(value: unknown, request: CanonicalRequest): void {
  if (value === undefined || value === null) return;
  if (!isRecord(value)) throw invalid('metadata must be an object like {"user_id":"…"}', 'metadata');
  const userId = value.user_id;
  if (userId === undefined || userId === null) return;
  if (typeof userId !== 'string') throw invalid('metadata.user_id must be a string', 'metadata.user_id');
  request.user = userId;
}

/**
 * Decodes a client's `POST /v1/messages` body into the canonical request. Strict about every field
 * Breakwater reads (errors name the offending `param`); unknown top-level fields go to `extra`.
 */
export function parseAnthropicMessagesRequest(body: unknown): CanonicalRequest {
  if (!isRecord(body)) throw new BreakwaterError('invalid_request', 'request body must be a JSON object');
  const model = requireString(body.model, 'model', 'the model name');
  const maxTokens = body.max_tokens;
  if (typeof maxTokens !== 'number' || !Number.isInteger(maxTokens) || maxTokens < 1) {
    throw invalid('max_tokens is required and must be a positive integer', 'max_tokens');
  }
  if (!Array.isArray(body.messages) || body.messages.length === 0) {
    throw invalid('messages must be a non-empty array of {role, content}', 'messages');
  }
  const messages: Message[] = [];
  const system = parseSystem(body.system);
  if (system) messages.push(system);
  body.messages.forEach((raw, i) => parseMessage(raw, `messages.${i}`, messages));
  if (body.stream !== undefined && body.stream !== null && typeof body.stream !== 'boolean') {
    throw invalid('stream must be a boolean', 'stream');
  }
  const request: CanonicalRequest = { model, messages, maxTokens, stream: body.stream === true };
  const tools = parseTools(body.tools);
  if (tools) request.tools = tools;
  parseToolChoice(body.tool_choice, request);
  parseSampling(body, request);
  parseMetadata(body.metadata, request);
  const extra: Json = {};
  parseThinking(body.thinking, request, extra);
  for (const key of Object.keys(body)) if (!KNOWN_FIELDS.has(key)) extra[key] = body[key];
  if (Object.keys(extra).length > 0) request.extra = extra;
  // Set even without extra: it marks the request as spoken in this dialect (tool `strict` relies on it).
  request.extraDialect = 'anthropic-messages';
  return request;
}
