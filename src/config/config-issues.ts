import type { z } from 'zod';
import type { ConfigIssue } from './config-error.js';
import { closestMatch, objectKeys, schemaAt } from './schema-paths.js';

type ZodIssue = z.ZodError['issues'][number];
type Path = ReadonlyArray<string | number>;

/** Finds where a value (or, with `key`, its key) was written. */
export type ConfigLocator = (path: Path, options?: { key?: boolean }) => string | undefined;

/** What turning zod issues into user-facing ones needs. */
export interface IssueContext {
  root: z.ZodType;
  /** The merged input that failed, to quote the received value. */
  raw: unknown;
  locate: ConfigLocator;
}

function valueAt(raw: unknown, path: Path): unknown {
  let current = raw;
  for (const segment of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<string | number, unknown>)[segment];
  }
  return current;
}

const TYPE_HINTS: Record<string, string> = {
  number: 'write a number without quotes, e.g. 8400',
  boolean: 'write true or false without quotes',
  string: 'write text, quoted if it looks like a number or boolean',
  object: 'write a mapping here (indented "key: value" lines)',
  array: 'write a list here ("- item" lines or [a, b])',
};

function typeHint(issue: Extract<ZodIssue, { code: 'invalid_type' }>, path: Path, raw: unknown): string | undefined {
  const last = path.at(-1);
  if (valueAt(raw, path) === undefined && last !== undefined) return `add "${String(last)}"`;
  return TYPE_HINTS[issue.expected];
}

function valueHint(issue: Extract<ZodIssue, { code: 'invalid_value' }>, path: Path, raw: unknown): string {
  const options = issue.values.map((value) => String(value));
  const received = valueAt(raw, path);
  const suggestion = typeof received === 'string' ? closestMatch(received, options) : undefined;
  if (suggestion) return `did you mean "${suggestion}"?`;
  return `use one of ${options.map((o) => JSON.stringify(o)).join(', ')}`;
}

function formatHint(issue: Extract<ZodIssue, { code: 'invalid_format' }>, path: Path): string | undefined {
  if (issue.format === 'url') return 'write a full URL with scheme, e.g. http://127.0.0.1:8000/v1';
  if (path[0] === 'models') return 'write "provider/model", e.g. "openai/gpt-4o"';
  return undefined;
}

function boundHint(issue: ZodIssue): string | undefined {
  if (issue.code === 'too_small') {
    if (issue.origin === 'array') return `list at least ${issue.minimum} item(s)`;
    if (issue.origin === 'string') return 'write a non-empty value';
    return `use a value ${issue.inclusive === false ? 'above' : 'of at least'} ${issue.minimum}`;
  }
  if (issue.code === 'too_big') return `use a value ${issue.inclusive === false ? 'below' : 'of at most'} ${issue.maximum}`;
  return undefined;
}

function hintFor(issue: ZodIssue, path: Path, context: IssueContext): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      return typeHint(issue, path, context.raw);
    case 'invalid_value':
      return valueHint(issue, path, context.raw);
    case 'invalid_format':
      return formatHint(issue, path);
    case 'invalid_union':
      return path[0] === 'models'
        ? 'write "provider/model" or a mapping with deployments: [{ provider, model }]'
        : undefined;
    case 'invalid_key':
      return 'names start with a letter or digit and use only letters, digits, "-" and "_"';
    default:
      return boundHint(issue);
  }
}

function unknownKeyIssues(
  issue: Extract<ZodIssue, { code: 'unrecognized_keys' }>,
  parent: Path,
  context: IssueContext,
): ConfigIssue[] {
  const schema = schemaAt(context.root, parent);
  const known = schema ? objectKeys(schema) : [];
  return issue.keys.map((key) => {
    const path = [...parent, key];
    const suggestion = closestMatch(key, known);
    const hint = suggestion
      ? `rename it to "${suggestion}"`
      : `remove it${known.length > 0 ? `; known keys here: ${known.join(', ')}` : ''}`;
    return { path, message: `unknown key "${key}"`, hint, location: context.locate(path, { key: true }) };
  });
}

/** zod issues as config issues: located in the file, env var or flag that set them, with a fix. */
export function issuesFromZod(issues: readonly ZodIssue[], context: IssueContext): ConfigIssue[] {
  return issues.flatMap((issue): ConfigIssue[] => {
    const path = issue.path.map((segment) => (typeof segment === 'symbol' ? String(segment) : segment));
    if (issue.code === 'unrecognized_keys') return unknownKeyIssues(issue, path, context);
    const isKey = issue.code === 'invalid_key';
    const message = isKey ? `invalid name "${String(path.at(-1))}"` : issue.message;
    return [{ path, message, hint: hintFor(issue, path, context), location: context.locate(path, { key: isKey }) }];
  });
}
