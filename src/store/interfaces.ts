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
export type UsageDimension = 'org' | 'team' | 'user' | 'key' | 'model' | 'served_model' | 'provider' | 'route' | 'lane' | 'end_user' | 'status' | `tag:${string}`;

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
  kind: 'chat' | 'responses';
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

/** The stores one process uses. */
export interface Stores {
  keys: KeyStore;
  principals: PrincipalStore;
  ledger: LedgerStore;
  meta: MetaStore;
  idempotency: IdempotencyStore;
  events: EventLog;
  responses: ResponseStore;
  /** A cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
