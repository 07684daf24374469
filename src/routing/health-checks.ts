import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { ProviderAdapter } from '../core/provider.js';
import type { BreakerRegistry } from '../resilience/circuit-breaker.js';

/** What the health checker needs. */
export interface HealthCheckDeps {
  config: Config;
  adapter(provider: string): ProviderAdapter | undefined;
  breakers: BreakerRegistry;
  logger?: Logger;
}

/** Every `provider/model` deployment of `provider` the config names. */
export function deploymentsOf(config: Config, provider: string): string[] {
  const found = new Set<string>();
  for (const entry of Object.values(config.models)) {
    if (typeof entry === 'string') {
      if (entry.startsWith(`${provider}/`)) found.add(entry);
    } else {
      for (const deployment of entry.deployments) if (deployment.provider === provider) found.add(`${deployment.provider}/${deployment.model}`);
    }
  }
  return [...found];
}

/**
 * Active health checks of self-hosted targets (issue 8, SPEC RT-12): each provider with
 * `healthCheck` has its model list fetched on an interval; when that fails, the breakers of its
 * deployments open for two intervals, so spillover and fallbacks route around a dead GPU box
 * before any user request has to fail on it. Recovery is the breaker's own half-open probing.
 */
export function startHealthChecks(deps: HealthCheckDeps): { stop(): void } {
  const timers: NodeJS.Timeout[] = [];
  for (const [name, provider] of Object.entries(deps.config.providers)) {
    const check = provider.healthCheck;
    const adapter = deps.adapter(name);
    if (!check || !adapter?.listModels) continue;
    const deployments = deploymentsOf(deps.config, name);
    let running = false;
    const probe = async () => {
      if (running) return;
      running = true;
      try {
        await adapter.listModels!({ signal: AbortSignal.timeout(check.timeoutMs) });
      } catch (error) {
        deps.logger?.warn({ provider: name, err: error instanceof Error ? error.message : String(error) }, 'health check failed; its deployments are shed');
        for (const deployment of deployments) deps.breakers.get(deployment).forceOpen('health_check', check.intervalMs * 2);
      } finally {
        running = false;
      }
    };
    const timer = setInterval(() => void probe(), check.intervalMs);
    timer.unref();
    timers.push(timer);
  }
  return {
    stop() {
      for (const timer of timers) clearInterval(timer);
    },
  };
}
