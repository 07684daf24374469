import type { BreakwaterError } from '../core/errors.js';
import type { AttemptRecord } from '../core/pipeline.js';
import type { Usage } from '../core/types.js';
import type { RequestRecord, RouteDecisionRecord } from '../store/interfaces.js';
import type { RequestContext } from './gateway.js';
import type { PricedCandidate } from './route-resolver.js';

/** How one request ended, for its ledger record. */
export interface RequestOutcome {
  model: string;
  stream: boolean;
  candidate?: PricedCandidate | undefined;
  attempts: readonly AttemptRecord[] | number;
  status: number;
  usage: Usage;
  errorCode?: string | undefined;
  ttftMs?: number | undefined;
  overheadMs?: number | undefined;
  /** The routing decision, when rules planned the request (SPEC RT-4). */
  route?: RouteDecisionRecord | undefined;
  /** One-off init work a cold request paid (SPEC CS-3). */
  initMs?: number | undefined;
}

/** The ledger status of a failure: 499 (nginx's "client closed request") when the client left. */
export function ledgerStatus(error: BreakwaterError): number {
  return error.details.reason === 'client_closed' ? 499 : error.status;
}

function round3(ms: number | undefined): number | undefined {
  return ms === undefined ? undefined : Math.round(ms * 1000) / 1000;
}

/** One ledger record per logical request (SPEC MT-7), priced by the serving deployment. */
export function buildRequestRecord(ctx: RequestContext, outcome: RequestOutcome): RequestRecord {
  const { candidate, usage } = outcome;
  const cost = candidate ? candidate.price(usage) : { costMicros: 0, priceMissing: false };
  return {
    id: ctx.requestId,
    createdAt: ctx.receivedAtMs,
    keyId: ctx.key.id,
    dialect: ctx.dialect,
    endpoint: ctx.endpoint,
    requestedModel: outcome.model,
    servedBy: candidate?.deployment,
    provider: candidate?.provider,
    status: outcome.status,
    errorCode: outcome.errorCode,
    stream: outcome.stream,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    cacheReadTokens: usage.cacheReadTokens ?? 0,
    cacheWriteTokens: usage.cacheWriteTokens ?? 0,
    reasoningTokens: usage.reasoningTokens ?? 0,
    usageEstimated: Boolean(usage.estimated),
    costMicros: cost.costMicros,
    priceMissing: cost.priceMissing,
    attempts: typeof outcome.attempts === 'number' ? outcome.attempts : outcome.attempts.filter((a) => a.outcome !== 'skipped').length,
    latencyMs: round3(performance.now() - ctx.receivedAt)!,
    ttftMs: round3(outcome.ttftMs),
    overheadMs: round3(outcome.overheadMs),
    tags: ctx.tags,
    endUser: ctx.endUser,
    orgId: ctx.key.orgId,
    teamId: ctx.key.teamId,
    userId: ctx.key.userId,
    routeDecision: outcome.route,
    cold: ctx.warmth?.cold ? true : undefined,
    initMs: ctx.warmth?.cold ? (outcome.initMs ?? 0) : undefined,
  };
}
