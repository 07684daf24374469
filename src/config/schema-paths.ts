import type { z } from 'zod';

// zod 4 keeps a schema's structure in `_zod.def`; only the fields read here are described.
interface SchemaDef {
  type: string;
  shape?: Record<string, z.ZodType>;
  valueType?: z.ZodType;
  element?: z.ZodType;
  innerType?: z.ZodType;
  in?: z.ZodType;
  options?: z.ZodType[];
  entries?: Record<string, string | number>;
}

const WRAPPERS = new Set(['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional']);

function defOf(schema: z.ZodType): SchemaDef {
  return (schema as unknown as { _zod: { def: SchemaDef } })._zod.def;
}

/** The schema with optional/default/prefault wrappers removed. */
export function unwrapSchema(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (let def = defOf(current); ; def = defOf(current)) {
    if (WRAPPERS.has(def.type) && def.innerType) current = def.innerType;
    else if (def.type === 'pipe' && def.in) current = def.in;
    else return current;
  }
}

function child(schema: z.ZodType, segment: string | number): z.ZodType | undefined {
  const def = defOf(unwrapSchema(schema));
  if (def.type === 'object') return typeof segment === 'string' ? def.shape?.[segment] : undefined;
  if (def.type === 'record') return def.valueType;
  if (def.type === 'array') return def.element;
  if (def.type === 'union') {
    for (const option of def.options ?? []) {
      const found = child(option, segment);
      if (found) return found;
    }
  }
  return undefined;
}

/** The schema governing the value at `path`, or undefined when the path leaves the schema. */
export function schemaAt(root: z.ZodType, path: ReadonlyArray<string | number>): z.ZodType | undefined {
  let current: z.ZodType | undefined = root;
  for (const segment of path) {
    if (!current) return undefined;
    current = child(current, segment);
  }
  return current;
}

/** What kind of value a schema wants: `object`, `record`, `array`, `string`, `number`, `boolean`, `enum`, … */
export function schemaKind(schema: z.ZodType): string {
  return defOf(unwrapSchema(schema)).type;
}

/** The keys an object schema accepts; empty for anything else. */
export function objectKeys(schema: z.ZodType): string[] {
  const def = defOf(unwrapSchema(schema));
  return def.type === 'object' ? Object.keys(def.shape ?? {}) : [];
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1);
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, substitution);
    }
    previous = current;
  }
  return previous[b.length];
}

/** The candidate closest to `word` (case-insensitive), if it is close enough to be a typo. */
export function closestMatch(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 3)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
}
