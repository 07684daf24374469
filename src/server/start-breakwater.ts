import { mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { pino, type Logger } from 'pino';
import { systemClock, type Clock, type Random } from '../core/clock.js';
import { loadConfig, type ConfigOverrides } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { createRouteResolver, type ProviderRegistry, type RouteResolver } from '../gateway/route-resolver.js';
import { createResilience, type Resilience, type ResilienceHooks } from '../gateway/resilience-policy.js';
import { checkConfiguredValidators, createValidation } from '../gateway/validation.js';
import { createRouting, type Routing } from '../routing/routing.js';
import { Gateway } from '../gateway/gateway.js';
import { IdempotencyCoordinator } from '../gateway/idempotency.js';
import { LedgerWriter } from '../gateway/ledger-writer.js';
import { createProviderRegistry } from '../gateway/provider-registry.js';
import { startKeepWarm, type KeepWarm } from '../gateway/keep-warm.js';
import { CombinedTraffic, Warmth } from '../gateway/warmth.js';
import { startBackgroundWarmUp, type BackgroundWarmUp } from './background-warm-up.js';
import type { Stores } from '../store/interfaces.js';
import { openStores } from '../store/stores.js';
import type { SharedState } from '../shared/shared-state.js';
import { loadOrCreatePepper } from '../tenancy/key-hash.js';
import { createKeyService, type KeyService } from '../tenancy/key-service.js';
import { createTenancy, type Tenancy } from '../tenancy/tenancy.js';
import { createAccessLog, type LineSink } from './access-log.js';
import { createHttpServer } from './http-server.js';
import { registerAdminRoutes } from './admin-routes.js';
import { registerTenancyRoutes } from './tenancy-routes.js';
import { registerRoutes, type ReadinessReport } from './routes.js';
import { createRunsView } from '../runs/runs-view.js';
import { StreamHub } from '../streaming/stream-hub.js';
import { createPubSubCancelBus } from '../streaming/cancel-bus.js';
import type { BreakerSync } from '../shared/breaker-sync.js';
import { startHealthChecks } from '../routing/health-checks.js';
import { GatewayObservability } from '../observability/gateway-observability.js';
import type { RunsView } from '../observability/runs-view.js';
import type { StreamMetrics } from '../observability/stream-metrics.js';
import { registerDashboardRoutes } from './dashboard-routes.js';
import { createMetricsHandler } from './metrics-route.js';
import type { MetricsRegistry } from '../observability/metrics-registry.js';
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
  /** Random source for balancing and shadow sampling (seeded in tests). */
  random?: Random;
  /** Durable runs as observability sees them; by default read from this process's run store. */
  runs?: RunsView;
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
  tenancy: Tenancy;
  ledger: LedgerWriter;
  logger: Logger;
  resilience: Resilience;
  /** Routing rules, balancing and the regression guard. */
  routing: Routing;
  providers: ProviderRegistry;
  /** Resumable streams produced by this process. */
  streams: StreamHub;
  /** Stream metrics, exposed at `GET /metrics`. */
  metrics: StreamMetrics;
  /** Request metrics, tracing and headline stats (SPEC M9). */
  observability: GatewayObservability;
  /** Durable runs: the service behind /v1/runs and, with agents, this process's worker. */
  runs: RunRuntime;
  /** Which upstreams are warm: requests after an idle period are tagged cold (SPEC CS-3). */
  warmth: Warmth;
  /** Background warm-up and keep-warm pings (SPEC CS-2, CS-4). */
  keepWarm: KeepWarm;
  /** The warm-up after ready: connections and, once the server is quiet, the tokenizer (SPEC CS-2). */
  warmUp: BackgroundWarmUp;
  /** Keys created on first start, to print once; empty on later starts. */
  bootstrapKeys: { adminKey?: string | undefined; virtualKey?: string | undefined };
  /** Drains requests (up to `server.drainMs`), flushes the ledger and closes stores. */
  close(): Promise<void>;
}

