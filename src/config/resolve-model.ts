import type { Config, DeploymentConfig, ProviderConfig } from './schema.js';

/** A deployment with the kind of provider that serves it. */
export type ResolvedDeployment = DeploymentConfig & { providerKind: ProviderConfig['kind'] };

/** A public model name and the deployments that can serve it, in configured order. */
export interface ResolvedModel {
  publicName: string;
  deployments: ResolvedDeployment[];
}

function splitDirect(name: string): { provider: string; model: string } | undefined {
  const slash = name.indexOf('/');
  if (slash <= 0 || slash === name.length - 1) return undefined;
  return { provider: name.slice(0, slash), model: name.slice(slash + 1) };
}

function withKind(config: Config, deployment: DeploymentConfig): ResolvedDeployment | undefined {
  const provider = config.providers[deployment.provider];
  return provider && { ...deployment, providerKind: provider.kind };
}

/**
 * Resolves what a client asked for: an alias from `models:` (string shorthand or deployments), else
 * `provider/model` on a configured provider. Undefined means 404 `model_not_found`.
 */
export function resolveModel(config: Config, publicName: string): ResolvedModel | undefined {
  const entry = Object.hasOwn(config.models, publicName) ? config.models[publicName] : undefined;
  let deployments: DeploymentConfig[];
  if (typeof entry === 'string') {
    const direct = splitDirect(entry);
    deployments = direct ? [{ ...direct, weight: 1 }] : [];
  } else if (entry) {
    deployments = entry.deployments;
  } else {
    const direct = splitDirect(publicName);
    deployments = direct && Object.hasOwn(config.providers, direct.provider) ? [{ ...direct, weight: 1 }] : [];
  }
  const resolved = deployments.map((d) => withKind(config, d)).filter((d): d is ResolvedDeployment => d !== undefined);
  return resolved.length > 0 ? { publicName, deployments: resolved } : undefined;
}

/** Every public name: the aliases, then `provider/model` for each model a provider lists. */
export function listModels(config: Config): string[] {
  const names = new Set(Object.keys(config.models));
  for (const [provider, settings] of Object.entries(config.providers)) {
    for (const model of settings.models ?? []) names.add(`${provider}/${model}`);
  }
  return [...names];
}
