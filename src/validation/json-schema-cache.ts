import { createRequire } from 'node:module';
import type { Ajv, ErrorObject, ValidateFunction } from 'ajv';
import type { JsonObject } from '../core/types.js';
import { clip, errorMessage } from './validator.js';

/** A compiled schema, or why it could not be compiled. */
export type CompiledSchema = { ok: true; validate: ValidateFunction } | { ok: false; error: string };

/** Options of {@link createJsonSchemaCache}. */
export interface JsonSchemaCacheOptions {
  /** Most compiled schemas kept; the least recently used is dropped past it. */
  maxEntries?: number;
}

/** Compiles JSON Schemas once per distinct schema text, in a bounded LRU. */
export interface JsonSchemaCache {
  /** The compiled schema; a schema Ajv rejects is cached as an error too, so it is not retried per request. */
  get(schema: JsonObject): CompiledSchema;
  /** Compilations so far (misses), for tests and metrics. */
  readonly compiles: number;
  readonly size: number;
}

/**
 * Ajv costs ~60 ms to import, and only requests with a JSON Schema (or a configured schema
 * validator) need it: it is required on first compile rather than at start (SPEC CS-1),
 * synchronously so `get()` stays synchronous. Under the CommonJS bundle `require` exists and
 * esbuild follows the literal call, so the bundle carries ajv (evaluated only here); from ES
 * modules (tsx, tsc's dist/) it is required from node_modules.
 */
function createAjv(): Ajv {
  const { Ajv: AjvClass } = (typeof require === 'function' ? require('ajv') : createRequire(import.meta.url)('ajv')) as typeof import('ajv');
  return new AjvClass({ strict: false, allErrors: false, addUsedSchema: false, validateFormats: false });
}

interface Entry {
  compiled: CompiledSchema;
  /** The object Ajv compiled, so it can be dropped from Ajv's own cache on eviction. */
  source: JsonObject;
}

/**
 * Creates a schema cache over one Ajv 8 instance (`strict: false` so provider-specific keywords
 * pass, first error only). `format` is not checked: Ajv has no formats without ajv-formats and
 * would otherwise refuse every schema using `date-time` or `email`. A top-level `$schema` is
 * dropped because Ajv knows only draft-07 meta-schemas and providers accept any. Schemas are also
 * never registered by `$id`, so two requests with the same `$id` cannot collide.
 */
export function createJsonSchemaCache(options: JsonSchemaCacheOptions = {}): JsonSchemaCache {
  const maxEntries = Math.max(1, options.maxEntries ?? 256);
  let ajv: Ajv | undefined;
  // Keyed by object identity first: config schemas are the same object on every request.
  const byObject = new WeakMap<JsonObject, Entry>();
  // Map iteration order is insertion order, so re-inserting on a hit makes the first key the LRU.
  const byText = new Map<string, Entry>();
  let compiles = 0;

  function compile(schema: JsonObject): Entry {
    compiles++;
    const { $schema: _ignored, ...source } = schema;
    ajv ??= createAjv();
    try {
      return { compiled: { ok: true, validate: ajv.compile(source) }, source };
    } catch (error) {
      return { compiled: { ok: false, error: errorMessage(error) }, source };
    }
  }

  // lint-allow-literal-accessor: one cache per process
  return {
    get(schema) {
      // An identity hit skips serialising; it stays valid after LRU eviction because Ajv's compiled
      // function does not need Ajv's cache, and the WeakMap lets it go with the schema object.
      const known = byObject.get(schema);
      if (known) return known.compiled;
      const text = JSON.stringify(schema);
      let entry = byText.get(text);
      if (entry) byText.delete(text);
      else entry = compile(schema);
      byText.set(text, entry);
      byObject.set(schema, entry);
      if (byText.size > maxEntries) {
        const [oldestText, oldest] = byText.entries().next().value as [string, Entry];
        byText.delete(oldestText);
        ajv?.removeSchema(oldest.source);
      }
      return entry.compiled;
    },
    get compiles() {
      return compiles;
    },
    get size() {
      return byText.size;
    },
  };
}

/** The process-wide cache, so a hot route compiles its schema once. */
export const sharedJsonSchemaCache: JsonSchemaCache = createJsonSchemaCache();

/** Ajv's first error as `/age must be integer`; the root is `/`. */
export function formatSchemaError(errors: ErrorObject[] | null | undefined): string {
  const error = errors?.[0];
  if (!error) return 'does not match the schema';
  const path = error.instancePath === '' ? '/' : error.instancePath;
  const extra = error.keyword === 'additionalProperties' ? ` (${String(error.params.additionalProperty)})` : '';
  return clip(`${path} ${error.message ?? 'is invalid'}${extra}`);
}
