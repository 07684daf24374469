import type {
  CanonicalRequest,
  ContentPart,
  ImagePart,
  Message,
  ResponseFormat,
  TextPart,
  ToolChoice,
  ToolResultPart,
} from '../core/types.js';

type JsonRecord = Record<string, unknown>;

function imageUrl(image: ImagePart): string {
  if (image.url !== undefined) return image.url;
  return `data:${image.mediaType ?? 'image/png'};base64,${image.data ?? ''}`;
}

function toImagePart(image: ImagePart): JsonRecord {
  const body: JsonRecord = { url: imageUrl(image) };
  if (image.detail !== undefined) body.detail = image.detail;
  return { type: 'image_url', image_url: body };
}

/** One text part travels as a plain string, which every compatible server accepts. */
function textContent(parts: TextPart[]): string | JsonRecord[] {
  if (parts.length === 1) return parts[0].text;
  return parts.map((part) => ({ type: 'text', text: part.text }));
}

function userContent(parts: Array<TextPart | ImagePart>): string | JsonRecord[] {
  if (parts.length === 0) return '';
  if (parts.every((part) => part.type === 'text')) return textContent(parts as TextPart[]);
  return parts.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : toImagePart(part)));
}

function withName(message: JsonRecord, source: Message): JsonRecord {
  if (source.name !== undefined) message.name = source.name;
  return message;
}

function assistantMessage(message: Message): JsonRecord {
  let text = '';
  const toolCalls: JsonRecord[] = [];
  for (const part of message.content) {
    if (part.type === 'text') text += part.text;
    else if (part.type === 'tool-call') {
      toolCalls.push({ id: part.id, type: 'function', function: { name: part.name, arguments: part.arguments } });
    }
    // Reasoning parts stay behind: OpenAI-format upstreams neither accept nor need them.
  }
  const body: JsonRecord = { role: 'assistant', content: text === '' && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) body.tool_calls = toolCalls;
  return withName(body, message);
}

/**
 * Tool results become one `tool` message each, in order. OpenAI tool messages carry only text, so
 * images a tool returned follow in a user message after the last tool message.
 */
function toolMessages(results: ToolResultPart[], out: JsonRecord[]): ImagePart[] {
  const images: ImagePart[] = [];
  for (const result of results) {
    let text = '';
    for (const part of result.content) {
      if (part.type === 'text') text += text === '' ? part.text : `\n${part.text}`;
      else images.push(part);
    }
    out.push({ role: 'tool', tool_call_id: result.toolCallId, content: text });
  }
  return images;
}

function convertMessage(message: Message, out: JsonRecord[]): void {
  if (message.role === 'assistant') {
    out.push(assistantMessage(message));
    return;
  }
  const results: ToolResultPart[] = [];
  const rest: Array<TextPart | ImagePart> = [];
  for (const part of message.content) {
    if (part.type === 'tool-result') results.push(part);
    else if (part.type === 'text' || part.type === 'image') rest.push(part);
  }
  const images = results.length > 0 ? toolMessages(results, out) : [];
  if (message.role === 'tool') {
    if (images.length > 0) out.push({ role: 'user', content: userContent(images) });
    return;
  }
  if (results.length > 0 && rest.length === 0 && images.length === 0) return;
  if (message.role === 'system') {
    const texts = rest.filter((part): part is TextPart => part.type === 'text');
    out.push(withName({ role: 'system', content: texts.length === 0 ? '' : textContent(texts) }, message));
    return;
  }
  out.push(withName({ role: 'user', content: userContent([...images, ...rest]) }, message));
}

function toolChoiceBody(choice: ToolChoice): unknown {
  return typeof choice === 'string' ? choice : { type: 'function', function: { name: choice.name } };
}

function responseFormatBody(format: ResponseFormat): JsonRecord {
  if (format.type !== 'json_schema') return { type: format.type };
  const spec: JsonRecord = { name: format.name, schema: format.schema };
  if (format.strict !== undefined) spec.strict = format.strict;
  if (format.description !== undefined) spec.description = format.description;
  return { type: 'json_schema', json_schema: spec };
}

function setSampling(req: CanonicalRequest, body: JsonRecord): void {
  // `max_tokens` is what every compatible server understands; the openai flavor renames it.
  if (req.maxTokens !== undefined) body.max_tokens = req.maxTokens;
  if (req.temperature !== undefined) body.temperature = req.temperature;
  if (req.topP !== undefined) body.top_p = req.topP;
  if (req.stop !== undefined && req.stop.length > 0) body.stop = req.stop;
  if (req.seed !== undefined) body.seed = req.seed;
  if (req.reasoning?.effort !== undefined) body.reasoning_effort = req.reasoning.effort;
}

/**
 * Encodes a canonical request as an OpenAI Chat Completions body for `upstreamModel`. Streams
 * always ask for usage (`stream_options.include_usage`, SPEC PV-5); the client's wish to see it
 * is honoured by the client encoder. `extra` is spread only when it came from this dialect.
 */
export function toOpenAIChatRequest(req: CanonicalRequest, upstreamModel: string): Record<string, unknown> {
  const body: JsonRecord = req.extraDialect === 'openai-chat' && req.extra ? { ...req.extra } : {};
  body.model = upstreamModel;
  const messages: JsonRecord[] = [];
  for (const message of req.messages) convertMessage(message, messages);
  body.messages = messages;
  if (req.tools !== undefined && req.tools.length > 0) {
    body.tools = req.tools.map((tool) => {
      const fn: JsonRecord = { name: tool.name };
      if (tool.description !== undefined) fn.description = tool.description;
      fn.parameters = tool.parameters;
      if (tool.strict !== undefined) fn.strict = tool.strict;
      return { type: 'function', function: fn };
    });
  }
  if (req.toolChoice !== undefined) body.tool_choice = toolChoiceBody(req.toolChoice);
  if (req.parallelToolCalls !== undefined) body.parallel_tool_calls = req.parallelToolCalls;
  if (req.responseFormat !== undefined) body.response_format = responseFormatBody(req.responseFormat);
  setSampling(req, body);
  if (req.user !== undefined) body.user = req.user;
  if (req.metadata !== undefined) body.metadata = req.metadata;
  body.stream = req.stream;
  if (req.stream) body.stream_options = { include_usage: true };
  return body;
}

function hasCacheControl(parts: ContentPart[]): boolean {
  for (const part of parts) {
    if (part.type === 'text' && part.cacheControl !== undefined) return true;
    if (part.type === 'tool-result' && hasCacheControl(part.content)) return true;
  }
  return false;
}

/**
 * Canonical fields and foreign pass-through keys an OpenAI Chat upstream cannot carry, for the
 * `x-breakwater-dropped-params` header (SPEC API-3). Reasoning history is not listed: dropping it
 * is how this format works, not a lost parameter.
 */
export function droppedOpenAIChatParams(req: CanonicalRequest): string[] {
  const dropped: string[] = [];
  if (req.topK !== undefined) dropped.push('topK');
  if (req.reasoning?.budgetTokens !== undefined) dropped.push('reasoning.budgetTokens');
  const cached = req.messages.some((message) => hasCacheControl(message.content)) || req.tools?.some((tool) => tool.cacheControl !== undefined);
  if (cached) dropped.push('cacheControl');
  if (req.extra && req.extraDialect !== 'openai-chat') dropped.push(...Object.keys(req.extra));
  return dropped;
}
