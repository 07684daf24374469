/** What a key may do (SPEC MT-13). */
export type KeyScope = 'chat' | 'embeddings' | 'runs' | 'runs:approve' | 'admin' | 'admin:read';

/** A stored key: only its peppered hash, never the key itself. */
export interface KeyRecord {
  id: string;
  name: string;
  /** HMAC-SHA-256 of the key with the pepper, hex. */
  hash: string;
  /** The first characters of the key, safe to show (`bw_AbC1…`). */
  prefix: string;
  kind: 'virtual' | 'admin';
  scopes: KeyScope[];
  createdAt: number;
  expiresAt?: number | undefined;
  revokedAt?: number | undefined;
  orgId?: string | undefined;
  teamId?: string | undefined;
  userId?: string | undefined;
  /** Model allow-list; absent means every model. */
  allowedModels?: string[] | undefined;
  /** Limits, budgets and lane of this key (SPEC MT-1); absent means none of its own. */
  policy?: PrincipalPolicy | undefined;
}

/** A workload class (SPEC MT-4). */
export type Lane = 'interactive' | 'batch';

/** Rate and concurrency limits of one principal; each absent field is unlimited (SPEC MT-1). */
export interface PrincipalLimits {
  /** Requests per minute. */
  rpm?: number | undefined;
  /** Input (prompt) tokens per minute. */
  inputTpm?: number | undefined;
  /** Output tokens per minute. */
  outputTpm?: number | undefined;
  /** Requests in flight at once. */
  concurrency?: number | undefined;
}

/** Spend caps of one principal, in integer micro-USD (SPEC MT-6). */
export interface PrincipalBudgets {
  dailyMicros?: number | undefined;
  monthlyMicros?: number | undefined;
  /** Share of a cap at which the soft alert fires once per period; default `tenancy.softThreshold`. */
  softThreshold?: number | undefined;
}

/** What any node of the principal tree may set (SPEC MT-1). */
export interface PrincipalPolicy {
  allowedModels?: string[] | undefined;
  limits?: PrincipalLimits | undefined;
  budgets?: PrincipalBudgets | undefined;
  /** Default lane of requests under this node (keys only; the request header may override). */
  lane?: Lane | undefined;
}

/** Kinds of principals above a key. */
export type PrincipalKind = 'org' | 'team' | 'user';

/** An org, team or user (SPEC MT-1). A team belongs to an org; a user to an org and optionally a team. */
export interface PrincipalRecord {
  id: string;
  kind: PrincipalKind;
  name: string;
  /** The org it belongs to; for an org, its own id. */
  orgId: string;
  teamId?: string | undefined;
  policy: PrincipalPolicy;
  createdAt: number;
  updatedAt: number;
}

/** One audited admin change (SPEC MT-7). */
export interface AuditEntry {
  at: number;
  /** Who made it: an admin key id, or `cli`. */
  actor: string;
  /** `org.create`, `key.update`, … */
  action: string;
  /** The id of what changed. */
  target: string;
  /** What was set, without secrets. */
  detail?: Record<string, unknown> | undefined;
}

/** Orgs, teams and users, and the audit trail of admin changes (SPEC §2.4 KeyStore). */
export interface PrincipalStore {
  putPrincipal(record: PrincipalRecord): Promise<void>;
  getPrincipal(id: string): Promise<PrincipalRecord | undefined>;
  /** Oldest first; `kind` filters. */
  listPrincipals(kind?: PrincipalKind): Promise<PrincipalRecord[]>;
  deletePrincipal(id: string): Promise<boolean>;
  appendAudit(entry: AuditEntry): Promise<void>;
  /** Newest first. */
  listAudit(options: { limit: number; since?: number }): Promise<AuditEntry[]>;
}

/** Principals and keys (SPEC §2.4). */
export interface KeyStore {
  insertKey(record: KeyRecord): Promise<void>;
  findKeyByHash(hash: string): Promise<KeyRecord | undefined>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  /** Marks a key revoked; false when no such key or already revoked. */
  revokeKey(id: string, at: number): Promise<boolean>;
  /** Replaces a key's allow-list and policy; false when no such key. */
  updateKey(id: string, patch: Pick<KeyRecord, 'allowedModels' | 'policy' | 'name'>): Promise<boolean>;
  countKeys(kind: KeyRecord['kind']): Promise<number>;
}

