import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import {
  ConfigError,
  listModels,
  loadConfig,
  redactConfig,
  resolveModel,
  SIM_MODEL_NAMES,
} from '../src/config/load-config.js';

const dir = mkdtempSync(join(tmpdir(), 'bw-config-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let counter = 0;

function yamlFile(text: string): string {
  const path = join(dir, `config-${++counter}.yaml`);
  writeFileSync(path, text);
  return path;
}

function configError(run: () => unknown): ConfigError {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ConfigError, `expected a ConfigError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ConfigError');
}

describe('loadConfig precedence (SPEC OPS-1)', () => {
  it('layers defaults < yaml < BREAKWATER_* env < overrides', () => {
    const path = yamlFile('server:\n  port: 9001\n  host: 0.0.0.0\n  drainMs: 5\n');
    const env = { BREAKWATER_SERVER__PORT: '9002', BREAKWATER_SERVER__DRAIN_MS: '7' };
    const config = loadConfig({ path, env, overrides: { server: { port: 9003 } } });
    assert.equal(config.server.port, 9003);
    assert.equal(config.server.drainMs, 7);
    assert.equal(config.server.host, '0.0.0.0');
    assert.equal(config.server.maxBodyBytes, 8 * 1024 * 1024);
    assert.equal(loadConfig({ path, env }).server.port, 9002);
    assert.equal(loadConfig({ path, env: {} }).server.port, 9001);
  });

  it('reads ./breakwater.yaml from the working directory when no path is given, and nothing otherwise', () => {
    const cwd = mkdtempSync(join(dir, 'cwd-'));
    assert.equal(loadConfig({ cwd, env: {} }).server.port, 8400);
    writeFileSync(join(cwd, 'breakwater.yaml'), 'server:\n  port: 9100\n');
    assert.equal(loadConfig({ cwd, env: {} }).server.port, 9100);
  });

  it('maps nested env names onto schema keys and coerces by the type the key wants', () => {
    const env = {
      BREAKWATER_SERVER__ACCESS_LOG: 'false',
      BREAKWATER_STORE__KIND: 'memory',
      BREAKWATER_PROVIDERS__LOCAL__KIND: 'openai-compatible',
      BREAKWATER_PROVIDERS__LOCAL__BASE_URL: 'http://127.0.0.1:8000/v1',
      BREAKWATER_PROVIDERS__LOCAL__API_KEY: '12345',
      BREAKWATER_PROVIDERS__LOCAL__MODELS: 'llama3,qwen',
      BREAKWATER_KEY_PEPPER: 'never-config',
    };
    const config = loadConfig({ env, cwd: dir });
    assert.equal(config.server.accessLog, false);
    assert.equal(config.store.kind, 'memory');
    assert.equal(config.providers.local.apiKey, '12345');
    assert.deepEqual(config.providers.local.models, ['llama3', 'qwen']);
  });
});

describe('${VAR} interpolation', () => {
  it('substitutes variables and defaults, typing an unquoted lone reference', () => {
    const path = yamlFile('server:\n  port: ${PORT}\n  host: "${HOST:-127.0.0.2}"\n  dataDir: ${BASE}/state-$${literal}\n');
    const config = loadConfig({ path, env: { PORT: '9500', BASE: '/var/bw' } });
    assert.equal(config.server.port, 9500);
    assert.equal(config.server.host, '127.0.0.2');
    assert.equal(config.server.dataDir, '/var/bw/state-${literal}');
  });

  it('names the unset variable and its line', () => {
    const path = yamlFile('providers:\n  openai:\n    kind: openai\n    apiKey: ${MY_OPENAI_KEY}\n');
    const error = configError(() => loadConfig({ path, env: {} }));
    assert.match(error.message, /config-\d+\.yaml:4:13 providers\.openai\.apiKey: environment variable MY_OPENAI_KEY is not set — fix: set MY_OPENAI_KEY/);
  });
});

describe('config errors (SPEC OPS-1)', () => {
  it('report file, line, column, path and a fix hint', () => {
    const path = yamlFile('server:\n  port: 8400\nproviders:\n  openai:\n    kind: opnai\n');
    const error = configError(() => loadConfig({ path, env: {} }));
    assert.match(error.message, /^\S+config-\d+\.yaml:5:11 providers\.openai\.kind: Invalid option: expected one of "openai"\|"anthropic".* — fix: did you mean "openai"\?$/);
    assert.deepEqual(error.issues[0].path, ['providers', 'openai', 'kind']);
  });

  it('suggest the intended name for a misspelled key, located at the key', () => {
    const path = yamlFile('server:\n  prot: 9000\n');
    const error = configError(() => loadConfig({ path, env: {} }));
    assert.match(error.message, /:2:3 server\.prot: unknown key "prot" — fix: rename it to "port"/);
  });

  it('blame the env variable that set a bad value', () => {
    const error = configError(() => loadConfig({ env: { BREAKWATER_SERVER__PORT: 'eighty' }, cwd: dir }));
    assert.match(error.message, /^env BREAKWATER_SERVER__PORT server\.port: .*expected number.* — fix: write a number/);
  });

  it('report YAML syntax errors with their line', () => {
    const path = yamlFile('server:\n  port: [1\nstore: {}\n');
    const error = configError(() => loadConfig({ path, env: {} }));
    assert.match(error.message, /config-\d+\.yaml:\d+:\d+ .* — fix: fix the YAML syntax/);
  });

  it('catch a model pointing at a provider that is not configured', () => {
    const path = yamlFile('models:\n  fast: simm/sim-fast\n');
    const error = configError(() => loadConfig({ path, env: {} }));
    assert.match(error.message, /:2:9 models\.fast: provider "simm" is not configured — fix: did you mean "sim"\?/);
  });

  it('say so when an explicit file is missing', () => {
    const error = configError(() => loadConfig({ path: join(dir, 'nope.yaml'), env: {} }));
    assert.match(error.message, /nope\.yaml file not found/);
  });
});

describe('embedded defaults (SPEC PV-3)', () => {
  it('serve only the simulated models without configuration', () => {
    const config = loadConfig({ env: {}, cwd: dir });
    assert.deepEqual(Object.keys(config.providers), ['sim']);
    assert.equal(config.providers.sim.kind, 'sim');
    for (const name of SIM_MODEL_NAMES) assert.equal(config.models[name], `sim/${name}`);
    assert.deepEqual(listModels(config), [...SIM_MODEL_NAMES]);
  });

  it('keep a model the file defines under a sim name', () => {
    const path = yamlFile('models:\n  sim-fast: sim/sim-slow\n');
    assert.equal(loadConfig({ path, env: {} }).models['sim-fast'], 'sim/sim-slow');
  });

  it('add OpenAI and Anthropic with aliases when their keys are set', () => {
    const config = loadConfig({ env: { OPENAI_API_KEY: 'sk-test-openai-0001', ANTHROPIC_API_KEY: 'sk-ant-test-0002' }, cwd: dir });
    assert.deepEqual({ kind: config.providers.openai.kind, apiKey: config.providers.openai.apiKey }, { kind: 'openai', apiKey: 'sk-test-openai-0001' });
    assert.equal(config.providers.anthropic.kind, 'anthropic');
    assert.equal(config.models['gpt-4o-mini'], 'openai/gpt-4o-mini');
    assert.equal(config.models['claude-sonnet-4-5'], 'anthropic/claude-sonnet-4-5');
    assert.equal(loadConfig({ env: {}, cwd: dir }).providers.openai, undefined);
  });

  it('turn BREAKWATER_UPSTREAM_LOCAL into an openai-compatible provider exposing local/<model>', () => {
    const env = {
      BREAKWATER_UPSTREAM_LOCAL: 'http://127.0.0.1:8401/v1',
      BREAKWATER_UPSTREAM_LOCAL_KEY: 'local-secret-key',
      BREAKWATER_UPSTREAM_LOCAL_MODELS: 'llama3, qwen2.5',
      BREAKWATER_UPSTREAM_LOCAL_FLAVOR: 'vllm',
    };
    const config = loadConfig({ env, cwd: dir });
    assert.deepEqual(
      { ...config.providers.local, maxConnections: undefined },
      { kind: 'openai-compatible', baseUrl: 'http://127.0.0.1:8401/v1', apiKey: 'local-secret-key', models: ['llama3', 'qwen2.5'], flavor: 'vllm', maxConnections: undefined },
    );
    assert.ok(listModels(config).includes('local/llama3'));
    assert.equal(resolveModel(config, 'local/qwen2.5')?.deployments[0].providerKind, 'openai-compatible');
  });
});

describe('resolveModel', () => {
  const path = yamlFile(
    [
      'providers:',
      '  openai: { kind: openai, apiKey: sk-from-file-000000 }',
      'models:',
      '  smart: openai/gpt-4.1',
      '  balanced:',
      '    deployments:',
      '      - { provider: openai, model: gpt-4o, weight: 3 }',
      '      - { provider: sim, model: sim-smart }',
    ].join('\n'),
  );
  const config = loadConfig({ path, env: {} });

  it('resolves the string shorthand of an alias', () => {
    assert.deepEqual(resolveModel(config, 'smart'), {
      publicName: 'smart',
      deployments: [{ provider: 'openai', model: 'gpt-4.1', weight: 1, providerKind: 'openai' }],
    });
  });

  it('resolves the deployments form in order, with each provider kind', () => {
    const resolved = resolveModel(config, 'balanced')!;
    assert.deepEqual(resolved.deployments.map((d) => [d.provider, d.model, d.weight, d.providerKind]), [
      ['openai', 'gpt-4o', 3, 'openai'],
      ['sim', 'sim-smart', 1, 'sim'],
    ]);
  });

  it('resolves provider/model only on configured providers', () => {
    assert.equal(resolveModel(config, 'openai/o4-mini')?.deployments[0].model, 'o4-mini');
    assert.equal(resolveModel(config, 'mistral/large'), undefined);
    assert.equal(resolveModel(config, 'unknown'), undefined);
    assert.equal(resolveModel(config, 'toString'), undefined);
  });
});

describe('redactConfig (SPEC SEC-1)', () => {
  it('masks provider keys, secret headers and URL passwords, leaving the original intact', () => {
    const path = yamlFile(
      [
        'store: { kind: sqlite, url: "postgres://app:hunter2@db:5432/bw" }',
        'providers:',
        '  openai:',
        '    kind: openai',
        '    apiKey: sk-proj-abcdefghijklmnop1234',
        '    headers: { Authorization: Bearer-very-secret-token-9876, OpenAI-Organization: org-1 }',
      ].join('\n'),
    );
    const config = loadConfig({ path, env: {} });
    const redacted = redactConfig(config);
    assert.equal(redacted.providers.openai.apiKey, '••••1234');
    assert.equal(redacted.providers.openai.headers?.Authorization, '••••9876');
    assert.equal(redacted.providers.openai.headers?.['OpenAI-Organization'], 'org-1');
    assert.equal(redacted.store.url, 'postgres://app:••••@db:5432/bw');
    assert.ok(!JSON.stringify(redacted).includes('abcdefghijklmnop'));
    assert.equal(config.providers.openai.apiKey, 'sk-proj-abcdefghijklmnop1234');
  });
});
