import { BreakwaterError } from '../core/errors.js';
import type { EmbeddingRequest, EmbeddingResponse } from '../core/types.js';

type JsonRecord = Record<string, unknown>;

const KNOWN_FIELDS: ReadonlySet<string> = new Set(['model', 'input', 'dimensions', 'encoding_format', 'user']);

function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function invalid(param: string | undefined, message: string): BreakwaterError {
  return new BreakwaterError('invalid_request', message, param === undefined ? {} : { param });
}

function parseInput(raw: unknown): string[] {
  if (typeof raw === 'string') {
    if (raw === '') throw invalid('input', 'input must not be an empty string');
    return [raw];
  }
  if (!Array.isArray(raw) || raw.length === 0) throw invalid('input', 'input must be a non-empty string or a non-empty array of strings');
  return raw.map((item, i) => {
    if (typeof item === 'number' || Array.isArray(item)) {
      throw invalid(`input[${i}]`, 'token-array input is not supported; send the text instead');
    }
    if (typeof item !== 'string' || item === '') throw invalid(`input[${i}]`, `input[${i}] must be a non-empty string`);
    return item;
  });
}

/**
 * Decodes a client's `POST /v1/embeddings` body. Token-array input is refused (other providers
 * cannot take it); unknown fields go to `extra` for OpenAI-format upstreams.
 */
export function parseOpenAIEmbeddingRequest(body: unknown): EmbeddingRequest {
  if (!isRecord(body)) throw invalid(undefined, 'the request body must be a JSON object');
  if (typeof body.model !== 'string' || body.model === '') throw invalid('model', 'model must be a non-empty string');
  const request: EmbeddingRequest = { model: body.model, input: parseInput(body.input) };
  if (body.dimensions != null) {
    const dimensions = body.dimensions;
    if (typeof dimensions !== 'number' || !Number.isSafeInteger(dimensions) || dimensions < 1) {
      throw invalid('dimensions', 'dimensions must be a positive integer');
    }
    request.dimensions = dimensions;
  }
  if (body.encoding_format != null) {
    if (body.encoding_format !== 'float' && body.encoding_format !== 'base64') {
      throw invalid('encoding_format', "encoding_format must be 'float' or 'base64'");
    }
    request.encodingFormat = body.encoding_format;
  }
  if (body.user != null) {
    if (typeof body.user !== 'string') throw invalid('user', 'user must be a string');
    request.user = body.user;
  }
  for (const key of Object.keys(body)) {
    if (!KNOWN_FIELDS.has(key)) (request.extra ??= {})[key] = body[key];
  }
  return request;
}

/**
 * Encodes an embeddings request for an OpenAI-format upstream. Floats are always requested so
 * every compatible server understands; the client's base64 wish is met on the way back.
 */
export function toOpenAIEmbeddingRequest(req: EmbeddingRequest, upstreamModel: string): Record<string, unknown> {
  const body: JsonRecord = req.extra ? { ...req.extra } : {};
  body.model = upstreamModel;
  body.input = req.input;
  if (req.dimensions !== undefined) body.dimensions = req.dimensions;
  body.encoding_format = 'float';
  if (req.user !== undefined) body.user = req.user;
  return body;
}

/** Little-endian float32 bytes in base64, as OpenAI encodes `encoding_format: base64`. */
export function encodeEmbeddingBase64(vector: number[]): string {
  const bytes = Buffer.allocUnsafe(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i], i * 4);
  return bytes.toString('base64');
}

/** The inverse of {@link encodeEmbeddingBase64}. */
export function decodeEmbeddingBase64(text: string): number[] {
  const bytes = Buffer.from(text, 'base64');
  const vector = new Array<number>(Math.floor(bytes.length / 4));
  for (let i = 0; i < vector.length; i++) vector[i] = bytes.readFloatLE(i * 4);
  return vector;
}

function vectorOf(raw: unknown): number[] {
  if (typeof raw === 'string') return decodeEmbeddingBase64(raw);
  return Array.isArray(raw) ? raw.map((value) => (typeof value === 'number' ? value : 0)) : [];
}

/** Decodes an upstream embeddings answer (lenient), vectors in input order by `index`. */
export function parseOpenAIEmbeddingResponse(body: unknown): EmbeddingResponse {
  const root = isRecord(body) ? body : {};
  const data = Array.isArray(root.data) ? root.data.filter(isRecord) : [];
  const ordered = data.every((item) => typeof item.index === 'number')
    ? [...data].sort((a, b) => (a.index as number) - (b.index as number))
    : data;
  const usage = isRecord(root.usage) ? root.usage : {};
  const inputTokens = typeof usage.prompt_tokens === 'number' ? usage.prompt_tokens : typeof usage.total_tokens === 'number' ? usage.total_tokens : 0;
  return {
    model: typeof root.model === 'string' ? root.model : '',
    embeddings: ordered.map((item) => vectorOf(item.embedding)),
    usage: { inputTokens },
  };
}

/** Encodes embeddings as the client's `list` JSON: float arrays, or base64 when it asked. */
export function toOpenAIEmbeddingResponse(
  res: EmbeddingResponse,
  publicModel: string,
  encodingFormat: 'float' | 'base64' = 'float',
): Record<string, unknown> {
  return {
    object: 'list',
    data: res.embeddings.map((vector, index) => ({
      object: 'embedding',
      index,
      embedding: encodingFormat === 'base64' ? encodeEmbeddingBase64(vector) : vector,
    })),
    model: publicModel,
    usage: { prompt_tokens: res.usage.inputTokens, total_tokens: res.usage.inputTokens },
  };
}
