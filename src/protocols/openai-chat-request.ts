import type {
  CanonicalRequest,
  ContentPart,
  ImagePart,
  JsonObject,
  Message,
  ResponseFormat,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolDefinition,
} from '../core/types.js';
import {
  describe,
  imageFromUrl,
  invalid,
  isRecord,
  optionalBoolean,
  optionalInteger,
  optionalNumber,
  optionalString,
  requireRecord,
  requireString,
  type JsonRecord,
} from './request-validation.js';

/** Top-level fields this parser reads; everything else goes to `extra` untouched. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'model',
  'messages',
  'tools',
  'tool_choice',
  'response_format',
  'max_tokens',
  'max_completion_tokens',
  'temperature',
  'top_p',
  'stop',
  'seed',
  'user',
  'metadata',
  'parallel_tool_calls',
  'stream',
  'stream_options',
  'reasoning_effort',
  'n',
  'functions',
  'function_call',
]);

function parseTextPart(raw: unknown, param: string): TextPart {
  const part = requireRecord(raw, param);
  if (part.type !== 'text') throw invalid(`${param}.type`, `${param}.type must be 'text' here, got ${describe(part.type)}`);
  return { type: 'text', text: requireString(part.text, `${param}.text`) };
}

/** System, developer and tool messages: a string or an array of text parts. */
function parseTextContent(raw: unknown, param: string): TextPart[] {
  if (typeof raw === 'string') return [{ type: 'text', text: raw }];
  if (!Array.isArray(raw)) throw invalid(param, `${param} must be a string or an array of text parts, got ${describe(raw)}`);
  return raw.map((part, i) => parseTextPart(part, `${param}[${i}]`));
}

function parseUserPart(raw: unknown, param: string): TextPart | ImagePart {
  const part = requireRecord(raw, param);
  if (part.type === 'text') return { type: 'text', text: requireString(part.text, `${param}.text`) };
  if (part.type !== 'image_url') {
    throw invalid(`${param}.type`, `${param}.type ${describe(part.type)} is not supported; use 'text' or 'image_url'`);
  }
  // Some clients send the URL as a bare string; the object form is the documented one.
  if (typeof part.image_url === 'string') return imageFromUrl(part.image_url, undefined);
  const image = requireRecord(part.image_url, `${param}.image_url`);
  const url = requireString(image.url, `${param}.image_url.url`);
  const detail = optionalString(image.detail, `${param}.image_url.detail`);
  return imageFromUrl(url, detail);
}

function parseUserContent(raw: unknown, param: string): Array<TextPart | ImagePart> {
  if (typeof raw === 'string') return [{ type: 'text', text: raw }];
  if (!Array.isArray(raw)) throw invalid(param, `${param} must be a string or an array of content parts, got ${describe(raw)}`);
  return raw.map((part, i) => parseUserPart(part, `${param}[${i}]`));
}

function parseAssistantText(raw: unknown, param: string): TextPart[] {
  if (raw == null) return [];
  if (typeof raw === 'string') return raw === '' ? [] : [{ type: 'text', text: raw }];
  if (!Array.isArray(raw)) throw invalid(param, `${param} must be a string, null or an array of text parts, got ${describe(raw)}`);
  return raw.map((item, i) => {
    const part = requireRecord(item, `${param}[${i}]`);
    // A refusal the model made earlier is still text the model said.
    if (part.type === 'refusal') return { type: 'text', text: requireString(part.refusal, `${param}[${i}].refusal`) };
    return parseTextPart(part, `${param}[${i}]`);
  });
}

function parseToolCall(raw: unknown, param: string): ToolCallPart {
  const call = requireRecord(raw, param);
  if (call.type !== undefined && call.type !== 'function') {
    throw invalid(`${param}.type`, `${param}.type must be 'function', got ${describe(call.type)}`);
  }
  const fn = requireRecord(call.function, `${param}.function`);
  return {
    type: 'tool-call',
    id: requireString(call.id, `${param}.id`),
    name: requireString(fn.name, `${param}.function.name`),
    arguments: requireString(fn.arguments, `${param}.function.arguments`),
  };
}

function parseAssistantMessage(raw: JsonRecord, path: string): Message {
  const content: ContentPart[] = parseAssistantText(raw.content, `${path}.content`);
  if (raw.function_call != null) {
    throw invalid(`${path}.function_call`, `${path}.function_call is deprecated and not supported; use tool_calls`);
  }
  if (raw.tool_calls != null) {
    if (!Array.isArray(raw.tool_calls)) throw invalid(`${path}.tool_calls`, `${path}.tool_calls must be an array`);
    raw.tool_calls.forEach((call, i) => content.push(parseToolCall(call, `${path}.tool_calls[${i}]`)));
  }
  return { role: 'assistant', content };
}

