import type { ConfigOverrides } from '../config/load-config.js';
import { lookupPrice } from '../config/prices.js';
import type { PriceConfig } from '../config/schema.js';
import { callContext, type CallContext, type ProviderAdapter } from '../core/provider.js';
import type { AgentDefinition, RunContext } from '../runs/define-agent.js';
import { parseSimFault, type SimFault } from '../sim/sim-fault.js';
import { createSimFaultState } from '../sim/sim-fault-state.js';
import type { GatewayModel, Scenario } from './scenario-schema.js';

/** The provider the episode's calls go to; faulted models get one each (`gateway-f0`, …) so an attempt knows its model. */
const PROVIDER = 'gateway';

/** Run errors that mean the gateway itself could not be reached (not an agent mistake). */
const UNREACHABLE: ReadonlySet<string> = new Set(['connection_refused', 'connect_timeout', 'dns_error', 'host_unreachable', 'tls_error', 'network_error']);

/** The gateway's origin: the scenario may give it with or without `/v1`. */
export function gatewayOrigin(gateway: GatewayModel): string {
  return gateway.baseUrl.replace(/\/+$/, '').replace(/\/v1$/, '');
}

function publicName(gateway: GatewayModel, model: string): string {
  return gateway.models[model] ?? gateway.model;
}

/** The provider an agent's model is sent through: its own when the scenario gives it provider faults. */
function providerFor(scenario: Scenario, model: string): string {
  const index = Object.keys(scenario.model.faults).indexOf(model);
  return index < 0 ? PROVIDER : `${PROVIDER}-f${index}`;
}

/** The episode's local alias for an agent's model: `<provider>:<public name>`. */
function aliasFor(scenario: Scenario, gateway: GatewayModel, model: string): string {
  return `${providerFor(scenario, model)}:${publicName(gateway, model)}`;
}

/** Prices of a public model name: the scenario's, else the bundled ones of a provider that knows the name. */
function priceOf(gateway: GatewayModel, name: string): PriceConfig | undefined {
  if (Object.hasOwn(gateway.prices, name)) return gateway.prices[name];
  const bare = name.slice(name.indexOf('/') + 1);
  return lookupPrice('openai', bare) ?? lookupPrice('anthropic', bare) ?? lookupPrice('sim', bare);
}

/**
 * The episode worker's configuration in gateway mode: the gateway as an OpenAI-compatible provider
 * (one more per faulted model) and an alias per provider and public model. The gateway owns
 * routing and retries, so the episode's own hop tries once unless the scenario says otherwise.
 */
export function gatewayOverrides(scenario: Scenario, gateway: GatewayModel): ConfigOverrides {
  const names = [...new Set([gateway.model, ...Object.values(gateway.models)])];
  const provider = { kind: 'openai-compatible' as const, baseUrl: `${gatewayOrigin(gateway)}/v1`, apiKey: gateway.apiKey, models: names };
  const providers: Record<string, typeof provider> = { [PROVIDER]: provider };
  const models: Record<string, { deployments: Array<{ provider: string; model: string; prices?: PriceConfig }> }> = {};
  const add = (providerName: string, name: string) => {
    const prices = priceOf(gateway, name);
    models[`${providerName}:${name}`] = { deployments: [{ provider: providerName, model: name, ...(prices ? { prices } : {}) }] };
  };
  for (const name of names) add(PROVIDER, name);
  for (const model of Object.keys(scenario.model.faults)) {
    providers[providerFor(scenario, model)] = provider;
    add(providerFor(scenario, model), publicName(gateway, model));
  }
  const attempts = scenario.model.maxAttempts ?? 1;
  return { providers, models, routes: { defaults: { retry: { maxAttempts: attempts, maxAttemptsPerDeployment: attempts, baseMs: 1, capMs: 5 } } } };
}

/** `ctx` with every `llm` call renamed to the episode's gateway alias, in parallel branches too. */
function routedContext<I>(ctx: RunContext<I>, rename: (model: string) => string): RunContext<I> {
  return {
    ...ctx,
    llm: (request, options) => ctx.llm({ ...request, model: rename(request.model) }, options),
    parallel: (branches) => ctx.parallel(branches.map((branch) => (child: RunContext<I>) => branch(routedContext(child, rename)))),
  };
}

/** The agent as it runs against the gateway: the same code, its model names mapped to public ones. */
export function routeAgentToGateway(agent: AgentDefinition, scenario: Scenario, gateway: GatewayModel): AgentDefinition {
  const rename = (model: string) => aliasFor(scenario, gateway, model);
  return { ...agent, run: (ctx, input) => agent.run(routedContext(ctx, rename), input) };
}

