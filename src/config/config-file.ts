import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Document, Scalar } from 'yaml';
import { ConfigError, type ConfigIssue } from './config-error.js';

type Path = Array<string | number>;

/** A parsed `breakwater.yaml`: plain data plus a way back to the line of any value. */
export interface ConfigFile {
  raw: Record<string, unknown>;
  /** `file:line:col` of the value at `path` (or its key), or of its nearest written ancestor. */
  locate(path: ReadonlyArray<string | number>, options?: { key?: boolean }): string | undefined;
}

const REFERENCE = /\$\$\{|\$\{([^}]*)\}/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;
const NUMBER = /^-?\d+(\.\d+)?$/;

type Yaml = typeof import('yaml');

let yamlModule: Yaml | undefined;

/**
 * yaml costs ~60 ms to import and a start without a config file never parses YAML, so it is
 * required on first use (SPEC CS-1), synchronously because config loading is. Under the
 * CommonJS bundle `require` exists and esbuild follows the literal call, so the bundle carries
 * yaml (evaluated only here); from ES modules (tsx, tsc's dist/) it is required from node_modules.
 */
function yaml(): Yaml {
  return (yamlModule ??= (typeof require === 'function' ? require('yaml') : createRequire(import.meta.url)('yaml')) as Yaml);
}

function nodePath(ancestors: readonly unknown[], node: unknown): Path {
  const { isPair, isScalar, isSeq } = yaml();
  const path: Path = [];
  ancestors.forEach((ancestor, i) => {
    if (isPair(ancestor)) path.push(isScalar(ancestor.key) ? String(ancestor.key.value) : String(ancestor.key));
    else if (isSeq(ancestor)) path.push(ancestor.items.indexOf((ancestors[i + 1] ?? node) as never));
  });
  return path;
}

/**
 * Replaces `${VAR}` and `${VAR:-default}` in one string; `$${` stays a literal `${`. Returns the
 * names of variables that are unset and have no default.
 */
export function interpolateString(text: string, env: NodeJS.ProcessEnv): { value: string; missing: string[]; invalid: string[] } {
  const missing: string[] = [];
  const invalid: string[] = [];
  const value = text.replace(REFERENCE, (match, inner: string | undefined) => {
    if (inner === undefined) return '${';
    const parsed = VARIABLE.exec(inner);
    if (!parsed) {
      invalid.push(match);
      return match;
    }
    const [, name, fallback] = parsed;
    const found = env[name];
    if (found !== undefined && found !== '') return found;
    if (fallback !== undefined) return fallback;
    if (found === undefined) missing.push(name);
    return '';
  });
  return { value, missing, invalid };
}

function interpolateDocument(doc: Document, env: NodeJS.ProcessEnv, where: (offset: number) => string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  yaml().visit(doc, {
    Scalar(key, node: Scalar, ancestors) {
      if (key === 'key' || typeof node.value !== 'string' || !node.value.includes('${')) return;
      const original = node.value;
      const { value, missing, invalid } = interpolateString(original, env);
      const path = nodePath(ancestors, node);
      const location = where(node.range?.[0] ?? 0);
      for (const name of missing) {
        issues.push({ path, location, message: `environment variable ${name} is not set`, hint: `set ${name}, or write \${${name}:-default}` });
      }
      for (const reference of invalid) {
        issues.push({ path, location, message: `invalid reference ${reference}`, hint: 'write ${NAME} or ${NAME:-default} with NAME made of letters, digits and _' });
      }
      // An unquoted value that is a single reference takes the type its text has, so `port: ${PORT}` is a number.
      const single = node.type === 'PLAIN' && /^\$\{[^}]*\}$/.test(original);
      node.value = single && NUMBER.test(value) ? Number(value) : single && (value === 'true' || value === 'false') ? value === 'true' : value;
    },
  });
  return issues;
}

function firstLine(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

/** Reads, parses and interpolates a YAML config file; syntax errors and unset variables become a {@link ConfigError}. */
export function readConfigFile(path: string, display: string, env: NodeJS.ProcessEnv): ConfigFile {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : `cannot read: ${(error as Error).message}`;
    throw new ConfigError([{ path: [], location: display, message: reason, hint: 'check the path given with --config or BREAKWATER_CONFIG' }]);
  }
  const { LineCounter, parseDocument } = yaml();
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: true });
  const where = (offset: number) => {
    const { line, col } = lineCounter.linePos(offset);
    return `${display}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((error) => ({ path: [], location: where(error.pos[0]), message: firstLine(error.message), hint: 'fix the YAML syntax' })),
    );
  }
  const interpolationIssues = interpolateDocument(doc, env, where);
  if (interpolationIssues.length > 0) throw new ConfigError(interpolationIssues);
  const raw: unknown = doc.toJS() ?? {};
  if (typeof raw !== 'object' || Array.isArray(raw)) {
    throw new ConfigError([{ path: [], location: where(0), message: 'the file must be a mapping of top-level keys', hint: 'start with e.g. "server:" or "providers:"' }]);
  }
  return { raw: raw as Record<string, unknown>, locate: (target, options) => locateNode(doc, target, options?.key ?? false, where) };
}

function locateNode(doc: Document, path: ReadonlyArray<string | number>, key: boolean, where: (offset: number) => string): string | undefined {
  const { isMap, isScalar } = yaml();
  if (key && path.length > 0) {
    const parent = doc.getIn(path.slice(0, -1), true);
    if (isMap(parent)) {
      const pair = parent.items.find((item) => isScalar(item.key) && String(item.key.value) === String(path.at(-1)));
      if (pair && isScalar(pair.key) && pair.key.range) return where(pair.key.range[0]);
    }
  }
  // A missing value is reported at its nearest written ancestor, where it has to be added.
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? doc.contents : doc.getIn(path.slice(0, length), true);
    const range = (node as { range?: [number, number, number] } | null | undefined)?.range;
    if (range) return where(range[0]);
  }
  return undefined;
}
