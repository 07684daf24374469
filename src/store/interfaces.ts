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
}

/** Principals and keys (SPEC §2.4). */
export interface KeyStore {
  insertKey(record: KeyRecord): Promise<void>;
  findKeyByHash(hash: string): Promise<KeyRecord | undefined>;
  getKey(id: string): Promise<KeyRecord | undefined>;
  listKeys(): Promise<KeyRecord[]>;
  /** Marks a key revoked; false when no such key or already revoked. */
  revokeKey(id: string, at: number): Promise<boolean>;
  countKeys(kind: KeyRecord['kind']): Promise<number>;
}

/** One logical request as the ledger keeps it (SPEC MT-7; tenancy fields arrive with issue 5). */
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
}

/** The request ledger, written in batches off the hot path. */
export interface LedgerStore {
  appendRequests(records: RequestRecord[]): Promise<void>;
  getRequest(id: string): Promise<RequestRecord | undefined>;
  /** Most recent first. */
  listRequests(options: { limit: number; since?: number }): Promise<RequestRecord[]>;
}

/** Small key-value metadata (bootstrap flags, schema facts). */
export interface MetaStore {
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
}

/** The stores one process uses. */
export interface Stores {
  keys: KeyStore;
  ledger: LedgerStore;
  meta: MetaStore;
  /** A cheap liveness probe for /readyz. */
  ping(): Promise<void>;
  close(): Promise<void>;
}