function parseToolMessage(raw: JsonRecord, path: string): Message {
  const toolCallId = raw.tool_call_id;
  if (typeof toolCallId !== 'string' || toolCallId === '') {
    throw invalid(`${path}.tool_call_id`, `${path}.tool_call_id must name the tool call this message answers`);
  }
  const content = parseTextContent(raw.content, `${path}.content`);
  return { role: 'tool', content: [{ type: 'tool-result', toolCallId, content }] };
}

function parseMessage(raw: unknown, path: string): Message {
  const message = requireRecord(raw, path);
  let parsed: Message;
  switch (message.role) {
    case 'system':
    case 'developer':
      parsed = { role: 'system', content: parseTextContent(message.content, `${path}.content`) };
      break;
    case 'user':
      parsed = { role: 'user', content: parseUserContent(message.content, `${path}.content`) };
      break;
    case 'assistant':
      parsed = parseAssistantMessage(message, path);
      break;
    case 'tool':
      return parseToolMessage(message, path);
    case 'function':
      throw invalid(`${path}.role`, `${path}.role 'function' is deprecated and not supported; send tool results with role 'tool'`);
    default:
      throw invalid(`${path}.role`, `${path}.role must be one of system, developer, user, assistant, tool; got ${describe(message.role)}`);
  }
  const name = optionalString(message.name, `${path}.name`);
  if (name !== undefined) parsed.name = name;
  return parsed;
}

function parseMessages(raw: unknown): Message[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    throw invalid('messages', `messages must be a non-empty array, got ${Array.isArray(raw) ? 'an empty array' : describe(raw)}`);
  }
  return raw.map((message, i) => parseMessage(message, `messages[${i}]`));
}

function parseTool(raw: unknown, param: string): ToolDefinition {
  const tool = requireRecord(raw, param);
  if (tool.type !== 'function') {
    throw invalid(`${param}.type`, `${param}.type ${describe(tool.type)} is not supported; only 'function' tools are`);
  }
  const fn = requireRecord(tool.function, `${param}.function`);
  const name = requireString(fn.name, `${param}.function.name`);
  if (name === '') throw invalid(`${param}.function.name`, `${param}.function.name must not be empty`);
  const definition: ToolDefinition = {
    name,
    // OpenAI treats a missing schema as "no arguments"; other dialects need it spelled out.
    parameters: fn.parameters == null ? { type: 'object', properties: {} } : (requireRecord(fn.parameters, `${param}.function.parameters`) as JsonObject),
  };
  const description = optionalString(fn.description, `${param}.function.description`);
  if (description !== undefined) definition.description = description;
  const strict = optionalBoolean(fn.strict, `${param}.function.strict`);
  if (strict !== undefined) definition.strict = strict;
  return definition;
}

function parseToolChoice(raw: unknown): ToolChoice | undefined {
  if (raw == null) return undefined;
  if (raw === 'auto' || raw === 'none' || raw === 'required') return raw;
  if (isRecord(raw) && raw.type === 'function') {
    const fn = requireRecord(raw.function, 'tool_choice.function');
    return { name: requireString(fn.name, 'tool_choice.function.name') };
  }
  throw invalid('tool_choice', `tool_choice must be 'auto', 'none', 'required' or {type:'function', function:{name}}, got ${describe(raw)}`);
}

function parseResponseFormat(raw: unknown): ResponseFormat | undefined {
  if (raw == null) return undefined;
  const format = requireRecord(raw, 'response_format');
  if (format.type === 'text' || format.type === 'json_object') return { type: format.type };
  if (format.type !== 'json_schema') {
    throw invalid('response_format.type', `response_format.type must be 'text', 'json_object' or 'json_schema', got ${describe(format.type)}`);
  }
  const spec = requireRecord(format.json_schema, 'response_format.json_schema');
  const result: ResponseFormat = {
    type: 'json_schema',
    name: requireString(spec.name, 'response_format.json_schema.name'),
    schema: spec.schema == null ? {} : (requireRecord(spec.schema, 'response_format.json_schema.schema') as JsonObject),
  };
  const strict = optionalBoolean(spec.strict, 'response_format.json_schema.strict');
  if (strict !== undefined) result.strict = strict;
  const description = optionalString(spec.description, 'response_format.json_schema.description');
  if (description !== undefined) result.description = description;
  return result;
}

