import type {
  CanonicalRequest,
  ImagePart,
  JsonObject,
  Message,
  ResponseFormat,
  TextPart,
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

/**
 * The request fields a Response object repeats back (OpenAI echoes the configuration it ran
 * with), already defaulted the way OpenAI defaults them. Plain JSON, so it can be stored with the
 * response and used later to rebuild snapshots (`GET /v1/responses/{id}`, cancel).
 */
export interface ResponsesEcho {
  background: boolean;
  instructions: string | null;
  max_output_tokens: number | null;
  metadata: Record<string, string>;
  parallel_tool_calls: boolean;
  previous_response_id: string | null;
  reasoning: { effort: string | null; summary: string | null };
  store: boolean;
  temperature: number | null;
  text: JsonRecord;
  tool_choice: string | JsonRecord;
  tools: JsonRecord[];
  top_p: number | null;
  truncation: 'auto' | 'disabled';
  user: string | null;
}

/** A decoded `POST /v1/responses` body. */
export interface ParsedResponsesRequest {
  /** The canonical request: `instructions` (when given) is its first, system, message. */
  request: CanonicalRequest;
  /** Run detached and answer `queued` at once (SPEC API-4). */
  background: boolean;
  /** Persist the response (default true); `false` persists nothing (SPEC SEC-5). */
  store: boolean;
  previousResponseId?: string;
  instructions?: string;
  echo: ResponsesEcho;
  /** Input the parser read but cannot use, e.g. `input[3]` (a reasoning item), for the caller to report. */
  ignored: string[];
}

/** Top-level fields this parser reads; everything else goes to `extra` untouched. */
const KNOWN_FIELDS: ReadonlySet<string> = new Set([
  'model',
  'input',
  'instructions',
  'tools',
  'tool_choice',
  'text',
  'max_output_tokens',
  'temperature',
  'top_p',
  'stream',
  'background',
  'store',
  'previous_response_id',
  'metadata',
  'user',
  'parallel_tool_calls',
  'reasoning',
  'truncation',
]);

// OpenAI's documented metadata limits; enforced here because the stored response echoes them.
const METADATA_MAX_PAIRS = 16;
const METADATA_MAX_KEY = 64;
const METADATA_MAX_VALUE = 512;

function parseInputText(part: JsonRecord, param: string): TextPart {
  return { type: 'text', text: requireString(part.text, `${param}.text`) };
}

function parseInputImage(part: JsonRecord, param: string): ImagePart {
  if (part.image_url == null) {
    const why = part.file_id == null ? 'is missing' : 'is required: Breakwater has no file store, so file_id cannot be used';
    throw invalid(`${param}.image_url`, `${param}.image_url ${why}; send an http(s) or base64 data URL`);
  }
  const url = requireString(part.image_url, `${param}.image_url`);
  const detail = optionalString(part.detail, `${param}.detail`);
  return imageFromUrl(url, detail);
}

/** User, system and developer content: a string or `input_text` / `input_image` parts. */
function parseInputContent(raw: unknown, param: string, images: boolean): Array<TextPart | ImagePart> {
  if (typeof raw === 'string') return [{ type: 'text', text: raw }];
  if (!Array.isArray(raw)) throw invalid(param, `${param} must be a string or an array of content parts, got ${describe(raw)}`);
  return raw.map((item, i) => {
    const path = `${param}[${i}]`;
    const part = requireRecord(item, path);
    if (part.type === 'input_text') return parseInputText(part, path);
    if (part.type === 'input_image' && images) return parseInputImage(part, path);
    const allowed = images ? "'input_text' or 'input_image'" : "'input_text' (system and developer messages take text only)";
    throw invalid(`${path}.type`, `${path}.type ${describe(part.type)} is not supported here; use ${allowed}`);
  });
}

/** Assistant content from an earlier turn: a string or `output_text` / `refusal` parts. */
function parseAssistantContent(raw: unknown, param: string): TextPart[] {
  if (typeof raw === 'string') return raw === '' ? [] : [{ type: 'text', text: raw }];
  if (!Array.isArray(raw)) throw invalid(param, `${param} must be a string or an array of content parts, got ${describe(raw)}`);
  return raw.map((item, i) => {
    const path = `${param}[${i}]`;
    const part = requireRecord(item, path);
    // A refusal the model made earlier is still text the model said.
    if (part.type === 'refusal') return { type: 'text', text: requireString(part.refusal, `${path}.refusal`) };
    // Some clients replay assistant turns with `input_text`; the text is the same.
    if (part.type === 'output_text' || part.type === 'input_text') return parseInputText(part, path);
    throw invalid(`${path}.type`, `${path}.type ${describe(part.type)} is not supported here; use 'output_text' or 'refusal'`);
  });
}

function parseMessageItem(item: JsonRecord, path: string): Message {
  switch (item.role) {
    case 'user':
      return { role: 'user', content: parseInputContent(item.content, `${path}.content`, true) };
    case 'system':
    case 'developer':
      return { role: 'system', content: parseInputContent(item.content, `${path}.content`, false) };
    case 'assistant':
      return { role: 'assistant', content: parseAssistantContent(item.content, `${path}.content`) };
    default:
      throw invalid(`${path}.role`, `${path}.role must be one of user, system, developer, assistant; got ${describe(item.role)}`);
  }
}

function requireId(value: unknown, param: string): string {
  if (typeof value !== 'string' || value === '') throw invalid(param, `${param} must be a non-empty string, got ${describe(value)}`);
  return value;
}

/** A `function_call` joins the assistant turn before it: canonical tool calls live in assistant messages. */
function addFunctionCall(item: JsonRecord, path: string, messages: Message[]): void {
  const call = {
    type: 'tool-call' as const,
    id: requireId(item.call_id, `${path}.call_id`),
    name: requireId(item.name, `${path}.name`),
    arguments: requireString(item.arguments, `${path}.arguments`),
  };
  const last = messages.at(-1);
  if (last?.role === 'assistant') last.content.push(call);
  else messages.push({ role: 'assistant', content: [call] });
}

function parseFunctionCallOutput(item: JsonRecord, path: string): Message {
  const toolCallId = requireId(item.call_id, `${path}.call_id`);
  const content = parseInputContent(item.output, `${path}.output`, true);
  return { role: 'tool', content: [{ type: 'tool-result', toolCallId, content }] };
}

function parseInputItem(raw: unknown, path: string, messages: Message[], ignored: string[]): void {
  const item = requireRecord(raw, path);
  switch (item.type) {
    case undefined:
    case null:
    case 'message':
      messages.push(parseMessageItem(item, path));
      return;
    case 'function_call':
      addFunctionCall(item, path, messages);
      return;
    case 'function_call_output':
      messages.push(parseFunctionCallOutput(item, path));
      return;
    case 'reasoning':
      // Reasoning is the model's own scratch work; upstreams regenerate it, so it is dropped and reported.
      ignored.push(path);
      return;
    default:
      throw invalid(
        `${path}.type`,
        `${path}.type ${describe(item.type)} is not supported; use 'message', 'function_call', 'function_call_output' or 'reasoning'`,
      );
  }
}

function parseInput(raw: unknown, hasPrevious: boolean, ignored: string[]): Message[] {
  if (typeof raw === 'string') return [{ role: 'user', content: [{ type: 'text', text: raw }] }];
  if (raw == null && hasPrevious) return [];
  if (!Array.isArray(raw) || (raw.length === 0 && !hasPrevious)) {
    const got = Array.isArray(raw) ? 'an empty array' : describe(raw);
    throw invalid('input', `input must be a string or a non-empty array of input items, got ${got}`);
  }
  const messages: Message[] = [];
  raw.forEach((item, i) => parseInputItem(item, `input[${i}]`, messages, ignored));
  return messages;
}

function parseTool(raw: unknown, param: string): { tool: ToolDefinition; echo: JsonRecord } {
  const tool = requireRecord(raw, param);
  if (tool.type !== 'function') {
    throw invalid(
      `${param}.type`,
      `${param}.type ${describe(tool.type)} is not supported; Breakwater cannot run built-in tools, only 'function' tools`,
    );
  }
  const name = requireId(tool.name, `${param}.name`);
  // A missing schema means "no arguments"; other dialects need it spelled out.
  const parameters = tool.parameters == null ? { type: 'object', properties: {} } : requireRecord(tool.parameters, `${param}.parameters`);
  const definition: ToolDefinition = { name, parameters: parameters as JsonObject };
  const description = optionalString(tool.description, `${param}.description`);
  if (description !== undefined) definition.description = description;
  const strict = optionalBoolean(tool.strict, `${param}.strict`);
  if (strict !== undefined) definition.strict = strict;
  const echo: JsonRecord = { type: 'function', name, description: description ?? null, parameters, strict: strict ?? null };
  return { tool: definition, echo };
}

function parseToolChoice(raw: unknown): { choice?: ToolChoice; echo: string | JsonRecord } {
  if (raw == null) return { echo: 'auto' };
  if (raw === 'auto' || raw === 'none' || raw === 'required') return { choice: raw, echo: raw };
  if (isRecord(raw) && raw.type === 'function') {
    const name = requireId(raw.name, 'tool_choice.name');
    return { choice: { name }, echo: { type: 'function', name } };
  }
  throw invalid('tool_choice', `tool_choice must be 'auto', 'none', 'required' or {type:'function', name}, got ${describe(raw)}`);
}

function parseFormat(raw: JsonRecord): ResponseFormat {
  if (raw.type === 'text' || raw.type === 'json_object') return { type: raw.type };
  if (raw.type !== 'json_schema') {
    throw invalid('text.format.type', `text.format.type must be 'text', 'json_object' or 'json_schema', got ${describe(raw.type)}`);
  }
  const format: ResponseFormat = {
    type: 'json_schema',
    name: requireId(raw.name, 'text.format.name'),
    schema: requireRecord(raw.schema, 'text.format.schema') as JsonObject,
  };
  const strict = optionalBoolean(raw.strict, 'text.format.strict');
  if (strict !== undefined) format.strict = strict;
  const description = optionalString(raw.description, 'text.format.description');
  if (description !== undefined) format.description = description;
  return format;
}

function parseText(raw: unknown): { format?: ResponseFormat; echo: JsonRecord } {
  if (raw == null) return { echo: { format: { type: 'text' } } };
  const text = requireRecord(raw, 'text');
  if (text.format == null) return { echo: { ...text, format: { type: 'text' } } };
  const format = parseFormat(requireRecord(text.format, 'text.format'));
  return { format, echo: { ...text } };
}

function parseMetadata(raw: unknown): Record<string, string> | undefined {
  if (raw == null) return undefined;
  const metadata = requireRecord(raw, 'metadata');
  const entries = Object.entries(metadata);
  if (entries.length > METADATA_MAX_PAIRS) throw invalid('metadata', `metadata holds at most ${METADATA_MAX_PAIRS} pairs, got ${entries.length}`);
  for (const [key, value] of entries) {
    if (key.length > METADATA_MAX_KEY) throw invalid('metadata', `metadata keys are at most ${METADATA_MAX_KEY} characters; '${key.slice(0, 20)}…' is longer`);
    const text = requireString(value, `metadata.${key}`);
    if (text.length > METADATA_MAX_VALUE) throw invalid(`metadata.${key}`, `metadata.${key} is longer than ${METADATA_MAX_VALUE} characters`);
  }
  return metadata as Record<string, string>;
}

function parseReasoning(raw: unknown): { effort?: string; echo: ResponsesEcho['reasoning'] } {
  if (raw == null) return { echo: { effort: null, summary: null } };
  const reasoning = requireRecord(raw, 'reasoning');
  const effort = optionalString(reasoning.effort, 'reasoning.effort');
  const summary = optionalString(reasoning.summary, 'reasoning.summary');
  return { effort, echo: { effort: effort ?? null, summary: summary ?? null } };
}

function parseTruncation(raw: unknown): 'auto' | 'disabled' {
  if (raw == null) return 'disabled';
  if (raw === 'auto' || raw === 'disabled') return raw;
  throw invalid('truncation', `truncation must be 'auto' or 'disabled', got ${describe(raw)}`);
}

function parseTools(body: JsonRecord, request: CanonicalRequest): Pick<ResponsesEcho, 'tools' | 'tool_choice' | 'parallel_tool_calls'> {
  const echo: JsonRecord[] = [];
  if (body.tools != null) {
    if (!Array.isArray(body.tools)) throw invalid('tools', `tools must be an array, got ${describe(body.tools)}`);
    const tools = body.tools.map((tool, i) => parseTool(tool, `tools[${i}]`));
    if (tools.length > 0) request.tools = tools.map((t) => t.tool);
    for (const t of tools) echo.push(t.echo);
  }
  const toolChoice = parseToolChoice(body.tool_choice);
  if (toolChoice.choice !== undefined) request.toolChoice = toolChoice.choice;
  const parallel = optionalBoolean(body.parallel_tool_calls, 'parallel_tool_calls');
  if (parallel !== undefined) request.parallelToolCalls = parallel;
  return { tools: echo, tool_choice: toolChoice.echo, parallel_tool_calls: parallel ?? true };
}

function parseSampling(body: JsonRecord, request: CanonicalRequest): Pick<ResponsesEcho, 'max_output_tokens' | 'temperature' | 'top_p' | 'reasoning'> {
  const maxTokens = optionalInteger(body.max_output_tokens, 'max_output_tokens', 1);
  if (maxTokens !== undefined) request.maxTokens = maxTokens;
  const temperature = optionalNumber(body.temperature, 'temperature', 0, 2);
  if (temperature !== undefined) request.temperature = temperature;
  const topP = optionalNumber(body.top_p, 'top_p', 0, 1);
  if (topP !== undefined) request.topP = topP;
  const reasoning = parseReasoning(body.reasoning);
  if (reasoning.effort !== undefined) request.reasoning = { effort: reasoning.effort };
  return { max_output_tokens: maxTokens ?? null, temperature: temperature ?? null, top_p: topP ?? null, reasoning: reasoning.echo };
}

function collectExtra(body: JsonRecord, request: CanonicalRequest): void {
  let extra: JsonRecord | undefined;
  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS.has(key)) (extra ??= {})[key] = body[key];
  }
  if (extra) {
    request.extra = extra;
    request.extraDialect = 'openai-responses';
  }
}

