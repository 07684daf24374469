import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnBenchChild, waitReady, type BenchChild } from './bench-child.js';

/** The compiled CLI, as users run it (`npm start`), not through tsx. */
export const BREAKWATER_CLI = 'dist/breakwater.cjs';

/** The public model name the benchmark config maps onto the instant sim upstream. */
export const BENCH_MODEL = 'bench-model';

/** The public model name mapped onto the sim upstream that keeps sim-fast's real timing. */
export const BENCH_MODEL_PACED = 'bench-model-paced';

/**
 * Writes a breakwater.yaml that registers the sim server(s) as OpenAI-compatible providers, the
 * way a user would put vLLM behind Breakwater; returns its path.
 */
export function writeBenchConfig(dir: string, simUrl: string, pacedSimUrl?: string): string {
  const path = join(dir, 'breakwater.yaml');
  const lines = ['providers:', `  bench: { kind: openai-compatible, baseUrl: "${simUrl}/v1", apiKey: x }`];
  if (pacedSimUrl) lines.push(`  bench-paced: { kind: openai-compatible, baseUrl: "${pacedSimUrl}/v1", apiKey: x }`);
  lines.push('models:', `  ${BENCH_MODEL}: bench/sim-fast`);
  if (pacedSimUrl) lines.push(`  ${BENCH_MODEL_PACED}: bench-paced/sim-fast`);
  // Direct and bare-proxy runs send non-streamed requests upstream as they are; Breakwater must
  // do the same upstream work to be compared (its default assembles non-streamed answers from
  // upstream streams for the sake of first-token and idle timeouts; bench:chaos measures that).
  lines.push('routes:');
  if (process.env.BENCH_STREAM_UPSTREAM !== '1') lines.push('  defaults:', '    streamUpstream: false');
  // SPEC M12 measures with every feature on: the route plan walks rules that do not match before
  // the one that does, as a gateway with a few tenant- and tag-specific routes would.
  lines.push(
    '  rules:',
    '    - { id: premium, match: { tags: { tier: premium } }, targets: [bench-model] }',
    '    - { id: other-org, match: { org: other }, targets: [bench-model] }',
    `    - { id: bench, match: { model: ${BENCH_MODEL} }, targets: [${BENCH_MODEL}] }`,
  );
  if (pacedSimUrl) lines.push(`    - { id: bench-paced, match: { model: ${BENCH_MODEL_PACED} }, targets: [${BENCH_MODEL_PACED}] }`);
  const yaml = lines.join('\n') + '\n';
  writeFileSync(path, yaml);
  return path;
}

/**
 * The gateway's environment: the caller's minus anything that would change what is measured
 * (real provider keys, BREAKWATER_* overrides, NODE_OPTIONS loaders, and NODE_EXTRA_CA_CERTS: Node
 * 20 parses that bundle before running any JavaScript: 80-130 ms more per start on the reference VM
 * with Debian's 144 certificates, which the cold-start figures would otherwise report as ours), plus
 * info logging with the access log on, as SPEC M12 measures "every feature on".
 */
export function breakwaterEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (name.startsWith('BREAKWATER_') || name === 'NODE_OPTIONS' || name === 'NODE_EXTRA_CA_CERTS' || name.endsWith('_API_KEY')) continue;
    env[name] = value;
  }
  return {
    ...env,
    BREAKWATER_SERVER__LOG_LEVEL: 'info',
    BREAKWATER_SERVER__ACCESS_LOG: 'true',
    BREAKWATER_SERVER__DRAIN_MS: '1000',
    ...extra,
  };
}

/** How to spawn one gateway. */
export interface BreakwaterChildOptions {
  dataDir: string;
  configPath?: string;
  /** Where stdout (ready line, then JSON logs) goes; piped when absent. */
  stdoutFile?: string;
  env?: Record<string, string>;
  name?: string;
  /** Node flags before the CLI, e.g. V8 heap flags being measured. */
  nodeFlags?: readonly string[];
  /** The CLI entry to run (default {@link BREAKWATER_CLI}), e.g. a copy of an earlier build for an A/B run. */
  cli?: string;
  /** Serve the load with a key under an org and a team that all carry limits and budgets. */
  tenantLimits?: boolean;
}

