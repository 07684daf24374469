import type { CanonicalRequest, CanonicalResponse, JsonObject, ToolCallPart } from '../core/types.js';
import { formatSchemaError, sharedJsonSchemaCache, type JsonSchemaCache } from './json-schema-cache.js';
import { clip, errorMessage, failed, PASSED, responseText, responseToolCalls, type Validator, type Verdict } from './validator.js';

type Parsed = { ok: true; value: unknown } | { ok: false; reason: string };

/**
 * Parses answer text as JSON: strict `JSON.parse` after trimming whitespace. A markdown code fence
 * fails on purpose: a client that asked for JSON mode parses the raw text and would choke on it.
 */
export function parseAnswerJson(text: string): Parsed {
  const trimmed = text.trim();
  if (trimmed === '') return { ok: false, reason: 'invalid JSON: no text' };
  if (trimmed.startsWith('```')) return { ok: false, reason: 'invalid JSON: wrapped in a markdown code fence' };
  try {
    return { ok: true, value: JSON.parse(trimmed) };
  } catch (error) {
    return { ok: false, reason: `invalid JSON: ${errorMessage(error)}` };
  }
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  return Array.isArray(value) ? 'array' : typeof value;
}

/** True when the answer is tool calls only: there is no text for JSON mode to apply to. */
function onlyToolCalls(response: CanonicalResponse, text: string): boolean {
  return text.trim() === '' && responseToolCalls(response).length > 0;
}

/**
 * `json`: the answer text parses as JSON. With `requireObject` (what `response_format:
 * json_object` promises) it must be an object. An answer of tool calls only passes.
 */
export function createJsonValidator(options: { requireObject?: boolean } = {}): Validator {
  return {
    name: 'json',
    validate(response) {
      const text = responseText(response);
      if (onlyToolCalls(response, text)) return PASSED;
      const parsed = parseAnswerJson(text);
      if (!parsed.ok) return failed(parsed.reason);
      if (options.requireObject && kindOf(parsed.value) !== 'object') return failed(`invalid JSON: expected an object, got ${kindOf(parsed.value)}`);
      return PASSED;
    },
  };
}

function requestSchema(request: CanonicalRequest): JsonObject | undefined {
  return request.responseFormat?.type === 'json_schema' ? request.responseFormat.schema : undefined;
}

/**
 * `json_schema`: the answer text is JSON valid against `schema`, or against the request's
 * `response_format` schema when none is configured (no schema at all: nothing to check). A schema
 * Ajv cannot compile is not the model's fault: the text must still parse, but is not checked.
 */
export function createJsonSchemaValidator(options: { schema?: JsonObject; cache?: JsonSchemaCache } = {}): Validator {
  const cache = options.cache ?? sharedJsonSchemaCache;
  return {
    name: 'json_schema',
    validate(response, request) {
      const schema = options.schema ?? requestSchema(request);
      if (schema === undefined) return PASSED;
      const text = responseText(response);
      if (onlyToolCalls(response, text)) return PASSED;
      const parsed = parseAnswerJson(text);
      if (!parsed.ok) return failed(parsed.reason);
      const compiled = cache.get(schema);
      if (!compiled.ok || compiled.validate(parsed.value)) return PASSED;
      return failed(`schema: ${formatSchemaError(compiled.validate.errors)}`);
    },
  };
}

function checkToolCall(call: ToolCallPart, request: CanonicalRequest, cache: JsonSchemaCache): string | undefined {
  const prefix = `tool call ${clip(call.name, 64)}`;
  const tools = request.tools ?? [];
  const tool = tools.find((candidate) => candidate.name === call.name);
  if (!tool) return tools.length === 0 ? `${prefix}: unknown tool (no tools were offered)` : `${prefix}: unknown tool`;
  // Providers send "" for a call without arguments; that is the empty object, not broken JSON.
  const text = call.arguments.trim() === '' ? '{}' : call.arguments;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return `${prefix}: arguments are not valid JSON (${errorMessage(error)})`;
  }
  if (kindOf(value) !== 'object') return `${prefix}: arguments are not a JSON object (got ${kindOf(value)})`;
  const compiled = cache.get(tool.parameters);
  if (!compiled.ok || compiled.validate(value)) return undefined;
  return `${prefix}: ${formatSchemaError(compiled.validate.errors)}`;
}

/**
 * `tool_args`: every tool call names a tool the request offered, and its arguments are a JSON
 * object valid against that tool's `parameters` (a schema Ajv cannot compile is not checked).
 */
export function createToolArgsValidator(options: { cache?: JsonSchemaCache } = {}): Validator {
  const cache = options.cache ?? sharedJsonSchemaCache;
  return {
    name: 'tool_args',
    validate(response, request): Verdict {
      let reasons: string[] | undefined;
      for (const part of response.content) {
        if (part.type !== 'tool-call') continue;
        const reason = checkToolCall(part, request, cache);
        if (reason !== undefined) (reasons ??= []).push(reason);
      }
      return reasons ? { ok: false, reasons } : PASSED;
    },
  };
}