/** One logical request as the ledger keeps it (SPEC MT-7). */
export interface RequestRecord {
  id: string;
  createdAt: number;
  keyId: string;
  dialect: string;
  endpoint: string;
  requestedModel: string;
  servedBy?: string | undefined;
  provider?: string | undefined;
  status: number;
  errorCode?: string | undefined;
  stream: boolean;
  inputTokens: number;
  outputTokens: number;
  cacheReadTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  usageEstimated: boolean;
  costMicros: number;
  priceMissing: boolean;
  attempts: number;
  latencyMs: number;
  ttftMs?: number | undefined;
  overheadMs?: number | undefined;
  tags?: Record<string, string> | undefined;
  endUser?: string | undefined;
  orgId?: string | undefined;
  teamId?: string | undefined;
  userId?: string | undefined;
  lane?: Lane | undefined;
  /** The route (model alias) that planned the request. */
  route?: string | undefined;
  /** Time spent waiting in the lane queue before admission. */
  queueMs?: number | undefined;
  /** How routing decided (SPEC RT-4); absent when no routing rule planned the request. */
  routeDecision?: RouteDecisionRecord | undefined;
  /** The first request to its upstream after an idle period, or before warm-up (SPEC CS-3); absent when warm. */
  cold?: boolean | undefined;
  /** One-off init work the cold request paid (upstream connection set-up), ms; absent when warm. */
  initMs?: number | undefined;
}

/** A routing decision as the ledger keeps it (SPEC RT-4, RT-6, OW-4). */
export interface RouteDecisionRecord {
  rule?: string | undefined;
  strategy?: string | undefined;
  /** The tier planned first. */
  tier?: string | undefined;
  score?: number | undefined;
  threshold?: number | undefined;
  pinned?: boolean | undefined;
  /** The tier that served (cascade: > 0 means escalated). */
  servedTier?: number | undefined;
  /** What the same usage would have cost on the strong (last) tier, for the savings report. */
  strongCostMicros?: number | undefined;
  /** A background shadow copy of this request id, billed to `billedTo`. */
  shadowOf?: string | undefined;
  billedTo?: string | undefined;
  /** Shadow verdict: did the served answer agree with the strong one? */
  agreed?: boolean | undefined;
}

/** What usage can be grouped by (SPEC MT-2); `tag:<name>` groups by one tag. */
export type UsageDimension = 'org' | 'team' | 'user' | 'key' | 'model' | 'served_model' | 'provider' | 'route' | 'lane' | 'end_user' | 'status' | 'cold' | `tag:${string}`;

/** A usage report's range and grouping. */
export interface UsageQuery {
  since: number;
  until?: number | undefined;
  groupBy: readonly UsageDimension[];
}

/** One group of a usage report: its dimension values (null when unset) and sums. */
export interface UsageRow {
  group: Record<string, string | null>;
  requests: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  costMicros: number;
}

/** The request ledger, written in batches off the hot path. */
export interface LedgerStore {
  appendRequests(records: RequestRecord[]): Promise<void>;
  getRequest(id: string): Promise<RequestRecord | undefined>;
  /** Most recent first. */
  listRequests(options: { limit: number; since?: number }): Promise<RequestRecord[]>;
  /** Sums over `[since, until)` grouped by the given dimensions, costliest first. */
  usage(query: UsageQuery): Promise<UsageRow[]>;
}

/** Small key-value metadata (bootstrap flags, schema facts). */
export interface MetaStore {
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
}

/** How long an in-flight idempotency row holds its key when `leaseMs` is not given (matches the 600 s total timeout). */
export const DEFAULT_IDEMPOTENCY_LEASE_MS = 600_000;

/**
 * One idempotency key (SPEC UP-8). `expiresAt` is the end of the owner's lease while in flight, so a
 * crashed owner cannot hold the key forever, and the end of the replay TTL once completed.
 */