/** Node/V8 flags for the gateway from BENCH_GATEWAY_NODE_FLAGS (space-separated): to measure heap settings. */
export function gatewayNodeFlagsFromEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  return (env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(' ').filter(Boolean);
}

/** Spawns `node dist/cli/main.js start --port 0 --json` on 127.0.0.1. */
export function spawnBreakwater(options: BreakwaterChildOptions): BenchChild {
  const args = [...(options.nodeFlags ?? []), options.cli ?? BREAKWATER_CLI, 'start', '--port', '0', '--host', '127.0.0.1', '--json', '--data-dir', options.dataDir];
  if (options.configPath) args.push('--config', options.configPath);
  return spawnBenchChild({
    name: options.name ?? 'breakwater',
    args,
    env: breakwaterEnv(options.env),
    ...(options.stdoutFile ? { stdoutFile: options.stdoutFile } : {}),
  });
}

/** Limits and budgets on org, team and key that never bind at benchmark rates but are all checked. */
const UNBINDING_POLICY = {
  limits: { rpm: 100_000_000, inputTpm: 10_000_000_000, outputTpm: 10_000_000_000 },
  budgets: { dailyUsd: 1_000_000 },
};

async function adminPost(url: string, adminKey: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url + path, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as Record<string, unknown>;
  if (response.status !== 201) throw new Error(`POST ${path} answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Limits and budgets as the admin API takes them. */
export interface BenchPolicy {
  limits: Record<string, number>;
  budgets: Record<string, number>;
}

/**
 * Creates an org, a team, optionally a user, and a key under them through the admin API, every
 * level with `policy` (the key with `keyPolicy` when given), and returns the key: every request
 * then runs the whole admission chain and is attributed to its tenant.
 */
export async function limitedKey(url: string, adminKey: string, options: { policy: BenchPolicy; keyPolicy?: BenchPolicy; withUser?: boolean }): Promise<string> {
  const { policy } = options;
  const org = await adminPost(url, adminKey, '/admin/orgs', { name: 'bench-org', ...policy });
  let parent: Record<string, unknown> = { teamId: (await adminPost(url, adminKey, '/admin/teams', { name: 'bench-team', orgId: org.id, ...policy })).id };
  if (options.withUser) parent = { userId: (await adminPost(url, adminKey, '/admin/users', { name: 'bench-user', ...parent, ...policy })).id };
  const key = await adminPost(url, adminKey, '/admin/keys', { name: 'bench-key', ...parent, ...(options.keyPolicy ?? policy) });
  return String(key.key);
}

/**
 * The main benchmark's key: org, team and key each with RPM/TPM limits and a daily budget, as
 * SPEC M12's "every feature on" asks (three levels of limits and budgets, prompt token counting).
 */
function tenantKey(url: string, adminKey: string): Promise<string> {
  return limitedKey(url, adminKey, { policy: UNBINDING_POLICY, keyPolicy: { ...UNBINDING_POLICY, limits: { ...UNBINDING_POLICY.limits, concurrency: 100_000 } } });
}

/** A started gateway and the virtual key it printed on first start. */
export interface StartedBreakwater {
  child: BenchChild;
  url: string;
  virtualKey: string;
  /** The admin key printed on first start. */
  adminKey: string;
}

/** Spawns a gateway on a fresh data dir and waits for its ready line with the first-start key. */
export async function startBreakwater(options: BreakwaterChildOptions): Promise<StartedBreakwater> {
  const child = spawnBreakwater(options);
  const ready = await waitReady(child);
  const url = String(ready.url ?? '');
  const printedKey = typeof ready.virtualKey === 'string' ? ready.virtualKey : '';
  const adminKey = typeof ready.adminKey === 'string' ? ready.adminKey : '';
  const problem = !url.startsWith('http://127.0.0.1:')
    ? `printed an unexpected url`
    : !printedKey || !adminKey
      ? 'printed no virtualKey and adminKey on first start (data dir not fresh?)'
      : undefined;
  if (problem) {
    await child.stop();
    throw new Error(`breakwater ${problem}: ${JSON.stringify(ready)}`);
  }
  try {
    return { child, url, virtualKey: options.tenantLimits ? await tenantKey(url, adminKey) : printedKey, adminKey };
  } catch (error) {
    await child.stop();
    throw error;
  }
}
