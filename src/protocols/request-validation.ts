import { BreakwaterError } from '../core/errors.js';
import type { ImagePart } from '../core/types.js';

// Field validators shared by the client-dialect request parsers (OpenAI chat, OpenAI Responses):
// one wording for "must be a string" and one `param` convention across endpoints.

/** A JSON object as parsed from a client body. */
export type JsonRecord = Record<string, unknown>;

/** A 400 `invalid_request` naming the offending field. */
export function invalid(param: string | undefined, message: string): BreakwaterError {
  return new BreakwaterError('invalid_request', message, param === undefined ? {} : { param });
}

/** True for a plain JSON object (not null, not an array). */
export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A short description of a bad value for error messages. */
export function describe(value: unknown): string {
  if (value === undefined) return 'nothing (the field is missing)';
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `'${value.length > 40 ? `${value.slice(0, 40)}…` : value}'`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}

/** The value when it is a string, else a 400 naming `param`. */
export function requireString(value: unknown, param: string): string {
  if (typeof value !== 'string') throw invalid(param, `${param} must be a string, got ${describe(value)}`);
  return value;
}

/** The value when it is a JSON object, else a 400 naming `param`. */
export function requireRecord(value: unknown, param: string): JsonRecord {
  if (!isRecord(value)) throw invalid(param, `${param} must be an object, got ${describe(value)}`);
  return value;
}

/** A string, or undefined for null/absent: OpenAI clients send `null` for "not set". */
export function optionalString(value: unknown, param: string): string | undefined {
  return value == null ? undefined : requireString(value, param);
}

/** A boolean, or undefined for null/absent. */
export function optionalBoolean(value: unknown, param: string): boolean | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'boolean') throw invalid(param, `${param} must be true or false, got ${describe(value)}`);
  return value;
}

/** A finite number within [min, max], or undefined for null/absent. */
export function optionalNumber(value: unknown, param: string, min: number, max: number): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw invalid(param, `${param} must be a number between ${min} and ${max}, got ${describe(value)}`);
  }
  return value;
}

/** A safe integer ≥ min, or undefined for null/absent. */
export function optionalInteger(value: unknown, param: string, min: number): number | undefined {
  if (value == null) return undefined;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    const bound = min === Number.MIN_SAFE_INTEGER ? '' : ` ≥ ${min}`;
    throw invalid(param, `${param} must be an integer${bound}, got ${describe(value)}`);
  }
  return value;
}

/** Splits a base64 data URL so other dialects get raw data and a media type. */
export function imageFromUrl(url: string, detail: string | undefined): ImagePart {
  const image: ImagePart = { type: 'image' };
  const comma = url.indexOf(',');
  const header = url.startsWith('data:') && comma > 0 ? url.slice(5, comma) : '';
  if (header.endsWith(';base64') && header.length > 7) {
    image.mediaType = header.slice(0, -7);
    image.data = url.slice(comma + 1);
  } else {
    image.url = url;
  }
  if (detail !== undefined) image.detail = detail;
  return image;
}
