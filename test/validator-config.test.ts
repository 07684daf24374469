import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ConfigError } from '../src/config/config-error.js';
import { startTestGateway } from './helpers/test-gateway.js';

test('a validator that cannot work is a config error at start, naming its path', async () => {
  await assert.rejects(
    startTestGateway({ configYaml: 'models:\n  checked:\n    deployments: [{ provider: sim, model: sim-fast }]\n    validators: [{ type: regex, pattern: "(" }]\n' }),
    (error: unknown) => {
      assert.ok(error instanceof ConfigError);
      assert.match(error.message, /models\.checked\.validators\[0\]/);
      return true;
    },
  );
});
