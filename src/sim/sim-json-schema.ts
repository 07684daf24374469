import type { Random } from '../core/clock.js';
import type { JsonObject, JsonValue } from '../core/types.js';
import { hexId, pick, randomInt } from './sim-hash.js';
import { simPhrase, simWord } from './sim-text.js';

/**
 * Generates a value valid against a JSON Schema, for simulated structured output and tool
 * arguments. Covers what LLM schemas use: objects (properties, required, additionalProperties,
 * min/maxProperties), strings (enum, const, min/maxLength, common formats), numbers and integers
 * (bounds, exclusive bounds, multipleOf), booleans, null, arrays (items, prefixItems, min/maxItems,
 * uniqueItems), `anyOf`/`oneOf` (first branch), `allOf` (merged), local `$ref`s and type unions.
 * `pattern` is not honoured (the simulator cannot invert a regex).
 */
export function generateFromJsonSchema(schema: JsonValue, random: Random): JsonValue {
  return generate(schema, { root: schema, random, depth: 0 });
}

interface GenerateContext {
  root: JsonValue;
  random: Random;
  depth: number;
}

/** Past this depth, recursive schemas get their smallest valid shape. */
const MAX_DEPTH = 8;
/** Past this depth, arrays get only their minimum items, so recursive trees stay small. */
const BUSHY_DEPTH = 4;

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function generate(schema: JsonValue, ctx: GenerateContext): JsonValue {
  if (schema === true || !isObject(schema)) return schema === false ? null : simPhrase(ctx.random);
  if (typeof schema.$ref === 'string') {
    // A reference cycle with no object or array in between would never bottom out.
    if (ctx.depth > 2 * MAX_DEPTH) return null;
    return generate(resolveRef(ctx.root, schema.$ref), { ...ctx, depth: ctx.depth + 1 });
  }
  if ('const' in schema) return schema.const as JsonValue;
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return pick(ctx.random, schema.enum);
  const branches = schema.anyOf ?? schema.oneOf;
  if (Array.isArray(branches) && branches.length > 0) {
    const chosen = branches.find((branch) => !(isObject(branch) && branch.type === 'null')) ?? branches[0];
    return generate(chosen as JsonValue, ctx);
  }
  if (Array.isArray(schema.allOf)) return generate(mergeAllOf(schema), ctx);
  const inner = { ...ctx, depth: ctx.depth + 1 };
  switch (schemaType(schema, ctx.depth)) {
    case 'object':
      return generateObject(schema, inner);
    case 'array':
      return generateArray(schema, inner);
    case 'integer':
      return generateNumber(schema, ctx.random, true);
    case 'number':
      return generateNumber(schema, ctx.random, false);
    case 'boolean':
      return ctx.random() < 0.5;
    case 'null':
      return null;
    default:
      return generateString(schema, ctx.random);
  }
}

function schemaType(schema: JsonObject, depth: number): string {
  const type = schema.type;
  if (typeof type === 'string') return type;
  if (Array.isArray(type)) {
    if (depth >= MAX_DEPTH && type.includes('null')) return 'null';
    return (type.find((t) => t !== 'null') ?? 'null') as string;
  }
  if (isObject(schema.properties) || 'additionalProperties' in schema || 'required' in schema) return 'object';
  if ('items' in schema || 'prefixItems' in schema) return 'array';
  if ('minimum' in schema || 'maximum' in schema) return 'number';
  return 'string';
}

function resolveRef(root: JsonValue, ref: string): JsonValue {
  if (!ref.startsWith('#')) return {};
  let node: JsonValue | undefined = root;
  for (const raw of ref.slice(1).split('/').filter(Boolean)) {
    const key = decodeURIComponent(raw).replace(/~1/g, '/').replace(/~0/g, '~');
    node = isObject(node) ? node[key] : Array.isArray(node) ? node[Number(key)] : undefined;
  }
  return node ?? {};
}

function mergeAllOf(schema: JsonObject): JsonObject {
  const { allOf, ...rest } = schema;
  const merged: JsonObject = { ...rest };
  for (const part of allOf as JsonValue[]) {
    if (!isObject(part)) continue;
    const properties = { ...(merged.properties as JsonObject | undefined), ...(part.properties as JsonObject | undefined) };
    const required = [...((merged.required as JsonValue[]) ?? []), ...((part.required as JsonValue[]) ?? [])];
    Object.assign(merged, part, { properties, required });
  }
  return merged;
}