export interface IdempotencyRecord {
  /** The tenant the key belongs to; the same key in two scopes is two keys. */
  scope: string;
  key: string;
  /** SHA-256 of the request identity; a repeat with another hash is a conflict. */
  requestHash: string;
  state: 'in_flight' | 'completed';
  /** Who is generating (or generated) the answer; only it may complete or abandon the row. */
  owner: string;
  status?: number | undefined;
  /** JSON of the answer the client got; never secrets. */
  body?: string | undefined;
  headers?: Record<string, string> | undefined;
  createdAt: number;
  expiresAt: number;
}

/** What `begin` found: a fresh claim for the caller, a stored answer, a running owner or a mismatch. */
export type IdempotencyBegin =
  | { kind: 'started' }
  | { kind: 'completed'; record: IdempotencyRecord }
  | { kind: 'in_flight'; owner: string }
  | { kind: 'conflict' };

/** The claim `begin` tries to take. */
export interface IdempotencyBeginEntry {
  scope: string;
  key: string;
  requestHash: string;
  now: number;
  /** The replay TTL; it also caps the lease, so no row outlives it. */
  ttlMs: number;
  owner: string;
  /** How long the in-flight row holds the key before another caller may take it over. */
  leaseMs?: number | undefined;
}

/** The answer `complete` stores. */
export interface IdempotencyResult {
  status: number;
  /** JSON of the stored answer. */
  body: string;
  headers?: Record<string, string> | undefined;
  expiresAt: number;
}

/**
 * Idempotency keys (SPEC §2.4, UP-8). `begin` is one atomic step (Redis `SET NX PX`, PostgreSQL
 * `INSERT … ON CONFLICT`, a SQLite IMMEDIATE transaction), so two callers can never both start.
 */
