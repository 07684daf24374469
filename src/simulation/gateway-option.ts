import { ConfigError } from '../config/config-error.js';
import { gatewayModelSchema, type GatewayModel } from './scenario-schema.js';

/** `sim run --gateway URL --gateway-key-env NAME --model NAME`. */
export interface GatewayFlags {
  gateway?: string | undefined;
  gatewayKeyEnv: string;
  model?: string | undefined;
}

function usage(message: string, hint: string): ConfigError {
  return new ConfigError([{ path: [], message, hint, location: 'flag' }]);
}

/**
 * The gateway `sim run` flags name, read once: the key from the variable named (so it never sits
 * on a command line or in shell history), every mistake a usage error (exit 2) naming its fix.
 */
export function gatewayFromFlags(flags: GatewayFlags, env: NodeJS.ProcessEnv = process.env): GatewayModel | undefined {
  if (flags.gateway === undefined && flags.model === undefined) return undefined;
  if (flags.gateway === undefined) throw usage('--model needs --gateway', 'add --gateway http://HOST:PORT of a running Breakwater gateway');
  if (flags.model === undefined) throw usage('--gateway needs --model', 'add --model <a public model name of that gateway>, e.g. --model gpt-4o-mini');
  const apiKey = env[flags.gatewayKeyEnv];
  if (!apiKey) throw usage(`--gateway needs a key: environment variable ${flags.gatewayKeyEnv} is not set`, `export ${flags.gatewayKeyEnv}=<a virtual key of the gateway>, or name another variable with --gateway-key-env`);
  const parsed = gatewayModelSchema.safeParse({ baseUrl: flags.gateway, apiKey, model: flags.model });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw usage(`--${issue.path[0] === 'baseUrl' ? 'gateway' : String(issue.path[0])}: ${issue.message}`, 'e.g. --gateway http://127.0.0.1:8400');
  }
  return parsed.data;
}
