/** One problem found in the configuration, with where it came from and how to fix it. */
export interface ConfigIssue {
  /** Path of the offending value, e.g. `['providers', 'openai', 'kind']`. */
  path: ReadonlyArray<string | number>;
  message: string;
  /** What to change, in the user's terms. */
  hint?: string | undefined;
  /** Where the value was written: `breakwater.yaml:12:5`, `env BREAKWATER_SERVER__PORT`, `flag`. */
  location?: string | undefined;
}

/**
 * An invalid configuration: every issue with file, line, path and fix (SPEC OPS-1). The CLI
 * prints `message` and exits 2; a reload keeps the old configuration.
 */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];

  constructor(issues: readonly ConfigIssue[]) {
    super(formatConfigError(issues));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

/** True when `value` is a {@link ConfigError}. */
export function isConfigError(value: unknown): value is ConfigError {
  return value instanceof ConfigError;
}

const PLAIN_SEGMENT = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** A config path as users write it: `providers.openai.kind`, `models["gpt-4.1"].deployments[0]`. */
export function formatConfigPath(path: ReadonlyArray<string | number>): string {
  let out = '';
  for (const segment of path) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_SEGMENT.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** One line per issue: `breakwater.yaml:12:5 providers.openai.kind: Invalid option: … — fix: …`. */
export function formatConfigError(error: ConfigError | readonly ConfigIssue[]): string {
  const issues = error instanceof ConfigError ? error.issues : error;
  return issues
    .map((issue) => {
      const where = issue.location ? `${issue.location} ` : '';
      const path = issue.path.length > 0 ? `${formatConfigPath(issue.path)}: ` : '';
      const fix = issue.hint ? ` — fix: ${issue.hint}` : '';
      return `${where}${path}${issue.message}${fix}`;
    })
    .join('\n');
}
