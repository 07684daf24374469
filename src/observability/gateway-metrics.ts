import type { AttemptOutcome, AttemptRecord } from '../core/attempt-loop.js';
import type { RequestRecord } from '../store/interfaces.js';
import { BucketHistogram, type HistogramSeries } from './bucket-histogram.js';
import { CounterFamily, LabelGuard, type CounterCell } from './counter-family.js';
import type { MetricsRegistry } from './metrics-registry.js';

/** Label values beyond these many distinct ones become `other` (SPEC OBS-1: bounded cardinality). */
const MAX_ROUTES = 32;
const MAX_DEPLOYMENTS = 256;
const MAX_TEAMS = 1000;
const NONE = 'none';

const LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];
const OVERHEAD_BOUNDS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
const QUEUE_BOUNDS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The error codes that mean admission refused the request (limits, budgets, lane queues). */
const ADMISSION_CODES = new Set(['rate_limited', 'budget_exceeded', 'queue_timeout']);

/** How a request ended, as the `outcome` label. */
export type RequestOutcomeLabel = 'success' | 'error' | 'cancelled';

/** How an attempt ended, as the `outcome` label of `breakwater_attempts_total`. */
export type AttemptOutcomeLabel = 'success' | 'error' | 'timeout' | 'semantic_failure' | 'rate_limited' | 'abandoned';

/** The series one (route, deployment, outcome) touches, resolved once and reused. */
interface RequestSeries {
  requests: CounterCell;
  retries: CounterCell;
  fallbacks: CounterCell;
  latency: HistogramSeries;
  overhead: HistogramSeries;
  inputTokens: CounterCell;
  outputTokens: CounterCell;
  cacheReadTokens: CounterCell;
  reasoningTokens: CounterCell;
  cost: CounterCell;
}

/** The cells of one deployment's attempts, by outcome. */
type AttemptSeries = Record<AttemptOutcomeLabel, CounterCell>;

/** Split `provider/model`; the provider part never contains a slash, the model part may. */
export function splitDeployment(deployment: string): [string, string] {
  const slash = deployment.indexOf('/');
  return slash < 0 ? [deployment, deployment] : [deployment.slice(0, slash), deployment.slice(slash + 1)];
}

/** An endpoint without its query string. */
export function routePath(endpoint: string): string {
  const query = endpoint.indexOf('?');
  return query < 0 ? endpoint : endpoint.slice(0, query);
}

/**
 * Request, attempt, token, cost and admission metrics (SPEC OBS-1). Updated once per request from
 * its ledger record and once per attempt from the resilience policy. Every label set is resolved
 * to plain number cells on first use, so a request costs a string join, one map lookup and a
 * few additions; prom-client is loaded only on the first scrape.
 */
export class GatewayMetrics {
  readonly requests = new CounterFamily('breakwater_requests_total', 'Requests by route, serving provider and model, and outcome', ['route', 'provider', 'model', 'outcome']);
  readonly errors = new CounterFamily('breakwater_request_errors_total', 'Failed requests by route and error code', ['route', 'code']);
  readonly attempts = new CounterFamily('breakwater_attempts_total', 'Upstream attempts by provider, model and outcome (semantic_failure: the answer failed validation)', ['provider', 'model', 'outcome']);
  readonly retries = new CounterFamily('breakwater_retries_total', 'Attempts beyond the first, by route (retry ratio: this over requests)', ['route']);
  readonly fallbacks = new CounterFamily('breakwater_fallbacks_total', "Requests served by a deployment other than the route's first, by route", ['route']);
  readonly tokens = new CounterFamily('breakwater_tokens_total', 'Tokens by provider, model and kind', ['provider', 'model', 'kind']);
  readonly cost = new CounterFamily('breakwater_cost_usd_total', 'Spend in USD by provider and model', ['provider', 'model']);
  readonly teamSpend = new CounterFamily('breakwater_team_spend_usd_total', 'Spend in USD by organisation and team id', ['org', 'team']);
  readonly rejections = new CounterFamily('breakwater_admission_rejections_total', 'Requests refused by limits, budgets or lane queues, by lane and code', ['lane', 'code']);
  readonly laneRequests = new CounterFamily('breakwater_lane_requests_total', 'Requests that reached admission, by lane', ['lane']);
  readonly breakerTransitions = new CounterFamily('breakwater_breaker_transitions_total', 'Circuit breaker state changes by deployment and new state', ['deployment', 'to']);
  readonly latency = new BucketHistogram('breakwater_request_duration_seconds', 'Receipt to last byte, per request; cold: the first request to its upstream after an idle period (SPEC CS-3)', ['route', 'outcome', 'cold'], LATENCY_BOUNDS);
  readonly overhead = new BucketHistogram('breakwater_overhead_seconds', 'Time spent in the gateway excluding upstream calls (x-breakwater-overhead-ms)', ['route'], OVERHEAD_BOUNDS);
  readonly queueWait = new BucketHistogram('breakwater_lane_queue_wait_seconds', 'Time admitted requests waited in their lane queue', ['lane'], QUEUE_BOUNDS);

  private readonly routes = new LabelGuard(MAX_ROUTES);
  private readonly deployments = new LabelGuard(MAX_DEPLOYMENTS);
  private readonly teams = new LabelGuard(MAX_TEAMS);
  private readonly series = new Map<string, RequestSeries>();
  private readonly attemptSeries = new Map<string, AttemptSeries>();
  private readonly teamCells = new Map<string, CounterCell>();