function generateObject(schema: JsonObject, ctx: GenerateContext): JsonObject {
  const out: JsonObject = {};
  const properties = isObject(schema.properties) ? schema.properties : {};
  const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
  for (const [key, propertySchema] of Object.entries(properties)) {
    if (ctx.depth >= MAX_DEPTH && !required.has(key)) continue;
    out[key] = generate(propertySchema, ctx);
  }
  for (const key of required) {
    if (!(key in out)) out[key] = simPhrase(ctx.random);
  }
  const extra = schema.additionalProperties;
  if (extra === false) return out;
  const wanted = typeof schema.minProperties === 'number' ? schema.minProperties : 0;
  for (let i = 0; Object.keys(out).length < wanted; i++) {
    out[`${simWord(ctx.random)}_${i + 1}`] = isObject(extra) ? generate(extra, ctx) : simPhrase(ctx.random);
  }
  return out;
}

function generateArray(schema: JsonObject, ctx: GenerateContext): JsonValue[] {
  const prefix = Array.isArray(schema.prefixItems) ? schema.prefixItems : [];
  const items = schema.items === undefined ? {} : schema.items;
  const min = typeof schema.minItems === 'number' ? schema.minItems : 0;
  const max = typeof schema.maxItems === 'number' ? schema.maxItems : Math.max(min, 3);
  const count = ctx.depth >= BUSHY_DEPTH ? min : Math.min(max, Math.max(min, prefix.length, randomInt(ctx.random, 1, 3)));
  const out: JsonValue[] = [];
  const seen = new Set<string>();
  for (let i = 0, tries = 0; out.length < count && tries < count * 20; tries++) {
    const itemSchema = i < prefix.length ? (prefix[i] as JsonValue) : Array.isArray(items) ? (items[i] ?? {}) : items;
    const value = generate(itemSchema as JsonValue, ctx);
    if (schema.uniqueItems === true && seen.has(JSON.stringify(value))) continue;
    seen.add(JSON.stringify(value));
    out.push(value);
    i++;
  }
  return out;
}

function generateNumber(schema: JsonObject, random: Random, integer: boolean): number {
  const exclusiveMin = typeof schema.exclusiveMinimum === 'number' ? schema.exclusiveMinimum : undefined;
  const exclusiveMax = typeof schema.exclusiveMaximum === 'number' ? schema.exclusiveMaximum : undefined;
  const step = integer ? 1 : 0.01;
  let low = typeof schema.minimum === 'number' ? schema.minimum : exclusiveMin !== undefined ? exclusiveMin + step : undefined;
  let high = typeof schema.maximum === 'number' ? schema.maximum : exclusiveMax !== undefined ? exclusiveMax - step : undefined;
  low ??= high !== undefined ? Math.min(0, high - 100) : 0;
  high ??= low + 100;
  if (integer) {
    low = Math.ceil(low);
    high = Math.floor(high);
  }
  const multiple = typeof schema.multipleOf === 'number' && schema.multipleOf > 0 ? schema.multipleOf : undefined;
  if (multiple !== undefined) {
    const first = Math.ceil(low / multiple);
    const last = Math.floor(high / multiple);
    return last >= first ? randomInt(random, first, last) * multiple : low;
  }
  if (integer) return high >= low ? randomInt(random, low, high) : low;
  const value = Math.round((low + random() * (high - low)) * 100) / 100;
  return Math.min(high, Math.max(low, value));
}

function generateString(schema: JsonObject, random: Random): string {
  let text = formatted(typeof schema.format === 'string' ? schema.format : '', random) ?? simPhrase(random);
  const min = typeof schema.minLength === 'number' ? schema.minLength : 0;
  const max = typeof schema.maxLength === 'number' ? schema.maxLength : Infinity;
  while ([...text].length < min) text += ` ${simWord(random)}`;
  if ([...text].length > max) text = [...text].slice(0, max).join('');
  return text;
}

function formatted(format: string, random: Random): string | undefined {
  const day = randomInt(random, 1, 28).toString().padStart(2, '0');
  const month = randomInt(random, 1, 12).toString().padStart(2, '0');
  switch (format) {
    case 'date-time':
      return `2024-${month}-${day}T${randomInt(random, 10, 23)}:${randomInt(random, 10, 59)}:00Z`;
    case 'date':
      return `2024-${month}-${day}`;
    case 'time':
      return `${randomInt(random, 10, 23)}:${randomInt(random, 10, 59)}:00Z`;
    case 'email':
      return `${simWord(random).replace(/[^a-z]/g, '')}@example.com`;
    case 'uri':
    case 'url':
      return `https://example.com/${simWord(random).replace(/[^a-z]/g, '')}`;
    case 'uuid': {
      const hex = hexId(32, random());
      return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20)}`;
    }
    case 'hostname':
      return 'api.example.com';
    case 'ipv4':
      return `10.0.${randomInt(random, 0, 255)}.${randomInt(random, 1, 254)}`;
    default:
      return undefined;
  }
}