function parseStorage(body: JsonRecord): { background: boolean; store: boolean; previousResponseId?: string } {
  const background = optionalBoolean(body.background, 'background') ?? false;
  const store = optionalBoolean(body.store, 'store') ?? true;
  if (background && !store) {
    throw invalid('background', 'background: true needs store: true; a background response must be stored to be retrieved (SPEC SEC-5)');
  }
  const previousResponseId = optionalString(body.previous_response_id, 'previous_response_id');
  if (previousResponseId === '') throw invalid('previous_response_id', 'previous_response_id must not be empty');
  return previousResponseId === undefined ? { background, store } : { background, store, previousResponseId };
}

/**
 * Decodes a client's `POST /v1/responses` body. Validates only the fields Breakwater reads (errors
 * name the offending `param`, e.g. `input[2].content[0].type`); unknown top-level fields are kept
 * in `extra`. Only function tools are accepted: Breakwater cannot run OpenAI's built-in tools.
 * `input` may be omitted when `previous_response_id` names the conversation to continue.
 */
export function parseOpenAIResponsesRequest(body: unknown): ParsedResponsesRequest {
  if (!isRecord(body)) throw invalid(undefined, `the request body must be a JSON object, got ${describe(body)}`);
  const model = body.model;
  if (typeof model !== 'string' || model === '') throw invalid('model', `model must be a non-empty string, got ${describe(model)}`);
  const storage = parseStorage(body);
  const instructions = optionalString(body.instructions, 'instructions');
  const ignored: string[] = [];
  const messages = parseInput(body.input, storage.previousResponseId !== undefined, ignored);
  if (instructions !== undefined) messages.unshift({ role: 'system', content: [{ type: 'text', text: instructions }] });
  const request: CanonicalRequest = { model, messages, stream: optionalBoolean(body.stream, 'stream') ?? false };
  const tools = parseTools(body, request);
  const sampling = parseSampling(body, request);
  const text = parseText(body.text);
  if (text.format !== undefined) request.responseFormat = text.format;
  const user = optionalString(body.user, 'user');
  if (user !== undefined) request.user = user;
  const metadata = parseMetadata(body.metadata);
  if (metadata !== undefined) request.metadata = metadata;
  collectExtra(body, request);
  const echo: ResponsesEcho = {
    background: storage.background,
    instructions: instructions ?? null,
    ...sampling,
    metadata: metadata ?? {},
    ...tools,
    previous_response_id: storage.previousResponseId ?? null,
    store: storage.store,
    text: text.echo,
    truncation: parseTruncation(body.truncation),
    user: user ?? null,
  };
  const parsed: ParsedResponsesRequest = { request, background: storage.background, store: storage.store, echo, ignored };
  if (storage.previousResponseId !== undefined) parsed.previousResponseId = storage.previousResponseId;
  if (instructions !== undefined) parsed.instructions = instructions;
  return parsed;
}

/**
 * The canonical request continuing an earlier conversation (`previous_response_id`): `history`
 * (the earlier turns' input and output, without their instructions, which OpenAI does not carry
 * over) goes after this request's instructions and before its input.
 */
export function withConversationHistory(parsed: ParsedResponsesRequest, history: Message[]): CanonicalRequest {
  const messages = parsed.request.messages;
  const head = parsed.instructions === undefined ? 0 : 1;
  return { ...parsed.request, messages: [...messages.slice(0, head), ...history, ...messages.slice(head)] };
}