  constructor(registry: MetricsRegistry) {
    registry.addSource((prom, reg) => {
      for (const family of [this.requests, this.errors, this.attempts, this.retries, this.fallbacks, this.tokens, this.cost, this.teamSpend, this.rejections, this.laneRequests, this.breakerTransitions]) {
        family.register(prom, reg);
      }
      for (const histogram of [this.latency, this.overhead, this.queueWait]) histogram.register(prom, reg);
    });
  }

  /** Counts one finished request from its ledger record; `attempts` as the gateway had them. */
  onRequest(record: RequestRecord, attempts: readonly AttemptRecord[] | number): void {
    const outcome: RequestOutcomeLabel = record.status === 200 ? 'success' : record.status === 499 ? 'cancelled' : 'error';
    const route = routePath(record.endpoint);
    const deployment = record.servedBy ?? NONE;
    const series = this.seriesFor(route, deployment, outcome, record.cold === true);
    series.requests.value++;
    series.latency.observe(record.latencyMs / 1000);
    if (record.overheadMs !== undefined) series.overhead.observe(record.overheadMs / 1000);
    if (record.attempts > 1) series.retries.value += record.attempts - 1;
    if (typeof attempts !== 'number' && attempts.length > 0 && record.servedBy !== undefined && attempts[0]!.deployment !== record.servedBy) series.fallbacks.value++;
    if (record.inputTokens) series.inputTokens.value += record.inputTokens;
    if (record.outputTokens) series.outputTokens.value += record.outputTokens;
    if (record.cacheReadTokens) series.cacheReadTokens.value += record.cacheReadTokens;
    if (record.reasoningTokens) series.reasoningTokens.value += record.reasoningTokens;
    if (record.costMicros) {
      const usd = record.costMicros / 1e6;
      series.cost.value += usd;
      this.teamCell(record.orgId ?? NONE, record.teamId ?? NONE).value += usd;
    }
    if (outcome === 'error' && record.errorCode !== undefined) this.onError(record, route);
    if (record.lane !== undefined) {
      this.laneRequests.cell([record.lane]).value++;
      if (record.queueMs !== undefined) this.queueWait.seriesFor([record.lane]).observe(record.queueMs / 1000);
    }
  }

  /** Counts one upstream attempt as the resilience policy saw it end. */
  onAttempt(deployment: string, outcome: AttemptOutcome): void {
    let cells = this.attemptSeries.get(deployment);
    if (!cells) this.attemptSeries.set(deployment, (cells = this.attemptCells(deployment)));
    const label: AttemptOutcomeLabel =
      outcome.kind === 'success' ? 'success' : outcome.kind === 'abandoned' ? 'abandoned' : outcome.failure === 'semantic' ? 'semantic_failure' : outcome.failure;
    cells[label].value++;
  }

  /** Counts a breaker state change. */
  onBreakerChange(deployment: string, to: string): void {
    this.breakerTransitions.cell([this.deployments.admit(deployment), to]).value++;
  }

  private onError(record: RequestRecord, route: string): void {
    const code = record.errorCode!;
    this.errors.cell([this.routes.admit(route), code]).value++;
    if (ADMISSION_CODES.has(code)) this.rejections.cell([record.lane ?? NONE, code]).value++;
  }

  private seriesFor(route: string, deployment: string, outcome: RequestOutcomeLabel, cold: boolean): RequestSeries {
    const key = route + '\u0000' + deployment + '\u0000' + outcome + (cold ? '\u0000cold' : '');
    let series = this.series.get(key);
    if (series) return series;
    const routeLabel = this.routes.admit(route);
    const [provider, model] = deployment === NONE ? [NONE, NONE] : splitDeployment(this.deployments.admit(deployment));
    const tokens = (kind: string) => this.tokens.cell([provider, model, kind]);
    series = {
      requests: this.requests.cell([routeLabel, provider, model, outcome]),
      retries: this.retries.cell([routeLabel]),
      fallbacks: this.fallbacks.cell([routeLabel]),
      latency: this.latency.seriesFor([routeLabel, outcome, cold ? 'true' : 'false']),
      overhead: this.overhead.seriesFor([routeLabel]),
      inputTokens: tokens('input'),
      outputTokens: tokens('output'),
      cacheReadTokens: tokens('cache_read'),
      reasoningTokens: tokens('reasoning'),
      cost: this.cost.cell([provider, model]),
    };
    this.series.set(key, series);
    return series;
  }

  private attemptCells(deployment: string): AttemptSeries {
    const [provider, model] = splitDeployment(this.deployments.admit(deployment));
    const cell = (outcome: AttemptOutcomeLabel) => this.attempts.cell([provider, model, outcome]);
    return {
      success: cell('success'),
      error: cell('error'),
      timeout: cell('timeout'),
      semantic_failure: cell('semantic_failure'),
      rate_limited: cell('rate_limited'),
      abandoned: cell('abandoned'),
    };
  }

  private teamCell(org: string, team: string): CounterCell {
    const key = org + '\u0000' + team;
    let cell = this.teamCells.get(key);
    if (!cell) {
      const label = this.teams.admit(key);
      cell = label === 'other' ? this.teamSpend.cell(['other', 'other']) : this.teamSpend.cell([org, team]);
      this.teamCells.set(key, cell);
    }
    return cell;
  }
}
