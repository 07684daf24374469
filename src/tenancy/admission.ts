import { isCancelled } from '../core/cancellation.js';
import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { CanonicalRequest, EmbeddingRequest, RateLimitInfo } from '../core/types.js';
import type { TenancyConfig } from '../config/schema.js';
import type { RequestContext } from '../gateway/gateway.js';
import type { ResolvedRoute } from '../gateway/route-resolver.js';
import type { Lane, RequestRecord } from '../store/interfaces.js';
import { denialError, queueTimeoutError } from './admission-errors.js';
import { BudgetCalendar } from './budget-periods.js';
import type { LaneGate } from './lane-gate.js';
import type { LimitLevel, LimitStore, Reservation, ReserveInput, SoftCrossing } from './limit-store.js';
import type { PrincipalChain, PrincipalDirectory } from './principal-chain.js';
import { estimateEmbeddingTokens, estimateInputTokens, loadTokenizer } from './token-estimator.js';

/** What admission keeps about a request until it settles. */
interface Ticket {
  lane: Lane;
  route: string;
  reservation?: Reservation | undefined;
  /** The gated deployment whose queue a settle wakes. */
  deployment?: string | undefined;
  queueMs?: number | undefined;
}

/** What {@link Admission} needs. */
export interface AdmissionOptions {
  limits: LimitStore;
  directory: PrincipalDirectory;
  lanes: LaneGate;
  clock: Clock;
  tenancy: Pick<TenancyConfig, 'defaultOutputTokens' | 'timezone'>;
  /** Told about budgets crossing their soft threshold (webhook and log). */
  onSoftCrossing?: ((crossing: SoftCrossing) => void) | undefined;
  onError?: ((error: unknown) => void) | undefined;
}

/** A concurrency slot is reclaimed this long after the request's deadline if never settled. */
const LEASE_GRACE_MS = 60_000;
const LANES: readonly string[] = ['interactive', 'batch'];

/**
 * Admission (SPEC §2.2 step 4): one atomic reserve over the key's principal chain and the
 * serving deployment's lane capacity, waiting in the lane queue when only the deployment is
 * full; and settle (step 8), which reconciles the reservation with what the request used,
 * releases its concurrency and wakes the queue. Requests under no limit skip the store.
 */
export class Admission {
  private readonly tickets = new WeakMap<RequestContext, Ticket>();
  private readonly calendar: BudgetCalendar;

  constructor(private readonly options: AdmissionOptions) {
    this.calendar = new BudgetCalendar(options.tenancy.timezone);
  }

  /** The budget calendar (for seeding spend from the ledger). */
  get budgetCalendar(): BudgetCalendar {
    return this.calendar;
  }

  /** Reserves room for one request or throws 429 / 402 / 400. Resolves at once when nothing limits it. */
  admit(ctx: RequestContext, route: ResolvedRoute, request: CanonicalRequest | EmbeddingRequest): Promise<void> | undefined {
    const chain = this.options.directory.chainOf(ctx.key);
    const lane = laneOf(ctx.priority, chain);
    const deployment = route.candidates[0]?.deployment;
    const capacity = deployment === undefined ? undefined : this.options.lanes.levelFor(deployment, lane);
    const ticket: Ticket = { lane, route: route.model };
    this.tickets.set(ctx, ticket);
    if (chain.levels.length === 0 && !capacity) return undefined;
    return this.reserve(ctx, route, request, chain, ticket, deployment, capacity);
  }