const IDEMPOTENCY_SWEEP_MS = 10 * 60_000;
const STREAM_SWEEP_MS = 10 * 60_000;

/** With `server.warmUp` off nothing warms up, so no request is tagged cold for that. */
const NO_WARM_UP: BackgroundWarmUp = Object.freeze({ done: Promise.resolve(), stop: () => {} });

/** Secrets never reach the logs (SPEC OBS-4, SEC-1). */
const REDACT_PATHS = ['apiKey', '*.apiKey', 'key', '*.key', 'headers.authorization', 'headers["x-api-key"]', 'authorization'];

/** Destinations of loggers made by {@link createLogger}: plain pino, so the access log may write to them directly. */
const plainSinks = new WeakMap<Logger, LineSink>();

/**
 * The default logger: JSON lines on stdout, written asynchronously off the request path and in
 * 4 KiB batches (a write per access-log line cost ~10% of gateway CPU under load), flushed at
 * least every second and on shutdown.
 */
export function createLogger(level: string): Logger {
  const destination = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => destination.flush(), 1000).unref();
  const logger = pino({ level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: undefined }, destination);
  plainSinks.set(logger, destination);
  return logger;
}

/**
 * Asks OpenAI-compatible upstreams that list no models which models they serve (SPEC PV-3), in
 * the background: readiness never waits on the network, and a failure only leaves the list short.
 * Resolves once every answer or failure is in.
 */
function discoverModels(config: Config, registry: ProviderRegistry, resolver: RouteResolver, warmth: Warmth, logger: Logger): Promise<void> {
  const discoveries: Array<Promise<void>> = [];
  for (const [name, provider] of Object.entries(config.providers)) {
    if (provider.kind !== 'openai-compatible' || provider.models) continue;
    const discovery = registry.adapter(name)?.listModels?.({ signal: AbortSignal.timeout(30_000) }).then(
      (models) => {
        resolver.addDiscovered(models.map((model) => `${name}/${model}`));
        warmth.touch(name);
      },
      (err: unknown) => logger.warn({ provider: name, err: err instanceof Error ? err.message : String(err) }, 'model discovery failed'),
    );
    if (discovery) discoveries.push(discovery);
  }
  return Promise.all(discoveries).then(() => {});
}

/**
 * Readiness (SPEC OBS-5, MT-14): the config loaded (or we would not be here), the store answers,
 * and shared state is up or its outage policy still lets requests through.
 */
