import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock } from '../core/clock.js';
import { loadConfig, type ConfigOverrides } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { createRouteResolver, type ProviderRegistry, type RouteResolver } from '../gateway/route-resolver.js';
import { createResilience, type Resilience } from '../gateway/resilience-policy.js';
import { checkConfiguredValidators, createValidation } from '../gateway/validation.js';
import { Gateway } from '../gateway/gateway.js';
import { IdempotencyCoordinator } from '../gateway/idempotency.js';
import { LedgerWriter } from '../gateway/ledger-writer.js';
import { createProviderRegistry } from '../gateway/provider-registry.js';
import type { Stores } from '../store/interfaces.js';
import { openStores } from '../store/stores.js';
import { loadOrCreatePepper } from '../tenancy/key-hash.js';
import { createKeyService, type KeyService } from '../tenancy/key-service.js';
import { createHttpServer } from './http-server.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerRoutes, type ReadinessReport } from './routes.js';
import { StreamHub } from '../streaming/stream-hub.js';
import { failStoredResponse, interruptedEvent } from './stream-terminals.js';
import type { AgentDefinition } from '../runs/define-agent.js';
import { startRunRuntime, type RunRuntime } from '../runs/run-runtime.js';
import { registerRunRoutes } from './run-routes.js';

/** How to start a gateway in this process. */
export interface StartOptions {
  /** A validated config; otherwise loaded from `configPath`/environment. */
  config?: Config;
  configPath?: string;
  env?: NodeJS.ProcessEnv;
  overrides?: ConfigOverrides;
  logger?: Logger;
  clock?: Clock;
  /** Agents to host in this process, instead of the `runs.agents` module. */
  agents?: readonly AgentDefinition[];
}

/** A started gateway. */
export interface RunningBreakwater {
  url: string;
  port: number;
  config: Config;
  stores: Stores;
  keys: KeyService;
  ledger: LedgerWriter;
  logger: Logger;
  resilience: Resilience;
  providers: ProviderRegistry;
  /** Resumable streams produced by this process. */
  streams: StreamHub;
  /** Durable runs: the service behind /v1/runs and, with agents, this process's worker. */
  runs: RunRuntime;
  /** Keys created on first start, to print once; empty on later starts. */
  bootstrapKeys: { adminKey?: string | undefined; virtualKey?: string | undefined };
  /** Drains requests (up to `server.drainMs`), flushes the ledger and closes stores. */
  close(): Promise<void>;
}

const IDEMPOTENCY_SWEEP_MS = 10 * 60_000;
const STREAM_SWEEP_MS = 10 * 60_000;

/** Secrets never reach the logs (SPEC OBS-4, SEC-1). */
const REDACT_PATHS = ['apiKey', '*.apiKey', 'key', '*.key', 'headers.authorization', 'headers["x-api-key"]', 'authorization'];

/**
 * The default logger: JSON lines on stdout, written asynchronously off the request path and in
 * 4 KiB batches (a write per access-log line cost ~10% of gateway CPU under load), flushed at
 * least every second and on shutdown.
 */
export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), 1000).unref();
  return pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined }, destination);
}

/**
 * Asks OpenAI-compatible upstreams that list no models which models they serve (SPEC PV-3), in
 * the background: readiness never waits on the network, and a failure only leaves the list short.
 */
function discoverModels(config: Config, registry: ProviderRegistry, resolver: RouteResolver, logger: Logger): void {
  for (const [name, provider] of Object.entries(config.providers)) {
    if (provider.kind !== 'openai-compatible' || provider.models) continue;
    const adapter = registry.adapter(name);
    adapter?.listModels?.({ signal: AbortSignal.timeout(30_000) }).then(
      (models) => resolver.addDiscovered(models.map((model) => `${name}/${model}`)),
      (err: unknown) => logger.warn({ provider: name, err: err instanceof Error ? err.message : String(err) }, 'model discovery failed'),
    );
  }
}

/** Readiness (SPEC OBS-5): the config loaded (or we would not be here) and the store answers. */
async function storeReadiness(stores: Stores): Promise<ReadinessReport> {
  try {
    await stores.ping();
    return { ready: true, checks: { config: { ok: true }, store: { ok: true } } };
  } catch (error) {
    return { ready: false, checks: { config: { ok: true }, store: { ok: false, detail: String(error) } } };
  }
}