  private async reserve(
    ctx: RequestContext,
    route: ResolvedRoute,
    request: CanonicalRequest | EmbeddingRequest,
    chain: PrincipalChain,
    ticket: Ticket,
    deployment: string | undefined,
    capacity: LimitLevel | undefined,
  ): Promise<void> {
    const { clock, limits, lanes } = this.options;
    const input = this.demand(ctx, route, request, chain, capacity);
    const startedAt = clock.now();
    let again = false;
    for (;;) {
      const result = await limits.reserve(input);
      if (result.ok) {
        ticket.reservation = result.reservation;
        ticket.deployment = capacity ? deployment : undefined;
        if (again) ticket.queueMs = clock.now() - startedAt;
        return;
      }
      const { denial } = result;
      if (denial.level.kind !== 'deployment' || deployment === undefined) throw denialError(denial);
      const left = startedAt + lanes.queueMs(ticket.lane) - clock.now();
      if (left <= 0 || isCancelled(ctx)) throw queueTimeoutError(deployment, ticket.lane, clock.now() - startedAt, false);
      const waitMs = Math.min(left, denial.retryAfterMs ?? left);
      if (!(await lanes.wait(deployment, ticket.lane, waitMs, again))) throw queueTimeoutError(deployment, ticket.lane, 0, true);
      again = true;
      input.now = clock.now();
      const current = lanes.levelFor(deployment, ticket.lane);
      if (current) (input.levels as LimitLevel[])[input.levels.length - 1] = current;
    }
  }

  /** The reservation one request asks for: estimated tokens and cost over every level. */
  private demand(ctx: RequestContext, route: ResolvedRoute, request: CanonicalRequest | EmbeddingRequest, chain: PrincipalChain, capacity: LimitLevel | undefined): ReserveInput {
    const { clock, tenancy } = this.options;
    const now = clock.now();
    const levels = capacity ? [...chain.levels, capacity] : chain.levels;
    let inputTokens = 0;
    let outputTokens = 0;
    let costMicros = 0;
    if (chain.needsTokens || capacity?.limits.inputTpm !== undefined) {
      // The first request that needs a count starts loading the tokenizer; until it is in, the
      // estimate is 4 characters per token.
      void loadTokenizer();
      if ('messages' in request) {
        inputTokens = estimateInputTokens(request);
        outputTokens = request.maxTokens ?? tenancy.defaultOutputTokens;
      } else {
        inputTokens = estimateEmbeddingTokens(request);
      }
    }
    if (chain.needsCost) {
      // Fallbacks may cost more than the primary: reserve the dearest candidate.
      for (const candidate of route.candidates) costMicros = Math.max(costMicros, candidate.price({ inputTokens, outputTokens }).costMicros);
    }
    return {
      id: newId('rsv'),
      now,
      levels,
      inputTokens,
      outputTokens,
      costMicros,
      periods: this.calendar.at(now),
      leaseUntil: now + route.deadlineMs + LEASE_GRACE_MS,
    };
  }

  /**
   * Settles a request as its ledger record is made: fills the record's lane, route and queue
   * time, commits actual tokens and cost, releases concurrency and wakes the deployment's queue.
   * Never throws and never waits: the store call runs in the background.
   */
  settle(ctx: RequestContext, record: RequestRecord, rateLimit?: RateLimitInfo): void {
    const ticket = this.tickets.get(ctx);
    if (!ticket) return;
    this.tickets.delete(ctx);
    record.lane = ticket.lane;
    record.route = ticket.route;
    if (ticket.queueMs !== undefined) record.queueMs = ticket.queueMs;
    if (record.servedBy !== undefined && rateLimit) this.options.lanes.observe(record.servedBy, rateLimit);
    const { reservation, deployment } = ticket;
    if (!reservation) return;
    const actual = { now: this.options.clock.now(), inputTokens: record.inputTokens, outputTokens: record.outputTokens, costMicros: record.costMicros };
    this.options.limits.settle(reservation, actual).then(
      (crossings) => {
        if (deployment !== undefined) this.options.lanes.release(deployment);
        for (const crossing of crossings) this.options.onSoftCrossing?.(crossing);
      },
      (error: unknown) => this.options.onError?.(error),
    );
  }
}

function laneOf(priority: string | undefined, chain: PrincipalChain): Lane {
  if (priority === undefined) return chain.lane;
  if (!LANES.includes(priority)) {
    throw new BreakwaterError('invalid_request', `x-breakwater-priority must be 'interactive' or 'batch', not '${priority}'`, { param: 'x-breakwater-priority' });
  }
  return priority as Lane;
}