/** A fault without its dice: the sandbox rolls `p` and counts `times` itself, per episode. */
function withoutDice(fault: SimFault): string {
  const [name = '', ...params] = fault.spec.split(/[:;]/);
  const kept = params.filter((param) => !/^\s*(p|times)\s*=/.test(param));
  return kept.length > 0 ? `${name}:${kept.join(';')}` : name;
}

/**
 * Provider faults through the gateway: each attempt of a faulted model rolls the scenario's dice
 * and counters in this episode (seeded by the trial, like the in-process sim) and asks for what
 * fired with `x-sim-fault`, which the gateway forwards to a simulated upstream. Counting here, not
 * in a long-lived `sim serve`, keeps trials independent and a seed reproducible.
 */
export function gatewayFaultDecorator(scenario: Scenario, seed: number): (adapter: ProviderAdapter) => ProviderAdapter {
  const state = createSimFaultState(seed);
  const byProvider = new Map(Object.entries(scenario.model.faults).map(([model, spec]) => [providerFor(scenario, model), { model, faults: parseSimFault(spec) }]));
  return (adapter) => {
    const faulted = byProvider.get(adapter.id);
    if (!faulted) return adapter;
    const withFault = (ctx: CallContext): CallContext => {
      const fired = state.select(faulted.faults, faulted.model);
      if (fired.length === 0) return ctx;
      // Not a spread: a call context's `signal` is a getter on its prototype, which a spread drops.
      return callContext(ctx.upstreamModel, ctx, ctx.clock, ctx.requestId, ctx.timeouts, { ...ctx.headers, 'x-sim-fault': fired.map(withoutDice).join(',') });
    };
    return {
      id: adapter.id,
      generate: (request, ctx) => adapter.generate(request, withFault(ctx)),
      stream: (request, ctx) => adapter.stream(request, withFault(ctx)),
      close: async () => adapter.close?.(),
    };
  };
}

/** Why a run's error is the gateway's absence rather than the agent's doing, if it is. */
export function gatewayDown(error: unknown): string | undefined {
  const reason = typeof error === 'object' && error !== null ? (error as { reason?: unknown }).reason : undefined;
  if (typeof reason !== 'string' || !UNREACHABLE.has(reason)) return undefined;
  return `the gateway became unreachable mid-episode (${reason}): ${(error as { message?: string }).message ?? ''}`;
}

/**
 * Checks the gateway before an episode: reachable, the key accepted, the public models served.
 * Its failure is an infrastructure failure with a message naming the fix; the key is never shown.
 */
export async function checkGateway(gateway: GatewayModel, timeoutMs = 5_000): Promise<void> {
  const origin = gatewayOrigin(gateway);
  let response: Response;
  try {
    response = await fetch(`${origin}/v1/models`, { headers: { authorization: `Bearer ${gateway.apiKey}` }, signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new Error(`cannot reach the gateway at ${origin} (${cause}): start it, or fix model.gateway.baseUrl / --gateway`);
  }
  const body = (await response.json().catch(() => null)) as { data?: Array<{ id?: unknown }>; error?: { code?: unknown } } | null;
  if (response.status === 401 || response.status === 403) {
    throw new Error(`the gateway at ${origin} rejected the key (${response.status} ${String(body?.error?.code ?? '')}): give a virtual key of that gateway in model.gateway.apiKey / --gateway-key-env`);
  }
  if (!response.ok) throw new Error(`the gateway at ${origin} answered GET /v1/models with ${response.status}`);
  const served = new Set((body?.data ?? []).map((entry) => String(entry.id)));
  const missing = [gateway.model, ...Object.values(gateway.models)].filter((name) => !name.includes('/') && !served.has(name));
  if (missing.length > 0) throw new Error(`the gateway at ${origin} does not serve model ${missing.map((m) => `"${m}"`).join(', ')} (it serves: ${[...served].slice(0, 12).join(', ')})`);
}

/** What a gateway episode does differently from the in-process sim, for the report. */
export function gatewayNotes(scenario: Scenario, gateway: GatewayModel): string[] {
  const notes = [`model calls go through the gateway at ${gatewayOrigin(gateway)} as "${gateway.model}"${Object.keys(gateway.models).length ? ` (mapped: ${Object.entries(gateway.models).map(([from, to]) => `${from} → ${to}`).join(', ')})` : ''}`];
  if (scenario.model.script.length > 0) notes.push(`model.script (${scenario.model.script.length} turn(s)) not applied: the gateway's model answers every turn`);
  const faults = Object.entries(scenario.model.faults);
  if (faults.length > 0) {
    notes.push(`provider faults (${faults.map(([model, spec]) => `${model}: ${spec}`).join(', ')}) are sent as x-sim-fault; they fire only where the gateway's upstream is simulated, a real provider ignores them`);
  }
  return notes;
}