/** The idempotency coordinator, with expired keys swept in the background, never on a request. */
function startIdempotency(stores: Stores, config: Config, clock: Clock, logger: Logger): { coordinator: IdempotencyCoordinator; stop(): void } {
  const coordinator = new IdempotencyCoordinator(stores.idempotency, {
    ttlMs: config.routes.idempotency.ttlMs,
    clock,
    onStoreError: (err) => logger.error({ err }, 'idempotency store failed'),
  });
  const sweeper = setInterval(() => {
    coordinator.purgeExpired().catch((err: unknown) => logger.warn({ err }, 'idempotency sweep failed'));
  }, IDEMPOTENCY_SWEEP_MS);
  sweeper.unref();
  return { coordinator, stop: () => clearInterval(sweeper) };
}

/**
 * The stream hub, with streams a crashed process left open ended as interrupted (so their readers
 * get a terminal event, SPEC ST-14) and expired streams and responses swept in the background.
 */
async function startStreams(stores: Stores, config: Config, clock: Clock, logger: Logger): Promise<{ hub: StreamHub; stop(): Promise<void> }> {
  const hub = new StreamHub({ log: stores.events, clock, detachGraceMs: config.stream.detachGraceMs, retentionMs: config.stream.retentionMs, logger });
  const interrupted = await hub.recoverOrphans(interruptedEvent);
  for (const record of interrupted) if (record.kind === 'responses') await failStoredResponse(stores, record.id);
  if (interrupted.length > 0) logger.warn({ streams: interrupted.length }, 'ended streams a previous process left open');
  const sweeper = setInterval(() => {
    const now = clock.now();
    Promise.all([stores.events.purgeExpired(now), stores.responses.purgeExpiredResponses(now)]).catch((err: unknown) => logger.warn({ err }, 'stream sweep failed'));
  }, STREAM_SWEEP_MS);
  sweeper.unref();
  return {
    hub,
    async stop() {
      clearInterval(sweeper);
      await hub.close();
    },
  };
}

/**
 * Starts the gateway: config, stores (migrated), keys (bootstrapped on first start), providers,
 * the request pipeline and the HTTP front door.
 */
export async function startBreakwater(options: StartOptions = {}): Promise<RunningBreakwater> {
  const env = options.env ?? process.env;
  const config = options.config ?? loadConfig({ path: options.configPath, env, overrides: options.overrides });
  checkConfiguredValidators(config);
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger(config.server.logLevel);
  const dataDir = resolve(config.server.dataDir);
  mkdirSync(dataDir, { recursive: true });

  const stores = await openStores(config, { dataDir });
  const keys = createKeyService({ store: stores.keys, pepper: loadOrCreatePepper(dataDir, env), clock });
  const bootstrapKeys = await keys.bootstrap(env);
  const ledger = new LedgerWriter(stores.ledger, { onError: (err) => logger.error({ err }, 'ledger flush failed; will retry') });
  const registry = await createProviderRegistry(config, clock);
  const resilience = createResilience(config.routes.defaults.breaker, clock);
  const resolver = createRouteResolver(config, registry, resilience.createPolicy);
  const gateway = new Gateway({ resolver, ledger, clock, validation: createValidation() });

  const idempotency = startIdempotency(stores, config, clock, logger);
  const streams = await startStreams(stores, config, clock, logger);
  const http = createHttpServer(config.server, logger);
  registerRoutes(http, {
    authenticate: (key) => keys.authenticate(key),
    gateway: () => gateway,
    models: () => resolver.models(),
    maxBodyBytes: config.server.maxBodyBytes,
    idempotency: idempotency.coordinator,
    stream: config.stream,
    hub: streams.hub,
    responses: stores.responses,
    clock,
    readiness: () => storeReadiness(stores),
  });
  const runs = await startRunRuntime({ stores, hub: streams.hub, gateway: () => gateway, clock, config, logger, agents: options.agents });
  registerRunRoutes(http, { authenticate: (key) => keys.authenticate(key), runs: runs.service, hub: streams.hub, maxBodyBytes: config.server.maxBodyBytes, heartbeatMs: config.stream.heartbeatMs, subscriberQueueEvents: config.stream.subscriberQueueEvents, pollMs: config.runs.pollMs });
  registerAdminRoutes(http, { authenticate: (key) => keys.authenticate(key), breakers: () => resilience.breakers });
  const address = await http.listen(config.server.port, config.server.host);
  discoverModels(config, registry, resolver, logger);
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    config,
    stores,
    keys,
    ledger,
    logger,
    resilience,
    providers: registry,
    streams: streams.hub,
    runs,
    bootstrapKeys,
    close() {
      closing ??= (async () => {
        idempotency.stop();
        await http.drain(config.server.drainMs);
        await runs.stop();
        await streams.stop();
        await ledger.close();
        await registry.close();
        await stores.close();
        logger.flush();
      })();
      return closing;
    },
  };
}