async function storeReadiness(stores: Stores, shared: SharedState | undefined, config: Config): Promise<ReadinessReport> {
  const redis = shared?.check();
  const sharedChecks: ReadinessReport['checks'] = redis ? { redis } : {};
  const sharedOk = !redis || redis.ok || config.shared.outage.limits !== 'closed';
  try {
    await stores.ping();
    return { ready: sharedOk, checks: { config: { ok: true }, store: { ok: true }, ...sharedChecks } };
  } catch (error) {
    return { ready: false, checks: { config: { ok: true }, store: { ok: false, detail: String(error) }, ...sharedChecks } };
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

/** `breakwater_redis_up` (1 or 0) and the outage policy in force, for alerting on a Redis outage (issue 6). */
function observeSharedState(registry: MetricsRegistry, shared: SharedState): void {
  registry.addSource((prom, promRegistry) => {
    new prom.Gauge({
      name: 'breakwater_redis_up',
      help: 'Whether shared state (Redis) answers; while 0, limits and budgets follow shared.outage',
      registers: [promRegistry],
      collect() {
        this.set(shared.check().ok ? 1 : 0);
      },
    });
  });
}

/** The resilience hooks, with breaker transitions also published to other replicas. */
function withBreakerSync(hooks: ResilienceHooks, sync: BreakerSync | undefined): ResilienceHooks {
  if (!sync) return hooks;
  const observe = hooks.onBreakerChange;
  return {
    ...hooks,
    onBreakerChange: (deployment, from, to, snapshot) => {
      observe?.(deployment, from, to, snapshot);
      sync.publish(deployment, from, to, snapshot);
    },
  };
}

/**
 * The stream hub, with streams a crashed process left open ended as interrupted (so their readers
 * get a terminal event, SPEC ST-14) and expired streams and responses swept in the background.
 */
async function startStreams(stores: Stores, config: Config, clock: Clock, logger: Logger): Promise<{ hub: StreamHub; stop(): Promise<void> }> {
  const hub = new StreamHub({ log: stores.events, clock, detachGraceMs: config.stream.detachGraceMs, retentionMs: config.stream.retentionMs, logger });
  const recover = async () => {
    const interrupted = await hub.recoverOrphans(interruptedEvent);
    for (const record of interrupted) if (record.kind === 'responses') await failStoredResponse(stores, record.id);
    if (interrupted.length > 0) logger.warn({ streams: interrupted.length }, 'ended streams whose producer died');
  };
  await recover().catch((err: unknown) => logger.warn({ err }, 'stream recovery failed'));
  // A shared log: any replica ends a dead producer's streams within its lease (SPEC ST-14).
  const leaseMs = stores.events.leaseMs;
  const leaseSweeper = leaseMs === undefined ? undefined : setInterval(() => void recover().catch((err: unknown) => logger.warn({ err }, 'stream recovery failed')), Math.max(100, leaseMs / 2));
  leaseSweeper?.unref();
  const sweeper = setInterval(() => {
    const now = clock.now();
    Promise.all([stores.events.purgeExpired(now), stores.responses.purgeExpiredResponses(now)]).catch((err: unknown) => logger.warn({ err }, 'stream sweep failed'));
  }, STREAM_SWEEP_MS);
  sweeper.unref();
  return {
    hub,
    async stop() {
      clearInterval(sweeper);
      clearInterval(leaseSweeper);
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

  // Loaded only when configured: a single process never loads the Redis client (SPEC CS-1).
  const shared = config.shared.redis === undefined ? undefined : await (await import('../shared/shared-state.js')).openSharedState(config, logger);
  const stores = await openStores(config, { dataDir, shared });
  const keys = createKeyService({ store: stores.keys, pepper: loadOrCreatePepper(dataDir, env), clock });
  const bootstrapKeys = await keys.bootstrap(env);
  const ledger = new LedgerWriter(stores.ledger, { onError: (err) => logger.error({ err }, 'ledger flush failed; will retry') });
  const warmth = new Warmth(clock, config.server.coldAfterIdleMs);
  const registry = await createProviderRegistry(config, clock, { onConnect: (provider, ms) => warmth.addInit(provider, ms) });
  const observability = await GatewayObservability.create(env);
  // With replicas, one replica's breaker transitions are every replica's (issue 6).
  const breakerSync = shared && new (await import('../shared/breaker-sync.js')).BreakerSync(shared.redis, `${shared.redis.prefix}breakers`, (err) => logger.warn({ err }, 'breaker sync failed'));
  const resilience = createResilience(config.routes.defaults.breaker, clock, undefined, withBreakerSync(observability.resilienceHooks, breakerSync));
  await breakerSync?.attach(resilience.breakers);
  const healthChecks = startHealthChecks({ config, adapter: (name) => registry.adapter(name), breakers: resilience.breakers, logger });
  if (shared) observeSharedState(observability.registry, shared);
  const resolver = createRouteResolver(config, registry, resilience.createPolicy);
  const tenancy = await createTenancy({ config, stores, clock, logger, limits: shared?.limits });
  const routing = createRouting({
    config,
    resolver,
    clock,
    random: options.random ?? Math.random,
    breakers: resilience.breakers,
    record: (record) => ledger.record(record),
    alert: (alert) => logger.warn({ alert }, 'routing regression guard tripped'),
  });
  const gateway = new Gateway({ resolver, ledger, clock, validation: createValidation(), admission: tenancy.admission, routing, observer: observability.observer, warmth });
  const authenticate = async (key: string) => tenancy.resolveKey(await keys.authenticate(key));

  const idempotency = startIdempotency(stores, config, clock, logger);
  const streams = await startStreams(stores, config, clock, logger);
  // With replicas, a cancel reaching one that does not produce the stream goes to the one that does.
  if (shared) await streams.hub.connectCancelBus(createPubSubCancelBus(shared.redis, `${shared.redis.prefix}stream-cancel`));
  const metrics = observability.streams;
  const accessLog = createAccessLog(logger, plainSinks.get(logger));
  const http = createHttpServer(config.server, logger, accessLog);
  registerRoutes(http, {
    authenticate,
    gateway: () => gateway,
    models: () => resolver.models(),
    maxBodyBytes: config.server.maxBodyBytes,
    idempotency: idempotency.coordinator,
    stream: config.stream,
    hub: streams.hub,
    responses: stores.responses,
    clock,
    metrics,
    handleMetrics: createMetricsHandler(observability.registry),
    readiness: () => storeReadiness(stores, shared, config),
  });
  const runs = await startRunRuntime({ stores, hub: streams.hub, gateway: () => gateway, clock, config, logger, agents: options.agents });
  const runsView = options.runs ?? createRunsView(stores.runs, stores.events);
  registerRunRoutes(http, { authenticate, runs: runs.service, hub: streams.hub, maxBodyBytes: config.server.maxBodyBytes, heartbeatMs: config.stream.heartbeatMs, subscriberQueueEvents: config.stream.subscriberQueueEvents, pollMs: config.runs.pollMs });
  observability.watch({
    breakers: () => resilience.breakers.snapshot(),
    ledgerBacklog: () => ledger.backlog,
    resumableStreams: () => streams.hub.activeCount,
    inFlight: () => http.inFlight,
    laneQueued: () => tenancy.lanes.queued(),
    laneCapacity: () => tenancy.lanes.concurrency(),
    runs: runsView,
  });
  registerAdminRoutes(http, { authenticate, breakers: () => resilience.breakers, stats: () => observability.stats() });
  registerDashboardRoutes(http, { authenticate, observability, breakers: () => resilience.breakers, stores, runs: runsView, clock: systemClock });
  registerTenancyRoutes(http, { authenticate, stores, keys, directory: tenancy.directory, clock });
  const address = await http.listen(config.server.port, config.server.host);
  const discovery = discoverModels(config, registry, resolver, warmth, logger);
  // Discovery fetches the same model list a warm-up ping would.
  const discovered = (name: string) => config.providers[name]?.kind === 'openai-compatible' && !config.providers[name]?.models;
  const keepWarm = startKeepWarm({ config, adapter: (name) => registry.adapter(name), warmth, clock, logger, skipWarmUp: discovered });
  const warmUp = config.server.warmUp
    ? startBackgroundWarmUp({ clock, traffic: new CombinedTraffic([http, gateway.traffic]), warmth, quietMs: config.server.warmUpQuietMs, connections: Promise.all([discovery, keepWarm.warmedUp]), logger })
    : NO_WARM_UP;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${address.port}`,
    port: address.port,
    config,
    stores,
    keys,
    tenancy,
    ledger,
    logger,
    resilience,
    routing,
    providers: registry,
    streams: streams.hub,
    metrics,
    observability,
    runs,
    warmth,
    keepWarm,
    warmUp,
    bootstrapKeys,
    close() {
      closing ??= (async () => {
        idempotency.stop();
        healthChecks.stop();
        keepWarm.stop();
        warmUp.stop();
        await http.drain(config.server.drainMs);
        await runs.stop();
        await streams.stop();
        await ledger.close();
        await observability.close();
        await registry.close();
        await stores.close();
        await shared?.close();
        accessLog.flush();
        logger.flush();
      })();
      return closing;
    },
  };
}