function parseStop(raw: unknown): string[] | undefined {
  if (raw == null) return undefined;
  if (typeof raw === 'string') return [raw];
  if (!Array.isArray(raw)) throw invalid('stop', `stop must be a string or an array of strings, got ${describe(raw)}`);
  const stop = raw.map((item, i) => requireString(item, `stop[${i}]`));
  return stop.length === 0 ? undefined : stop;
}

function parseMetadata(raw: unknown): Record<string, string> | undefined {
  if (raw == null) return undefined;
  const metadata = requireRecord(raw, 'metadata');
  for (const [key, value] of Object.entries(metadata)) requireString(value, `metadata.${key}`);
  return metadata as Record<string, string>;
}

function rejectUnsupported(body: JsonRecord): void {
  if (body.n != null && body.n !== 1) {
    throw invalid('n', 'n must be 1: Breakwater returns a single choice; send parallel requests for more');
  }
  if (body.functions != null || body.function_call != null) {
    const param = body.functions != null ? 'functions' : 'function_call';
    throw invalid(param, `${param} is deprecated and not supported; use tools and tool_choice`);
  }
}

function parseSampling(body: JsonRecord, request: CanonicalRequest): void {
  const maxTokens =
    optionalInteger(body.max_completion_tokens, 'max_completion_tokens', 1) ?? optionalInteger(body.max_tokens, 'max_tokens', 1);
  if (maxTokens !== undefined) request.maxTokens = maxTokens;
  const temperature = optionalNumber(body.temperature, 'temperature', 0, 2);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = optionalNumber(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) request.topP = topP;
  const stop = parseStop(body.stop);
  if (stop !== undefined) request.stop = stop;
  const seed = optionalInteger(body.seed, 'seed', Number.MIN_SAFE_INTEGER);
  if (seed !== undefined) request.seed = seed;
  const effort = optionalString(body.reasoning_effort, 'reasoning_effort');
  if (effort !== undefined) request.reasoning = { effort };
}

function parseToolsAndFormat(body: JsonRecord, request: CanonicalRequest): void {
  if (body.tools != null) {
    if (!Array.isArray(body.tools)) throw invalid('tools', `tools must be an array, got ${describe(body.tools)}`);
    if (body.tools.length > 0) request.tools = body.tools.map((tool, i) => parseTool(tool, `tools[${i}]`));
  }
  const toolChoice = parseToolChoice(body.tool_choice);
  if (toolChoice !== undefined) request.toolChoice = toolChoice;
  const parallel = optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls');
  if (parallel !== undefined) request.parallelToolCalls = parallel;
  const responseFormat = parseResponseFormat(body.response_format);
  if (responseFormat !== undefined) request.responseFormat = responseFormat;
}

function parseStreamOptions(body: JsonRecord, request: CanonicalRequest): void {
  if (body.stream_options == null) return;
  const options = requireRecord(body.stream_options, 'stream_options');
  const includeUsage = optionalBoolean(options.include_usage, 'stream_options.include_usage');
  if (includeUsage !== undefined) request.includeUsage = includeUsage;
}

function collectExtra(body: JsonRecord, request: CanonicalRequest): void {
  let extra: JsonRecord | undefined;
  for (const key of Object.keys(body)) {
    if (KNOWN_FIELDS.has(key)) continue;
    (extra ??= {})[key] = body[key];
  }
  if (extra) {
    request.extra = extra;
    request.extraDialect = 'openai-chat';
  }
}

/**
 * Decodes a client's `POST /v1/chat/completions` body into the canonical request. Validates only
 * the fields Breakwater reads (errors name the offending `param`, e.g. `messages[2].content`);
 * unknown top-level fields are kept in `extra` for same-dialect upstreams. `developer` messages
 * become `system` messages.
 */
export function parseOpenAIChatRequest(body: unknown): CanonicalRequest {
  if (!isRecord(body)) throw invalid(undefined, `the request body must be a JSON object, got ${describe(body)}`);
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw invalid('model', `model must be a non-empty string, got ${describe(model)}`);
  rejectUnsupported(body);
  const request: CanonicalRequest = {
    model,
    messages: parseMessages(body.messages),
    stream: optionalBoolean(body.stream, 'stream') ?? false,
  };
  parseToolsAndFormat(body, request);
  parseSampling(body, request);
  parseStreamOptions(body, request);
  const user = optionalString(body.user, 'user');
  if (user !== undefined) request.user = user;
  const metadata = parseMetadata(body.metadata);
  if (metadata !== undefined) request.metadata = metadata;
  collectExtra(body, request);
  return request;
}
