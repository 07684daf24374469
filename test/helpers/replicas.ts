import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'undici';
import { cleanEnv, startCli, type StartedCli } from './cli-process.js';
import { dropPrefix, dropSchema, freshPrefix, freshSchema, REDIS_URL } from './services.js';

/** Replicas of one deployment: PostgreSQL schema, Redis prefix and key pepper shared, data dirs apart. */
export interface ReplicaSet {
  replicas: StartedCli[];
  adminKey: string;
  virtualKey: string;
  prefix: string;
  /** The PostgreSQL schema the replicas share. */
  schema: string;
  /** Starts one more replica (e.g. after one was killed). */
  add(extraYaml?: string): Promise<StartedCli>;
  close(): Promise<void>;
}

/**
 * Starts `count` gateways sharing Redis and PostgreSQL. The first bootstraps the keys; the others
 * start after it. `extraYaml` is appended to each replica's breakwater.yaml.
 */
export async function startReplicas(count: number, options: { extraYaml?: string; redisUrl?: string; sharedYaml?: string; timeScale?: number; declaredReplicas?: number } = {}): Promise<ReplicaSet> {
  const { schema, url } = freshSchema();
  const prefix = freshPrefix();
  const dirs: string[] = [];
  const replicas: StartedCli[] = [];
  const env = cleanEnv({ BREAKWATER_SIM__TIME_SCALE: String(options.timeScale ?? 0), BREAKWATER_KEY_PEPPER: 'scale-out-test-pepper-0123456789' });
  const yaml = (extra: string) =>
    [
      'server: { logLevel: warn }',
      `store: { kind: postgres, url: "${url}" }`,
      `shared: { redis: "${options.redisUrl ?? REDIS_URL}", keyPrefix: "${prefix}", replicas: ${options.declaredReplicas ?? count}${options.sharedYaml ? `, ${options.sharedYaml}` : ''} }`,
      extra,
    ].join('\n');
  const add = async (extra = options.extraYaml ?? '') => {
    const dir = mkdtempSync(join(tmpdir(), 'bw-replica-'));
    dirs.push(dir);
    writeFileSync(join(dir, 'breakwater.yaml'), yaml(extra));
    const started = await startCli(dir, [], env);
    started.child.stdout.resume();
    replicas.push(started);
    return started;
  };
  const first = await add();
  await Promise.all(Array.from({ length: count - 1 }, () => add()));
  return {
    replicas,
    adminKey: first.ready.adminKey!,
    virtualKey: first.ready.virtualKey!,
    prefix,
    schema,
    add,
    async close() {
      for (const replica of replicas) replica.child.kill('SIGKILL');
      await Promise.all(replicas.map((replica) => replica.exited));
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
      await Promise.all([dropSchema(schema), dropPrefix(prefix)]);
    },
  };
}

/** Creates a virtual key through the admin API; returns the key and its id. */
export async function createKeyRecord(baseUrl: string, adminKey: string, body: Record<string, unknown>): Promise<{ key: string; id: string }> {
  const response = await fetch(`${baseUrl}/admin/keys`, {
    method: 'POST',
    headers: { authorization: `Bearer ${adminKey}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { key: string; id: string };
  if (response.status !== 201) throw new Error(`creating a key answered ${response.status}: ${JSON.stringify(json)}`);
  return json;
}

/** Creates a virtual key through the admin API; returns the key. */
export async function createKey(baseUrl: string, adminKey: string, body: Record<string, unknown>): Promise<string> {
  return (await createKeyRecord(baseUrl, adminKey, body)).key;
}

/** One small non-streaming completion (`overrides` merged into its body); returns its status. */
export async function complete(baseUrl: string, key: string, overrides: Record<string, unknown> = {}): Promise<number> {
  // undici's request costs the client a fraction of fetch's CPU, so 1,000 at once stay a burst.
  const response = await request(`${baseUrl}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'sim-fast', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...overrides }),
  });
  await response.body.dump();
  return response.statusCode;
}