export interface IdempotencyStore {
  /** Claims the key when it is free or its row expired, else reports what holds it. */
  begin(entry: IdempotencyBeginEntry): Promise<IdempotencyBegin>;
  /** Turns the owner's in-flight row into a completed one; a no-op for anyone else. */
  complete(scope: string, key: string, owner: string, result: IdempotencyResult): Promise<void>;
  /** Deletes the owner's in-flight row so a retry generates again (failures are not stored). */
  abandon(scope: string, key: string, owner: string): Promise<void>;
  /** The live row, or undefined once it expired. */
  get(scope: string, key: string, now: number): Promise<IdempotencyRecord | undefined>;
  /** Deletes every row expired at `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

/** One event of a stream as the log keeps it: the SSE fields and its log-assigned sequence number. */
export interface LoggedEvent {
  seq: number;
  event?: string | undefined;
  data: string;
}

/** Where a stream stands; every status but `active` is terminal. */
export type StreamStatus = 'active' | 'completed' | 'failed' | 'cancelled' | 'interrupted';

/** A resumable stream's header row (SPEC ST-1, ST-13). */
export interface StreamRecord {
  /** `strm_…` for chat streams, the `resp_…` id for Responses. */
  id: string;
  /** The tenant that created it: only it may read or cancel (SPEC SEC-3). */
  tenant: string;
  kind: 'chat' | 'responses' | 'run';
  status: StreamStatus;
  createdAt: number;
  endedAt?: number | undefined;
  /** Deleted after this (retention); far in the future while active. */
  expiresAt: number;
  /** Dialect facts a resumed client needs (response headers, model), as JSON. */
  meta: string;
}

/** Appends for one stream, in order; part of a group commit. */
export interface StreamAppend {
  streamId: string;
  events: LoggedEvent[];
}

/**
 * Ordered events per stream (SPEC §2.4 EventLog). One producer writes each stream, so sequence
 * numbers are assigned by it; `append` takes many streams' events at once so a backend can
 * group-commit them in one transaction (SQLite) or pipeline (Redis Streams).
 */
export interface EventLog {
  createStream(record: StreamRecord): Promise<void>;
  append(batch: StreamAppend[]): Promise<void>;
  /** Events with `seq > after`, oldest first, at most `limit`. */
  read(streamId: string, after: number, limit: number): Promise<LoggedEvent[]>;
  getStream(id: string): Promise<StreamRecord | undefined>;
  /** Marks the stream terminal and starts its retention. */
  endStream(id: string, status: Exclude<StreamStatus, 'active'>, at: number, expiresAt: number): Promise<void>;
  /** Streams still `active`, e.g. left behind by a crashed process. */
  listActive(): Promise<StreamRecord[]>;
  deleteStream(id: string): Promise<boolean>;
  /** Deletes streams (and their events) expired at `now`; returns how many. */
  purgeExpired(now: number): Promise<number>;
  /**
   * Shared logs only (replicas, SPEC ST-14): producers hold a lease this long, so an `active`
   * stream may belong to a live producer elsewhere. Absent for a single process's log.
   */
  readonly leaseMs?: number | undefined;
  /** Shared logs: takes over a stream whose producer's lease lapsed; true for exactly one caller. */
  claimOrphan?(id: string): Promise<boolean>;
  /** Shared logs: waits (briefly) for events of a stream produced elsewhere, marking it watched. */
  follow?(id: string, signal: AbortSignal): Promise<void>;
  /** Shared logs: whether a reader on another replica follows the stream (it must not be cancelled as unwatched). */
  watchedElsewhere?(id: string): Promise<boolean>;
}

/** A stored OpenAI Responses object (SPEC API-4, SEC-5). */
export interface StoredResponse {
  id: string;
  tenant: string;
  status: string;
  /** The Response object JSON as `GET /v1/responses/{id}` returns it. */
  body: string;
  /** The canonical conversation including this answer, JSON, for `previous_response_id`. */
  conversation: string;
  createdAt: number;
  expiresAt: number;
}

/** Responses created with `store: true`. */
export interface ResponseStore {
  putResponse(record: StoredResponse): Promise<void>;
  getResponse(id: string): Promise<StoredResponse | undefined>;
  deleteResponse(id: string): Promise<boolean>;
  purgeExpiredResponses(now: number): Promise<number>;
}

/** Where a run stands (SPEC LR-1); the last three are terminal. */
export type RunStatus = 'queued' | 'running' | 'waiting' | 'succeeded' | 'failed' | 'cancelled';

/** A durable agent run (SPEC M7). JSON fields are stored as text so every backend keeps them verbatim. */
export interface RunRecord {
  /** `run_…`; also the id of the run's event stream. */
  id: string;
  tenant: string;
  /** The creator's key: the run acts with its rights (SPEC LR-16). */
  keyId: string;
  agent: string;
  /** JSON. */
  input: string;
  status: RunStatus;
  idempotencyKey?: string | undefined;
  /** The request that created the run: the root of every LLM call it makes. */
  requestId: string;
  /** JSON of the run's bounds. */
  limits: string;
  createdAt: number;
  updatedAt: number;
  startedAt?: number | undefined;
  endedAt?: number | undefined;
  /** The fencing token: bumped by every claim; owners' writes are conditional on it. */
  epoch: number;
  owner?: string | undefined;
  leaseExpiresAt?: number | undefined;
  /** When a parked run becomes runnable again (timer due or signal delivered). */
  wakeAt?: number | undefined;
  /** JSON of the wait the run is parked on. */
  waiter?: string | undefined;
  /** The signal name the parked run waits for, if any. */
  waitSignal?: string | undefined;
  cancelRequested: boolean;
  steps: number;
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  /** Set once a committed LLM step found its upstream cold (SPEC CS-3); absent while every call was warm. */
  cold?: boolean | undefined;
  /** The one-off init work its cold LLM calls paid, summed, ms; absent when warm. */
  initMs?: number | undefined;
  /** JSON of the agent's return value. */
  result?: string | undefined;
  /** JSON `{code, message, reason?}`. */
  error?: string | undefined;
}

/** The owner's proof of ownership: every owner write names it and fails once the epoch moved on. */
export interface RunLease {
  runId: string;
  epoch: number;
  owner: string;
}

/** One committed step of a run's journal (SPEC LR-2). */
export interface StepRecord {
  runId: string;
  /** The step's position in the agent's call order (`3`, `5.1.0` inside a parallel branch). */
  slot: string;
  /** Commit order within the run. */
  seq: number;
  /** The step key: `slot:name` unless the agent gave one; tool idempotency keys derive from it. */
  key: string;
  name: string;
  kind: 'step' | 'llm' | 'tool' | 'wait';
  status: 'completed' | 'failed';
  /** JSON of the output, absent when the step returned nothing. */
  output?: string | undefined;
  /** JSON `{code, message}` of a step that failed for good. */
  error?: string | undefined;
  attempts: number;
  startedAt: number;
  endedAt: number;
  epoch: number;
}

/** A tool call that committed: the effect ledger (SPEC LR-4). */
export interface EffectRecord {
  runId: string;
  stepKey: string;
  tool: string;
  idempotencyKey: string;
  /** JSON. */
  args: string;
  /** JSON. */
  result?: string | undefined;
  at: number;
}

/** A signal or approval decision sent to a run. */
export interface RunSignal {
  runId: string;
  name: string;
  /** JSON. */
  payload: string;
  at: number;
  /** The step key that consumed it, once consumed. */
  consumedBy?: string | undefined;
}

/** What a committed step adds to its run's totals. */
export interface StepUsage {
  inputTokens: number;
  outputTokens: number;
  costMicros: number;
  /** Set when the step's LLM call found its upstream cold (SPEC CS-3): the run becomes cold and adds `initMs`. */
  cold?: boolean | undefined;
  initMs?: number | undefined;
}

/** What one step commit writes, atomically and only under a current lease. */
export interface StepCommit {
  step: StepRecord;
  effect?: EffectRecord | undefined;
  usage?: StepUsage | undefined;
  /** Events appended in the same transaction (`step.completed`…), numbered by the owner. */
  events: LoggedEvent[];
}

/** A wait step reached live: resolved by a pending signal or its deadline, or the run parks. */
export interface WaitCommit {
  /** The step to record if the wait resolves now; its output is set by the store. */
  step: Omit<StepRecord, 'output' | 'status'>;
  /** Signal that ends the wait (approvals are `approval:<id>`); none for a sleep. */
  signal?: string | undefined;
  /** When the wait times out; absent waits for the signal forever. */
  deadline?: number | undefined;
  /** JSON of the waiter, stored on the parked run. */
  waiter: string;
  /** Appended when the wait resolves now. */
  resolvedEvents: LoggedEvent[];
  /** Appended when the run parks (`run.waiting`, `approval.requested`). */
  parkedEvents: LoggedEvent[];
}

/** How a wait step ended: the step output it committed, parked, or the lease was lost. */
export type WaitOutcome = { kind: 'resolved'; output: string } | { kind: 'parked' } | { kind: 'lost' };

/** How a run ends, written with its terminal events and the end of its event stream. */
export interface RunEnd {
  status: 'succeeded' | 'failed' | 'cancelled';
  result?: string | undefined;
  error?: string | undefined;
  events: LoggedEvent[];
  /** When the run's events may be purged. */
  eventsExpireAt: number;
}

/** What delivering a signal did. */
export type SignalDelivery =
  | { kind: 'delivered'; run: RunRecord }
  | { kind: 'duplicate'; run: RunRecord; existing: RunSignal }
  | { kind: 'finished'; run: RunRecord }
  | { kind: 'not_waiting'; run: RunRecord }
  | { kind: 'not_found' };

/** An agent a worker hosts, as other processes may see it. */
export interface AgentDescriptor {
  name: string;
  /** JSON Schema of the input, when the agent has one. */
  inputSchema?: Record<string, unknown> | undefined;
  onDetach: 'keep' | 'cancel';
}

/**
 * Runs, steps, waiters, leases and effects (SPEC §2.4 RunStore). Every write an owner makes takes
 * its {@link RunLease} and is conditional on the epoch in one transaction (SQL: `… WHERE id = ?
 * AND epoch = ?`), so a stale owner's writes are rejected. `claimRun` is one atomic statement; on
 * PostgreSQL it is `UPDATE runs … WHERE id = (SELECT id … FOR UPDATE SKIP LOCKED LIMIT 1)
 * RETURNING *`, so concurrent claimers skip each other's rows instead of blocking.
 */
export interface RunStore {
  /** Inserts a queued run, its event stream and first events; a tenant's repeated idempotency key returns the existing run. */
  createRun(run: RunRecord, events: LoggedEvent[]): Promise<{ run: RunRecord; created: boolean }>;
  getRun(id: string): Promise<RunRecord | undefined>;
  /** A tenant's runs, newest first; every tenant's without `tenant` (admin views). */
  listRuns(query: { tenant?: string | undefined; status?: RunStatus | undefined; limit: number }): Promise<RunRecord[]>;
  /** How many runs are in each status, over every tenant (metrics, dashboard). */
  countRunsByStatus(): Promise<Partial<Record<RunStatus, number>>>;
  /**
   * Claims one runnable run of `agents` (queued, lease expired, parked and due, or parked with a
   * cancel request): sets the owner and lease, bumps the epoch, marks it running.
   */
  claimRun(query: { owner: string; agents: readonly string[]; now: number; leaseMs: number }): Promise<RunRecord | undefined>;
  /** Extends the lease; `ok` false once another claim moved the epoch on. */
  renewLease(lease: RunLease, now: number, leaseMs: number): Promise<{ ok: boolean; cancelRequested: boolean }>;
  /** Gives a run back (shutdown) so another worker may claim it at once. */
  releaseRun(lease: RunLease, now: number): Promise<void>;
  /** The journal, in commit order. */
  listSteps(runId: string): Promise<StepRecord[]>;
  listEffects(runId: string): Promise<EffectRecord[]>;
  /** Highest event sequence number of the run's stream, -1 when none. */
  lastEventSeq(runId: string): Promise<number>;
  /** Appends provisional events of many runs in one transaction, skipping stale leases; returns the run ids skipped. */
  appendEvents(batch: ReadonlyArray<{ lease: RunLease; events: LoggedEvent[] }>, now: number): Promise<string[]>;
  /** Commits a step (with its effect, usage and events); false when the lease is stale. */
  commitStep(lease: RunLease, commit: StepCommit, now: number): Promise<boolean>;
  /** Resolves a wait from a pending signal or its deadline, or parks the run and frees its lease, atomically. */
  commitWait(lease: RunLease, wait: WaitCommit, now: number): Promise<WaitOutcome>;
  /** Ends the run and its event stream; false when the lease is stale. */
  finishRun(lease: RunLease, end: RunEnd, now: number): Promise<boolean>;
  /** Flags a cancel (idempotent); a parked or queued run becomes claimable so a worker ends it. */
  requestCancel(runId: string, now: number): Promise<RunRecord | undefined>;
  /** Of `runIds`, those with a cancel request. */
  cancelRequested(runIds: readonly string[]): Promise<string[]>;
  /**
   * Stores a signal and wakes the run if it is parked on it. `unique` refuses a second signal of
   * the same name (approvals); `requireWaiting` refuses one the run is not parked on.
   */
  deliverSignal(signal: RunSignal, options: { unique?: boolean; requireWaiting?: boolean }): Promise<SignalDelivery>;
  /** Records the agents a worker hosts. */
  registerAgents(agents: readonly AgentDescriptor[], now: number): Promise<void>;
  getAgent(name: string): Promise<AgentDescriptor | undefined>;
  /** Deletes ended runs (steps, effects, signals) that ended before `before`; returns how many. */
  pruneRuns(before: number): Promise<number>;
}

/** The stores one process uses. */
export interface Stores {
  keys: KeyStore;
  principals: PrincipalStore;
  ledger: LedgerStore;
  meta: MetaStore;
  idempotency: IdempotencyStore;
  events: EventLog;
  responses: ResponseStore;
  runs: RunStore;
  /** A cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
