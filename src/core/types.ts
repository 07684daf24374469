import type { BreakwaterError } from './errors.js';

/** Any JSON value. */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };
/** A JSON object, e.g. a JSON Schema. */
export type JsonObject = { [key: string]: JsonValue };

/** The wire formats Breakwater speaks, to clients and to upstreams. */
export type Dialect = 'openai-chat' | 'anthropic-messages' | 'openai-responses';

/** A text part of a message. */
export interface TextPart {
  type: 'text';
  text: string;
  /** Anthropic prompt-caching marker, kept so it survives a same-dialect round trip. */
  cacheControl?: JsonObject;
}

/** An image part: a URL (http(s) or data:) or base64 data with its media type. */
export interface ImagePart {
  type: 'image';
  url?: string;
  data?: string;
  mediaType?: string;
  /** OpenAI's `detail` hint (`auto`, `low`, `high`). */
  detail?: string;
}

/** A tool call made by the assistant. `arguments` is the JSON text exactly as the model wrote it. */
export interface ToolCallPart {
  type: 'tool-call';
  id: string;
  name: string;
  arguments: string;
}

/** The result of a tool call, sent back by the client. */
export interface ToolResultPart {
  type: 'tool-result';
  toolCallId: string;
  content: Array<TextPart | ImagePart>;
  isError?: boolean;
}

/** Model reasoning ("thinking"). `signature` is Anthropic's opaque integrity token. */
export interface ReasoningPart {
  type: 'reasoning';
  text: string;
  signature?: string;
  /** Anthropic `redacted_thinking`: the opaque encrypted payload, passed back verbatim; `text` is empty. */
  redactedData?: string;
}

/** Any part of a message. */
export type ContentPart = TextPart | ImagePart | ToolCallPart | ToolResultPart | ReasoningPart;

/** Who wrote a message. System messages stay in order; adapters that need one system prompt hoist them. */
export type Role = 'system' | 'user' | 'assistant' | 'tool';

/** One message of a conversation. */
export interface Message {
  role: Role;
  content: ContentPart[];
  /** OpenAI's optional participant name. */
  name?: string;
}

/** A function tool the model may call. */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments. */
  parameters: JsonObject;
  strict?: boolean;
  /** Anthropic prompt-caching marker on the tool definition. */
  cacheControl?: JsonObject;
}

/** How the model may use tools. */
export type ToolChoice = 'auto' | 'none' | 'required' | { name: string };

/** The requested output format. */
export type ResponseFormat =
  | { type: 'text' }
  | { type: 'json_object' }
  | { type: 'json_schema'; name: string; schema: JsonObject; strict?: boolean; description?: string };

/**
 * A model request in Breakwater's canonical shape. Adapters encode it for their upstream; client
 * dialects decode into it. Fields a dialect has but the canonical model does not go to `extra`,
 * passed unchanged to an upstream of the same dialect (`extraDialect`) and reported as dropped
 * otherwise.
 */
export interface CanonicalRequest {
  /** The public model name the client asked for (alias). */
  model: string;
  messages: Message[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  responseFormat?: ResponseFormat;
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  stop?: string[];
  seed?: number;
  /** The end user, for provider abuse monitoring and attribution. */
  user?: string;
  metadata?: Record<string, string>;
  /** Reasoning effort hint (`low`, `medium`, `high`) or token budget, where the model supports one. */
  reasoning?: { effort?: string; budgetTokens?: number };
  stream: boolean;
  /** The client asked to see usage in the stream (OpenAI `stream_options.include_usage`). */
  includeUsage?: boolean;
  /** Unknown fields of the client's body, passed through to same-dialect upstreams. */
  extra?: Record<string, unknown>;
  extraDialect?: Dialect;
}

/** Why generation stopped. */
export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'error' | 'other';

/**
 * Token usage. `inputTokens` counts every prompt token, cached ones included (OpenAI semantics);
 * `cacheReadTokens` and `cacheWriteTokens` are the parts of it read from or written to a prompt
 * cache. `reasoningTokens` is the part of `outputTokens` spent reasoning.
 */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens?: number;
  cacheWriteTokens?: number;
  reasoningTokens?: number;
  /** Counted by Breakwater from text because the upstream reported none (SPEC PV-5). */
  estimated?: boolean;
}

/** Provider rate-limit facts read from response headers (SPEC PV-8). */
export interface RateLimitInfo {
  limitRequests?: number;
  remainingRequests?: number;
  limitTokens?: number;
  remainingTokens?: number;
  /** Milliseconds until the request/token windows reset. */
  resetRequestsMs?: number;
  resetTokensMs?: number;
  retryAfterMs?: number;
}

/** A complete (non-streamed) model answer. */
export interface CanonicalResponse {
  id: string;
  /** The upstream model that produced it, as the upstream named it. */
  model: string;
  /** Text, reasoning and tool-call parts in the order the model produced them. */
  content: Array<TextPart | ReasoningPart | ToolCallPart>;
  finishReason: FinishReason;
  /** The upstream's own stop reason string, for diagnostics. */
  rawFinishReason?: string;
  /** The stop sequence that ended generation, when the upstream says which (Anthropic does). */
  stopSequence?: string;
  usage: Usage;
  rateLimit?: RateLimitInfo;
  created?: number;
}

/** The first part of every stream: identity of the response. */
export interface StartPart {
  type: 'start';
  id: string;
  model: string;
  rateLimit?: RateLimitInfo;
}
/** A fragment of answer text. */
export interface TextDeltaPart {
  type: 'text-delta';
  text: string;
}
/** A fragment of reasoning text (or its signature, which arrives last). */
export interface ReasoningDeltaPart {
  type: 'reasoning-delta';
  text: string;
  signature?: string;
  /** A whole Anthropic `redacted_thinking` block; arrives alone, `text` is empty. */
  redactedData?: string;
}
/** A tool call begins; `index` numbers tool calls 0, 1, … within the response. */
export interface ToolCallStartPart {
  type: 'tool-call-start';
  index: number;
  id: string;
  name: string;
}
/** A fragment of a tool call's JSON arguments. */
export interface ToolCallDeltaPart {
  type: 'tool-call-delta';
  index: number;
  argumentsDelta: string;
}
/** Usage so far; the last one seen is final. */
export interface UsagePart {
  type: 'usage';
  usage: Usage;
}
/** Generation ended normally. Always the last part of a successful stream. */
export interface FinishPart {
  type: 'finish';
  finishReason: FinishReason;
  rawFinishReason?: string;
  /** The stop sequence that ended generation, when the upstream says which. */
  stopSequence?: string;
  usage?: Usage;
}
/** Generation failed after the stream began; emitted by the pipeline toward the client encoder. */
export interface ErrorPart {
  type: 'error';
  error: BreakwaterError;
  usage?: Usage;
}

/** One canonical stream event. Upstream decoders produce them; client encoders consume them. */
export type StreamPart =
  | StartPart
  | TextDeltaPart
  | ReasoningDeltaPart
  | ToolCallStartPart
  | ToolCallDeltaPart
  | UsagePart
  | FinishPart
  | ErrorPart;

/** An embeddings request. */
export interface EmbeddingRequest {
  model: string;
  input: string[];
  dimensions?: number;
  encodingFormat?: 'float' | 'base64';
  user?: string;
  extra?: Record<string, unknown>;
}

/** An embeddings answer. */
export interface EmbeddingResponse {
  model: string;
  embeddings: number[][];
  usage: { inputTokens: number };
}


/** The zero usage. */
export const ZERO_USAGE: Readonly<Usage> = Object.freeze({ inputTokens: 0, outputTokens: 0 });
