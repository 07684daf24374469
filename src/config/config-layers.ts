import type { z } from 'zod';
import { objectKeys, schemaAt, schemaKind } from './schema-paths.js';

type Path = Array<string | number>;

/** Where each value that did not come from the YAML file was set, keyed by {@link originKey}. */
export type ConfigOrigins = Map<string, string>;

/** The key of a path in {@link ConfigOrigins}. */
export function originKey(path: ReadonlyArray<string | number>): string {
  return JSON.stringify(path);
}

/** The origin of the value at `path`: the longest prefix of it set by the environment, a flag or a default. */
export function originOf(origins: ConfigOrigins, path: ReadonlyArray<string | number>): string | undefined {
  for (let length = path.length; length > 0; length--) {
    const origin = origins.get(originKey(path.slice(0, length)));
    if (origin) return origin;
  }
  return undefined;
}

/** True for a plain object (not an array or null). */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Sets a nested value, replacing whatever non-object stands in the way. */
export function setIn(target: Record<string, unknown>, path: ReadonlyArray<string | number>, value: unknown): void {
  let node = target;
  for (const segment of path.slice(0, -1)) {
    const next = node[segment];
    if (!isPlainObject(next)) node[segment] = {};
    node = node[segment] as Record<string, unknown>;
  }
  node[path[path.length - 1]] = value;
}

/** Env variables with their own meaning, never mapped onto config paths. */
const SPECIAL_VARIABLES = new Set(['BREAKWATER_KEY_PEPPER', 'BREAKWATER_ADMIN_KEY', 'BREAKWATER_CONFIG']);
const ENV_PREFIX = 'BREAKWATER_';
const NUMBER = /^-?\d+(\.\d+)?$/;

const normalize = (name: string) => name.toLowerCase().replace(/[-_]/g, '');
const camelCase = (segment: string) => segment.toLowerCase().replace(/_([a-z0-9])/g, (_, c: string) => c.toUpperCase());

function tryJson(value: string): unknown {
  try {
    return JSON.parse(value);
  } catch {
    return value;
  }
}

/** An env string as the type its config path wants; anything unclear stays a string for zod to judge. */
function coerceEnvValue(value: string, schema: z.ZodType | undefined): unknown {
  const kind = schema ? schemaKind(schema) : 'unknown';
  if (kind === 'string' || kind === 'enum') return value;
  if (kind === 'number') return NUMBER.test(value) ? Number(value) : value;
  if (kind === 'boolean') return value === 'true' ? true : value === 'false' ? false : value;
  if (kind === 'array') {
    return value.trimStart().startsWith('[') ? tryJson(value) : value.split(',').map((s) => s.trim()).filter(Boolean);
  }
  if (kind === 'object' || kind === 'record') return tryJson(value);
  if (NUMBER.test(value)) return Number(value);
  if (value === 'true' || value === 'false') return value === 'true';
  return /^\s*[[{]/.test(value) ? tryJson(value) : value;
}

/**
 * Maps `BREAKWATER_SERVER__MAX_BODY_BYTES` to `server.maxBodyBytes`: segments match schema keys
 * ignoring case and underscores; under a record (providers, models) an existing entry is matched
 * the same way, else the segment is used lowercased.
 */
function envPath(root: z.ZodType, raw: Record<string, unknown>, segments: string[]): Path | undefined {
  const path: Path = [];
  let schema: z.ZodType | undefined = root;
  let node: unknown = raw;
  for (const segment of segments) {
    const kind: string = schema ? schemaKind(schema) : 'unknown';
    const existing = isPlainObject(node) ? Object.keys(node) : [];
    let key: string | undefined;
    if (kind === 'object') key = objectKeys(schema!).find((k) => normalize(k) === normalize(segment));
    if (path.length === 0 && key === undefined) return undefined;
    key ??= existing.find((k) => normalize(k) === normalize(segment)) ?? (kind === 'record' ? segment.toLowerCase() : camelCase(segment));
    path.push(key);
    schema = schema && schemaAt(schema, [key]);
    node = isPlainObject(node) ? node[key] : undefined;
  }
  return path;
}

/** Applies `BREAKWATER_*` variables whose name nests with `__` (SPEC OPS-1), in name order. */
export function applyEnvironment(root: z.ZodType, raw: Record<string, unknown>, env: NodeJS.ProcessEnv, origins: ConfigOrigins): void {
  for (const name of Object.keys(env).sort()) {
    const value = env[name];
    if (value === undefined || !name.startsWith(ENV_PREFIX) || SPECIAL_VARIABLES.has(name)) continue;
    const segments = name.slice(ENV_PREFIX.length).split('__');
    if (segments.length < 2 || segments.some((segment) => segment === '')) continue;
    const path = envPath(root, raw, segments);
    if (!path) continue;
    setIn(raw, path, coerceEnvValue(value, schemaAt(root, path)));
    origins.set(originKey(path), `env ${name}`);
  }
}

/** Deep-merges flag overrides (the last layer); arrays and scalars replace, undefined is skipped. */
export function applyOverrides(raw: Record<string, unknown>, overrides: unknown, origins: ConfigOrigins, path: Path = []): void {
  if (!isPlainObject(overrides)) return;
  for (const [key, value] of Object.entries(overrides)) {
    if (value === undefined) continue;
    const here = [...path, key];
    if (isPlainObject(value)) {
      if (!isPlainObject(raw[key])) raw[key] = {};
      applyOverrides(raw[key] as Record<string, unknown>, value, origins, here);
    } else {
      raw[key] = structuredClone(value);
      origins.set(originKey(here), 'flag');
    }
  }
}
