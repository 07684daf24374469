import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import type { Clock } from '../../src/core/clock.js';
import type { AgentDefinition } from '../../src/runs/define-agent.js';
import { loadConfig } from '../../src/config/load-config.js';
import { startBreakwater, type RunningBreakwater } from '../../src/server/start-breakwater.js';

/** A gateway started in this process on an ephemeral port, with its own data dir. */
export interface TestGateway {
  app: RunningBreakwater;
  url: string;
  /** The virtual key created on first start. */
  key: string;
  adminKey: string;
  close(): Promise<void>;
}

/** Starts a gateway with simulated models answering instantly; `yaml` adds config. */
export async function startTestGateway(
  options: { configYaml?: string; env?: Record<string, string>; logger?: Logger; maxBodyBytes?: number; clock?: Clock; random?: () => number; timeScale?: number; dataDir?: string; agents?: readonly AgentDefinition[] } = {},
): Promise<TestGateway> {
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), 'bw-test-'));
  let configPath: string | undefined;
  if (options.configYaml) {
    const { writeFileSync } = await import('node:fs');
    configPath = join(dataDir, 'breakwater.yaml');
    writeFileSync(configPath, options.configYaml);
  }
  const env = { ...options.env };
  const config = loadConfig({
    path: configPath,
    env,
    overrides: {
      server: { port: 0, dataDir, logLevel: 'silent', drainMs: 2000, ...(options.maxBodyBytes ? { maxBodyBytes: options.maxBodyBytes } : {}) },
      sim: { timeScale: options.timeScale ?? 0 },
    },
  });
  const app = await startBreakwater({ config, env, clock: options.clock, random: options.random, logger: options.logger ?? pino({ level: 'silent' }), agents: options.agents });
  return {
    app,
    url: app.url,
    key: app.bootstrapKeys.virtualKey!,
    adminKey: app.bootstrapKeys.adminKey!,
    async close() {
      await app.close();
      if (!options.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** A chat completion as an application sends it, with the printed key; asserts 200 and returns its request id. */
export async function completeChat(gw: TestGateway, model: string): Promise<string> {
  const res = await fetch(`${gw.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hello' }] }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  await res.json();
  return res.headers.get('x-breakwater-request-id')!;
}
