import { createHash } from 'node:crypto';
import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { IdempotencyRecord, IdempotencyStore, KeyRecord } from '../store/interfaces.js';

/** An answer as the handler renders it; `body` is the parsed JSON the client gets. */
export interface IdempotentAnswer<T = unknown> {
  status: number;
  body: T;
  headers?: Record<string, string> | undefined;
}

/**
 * An answer from {@link IdempotencyCoordinator.run}. `replay` is true when this caller did not generate
 * it; its headers are then the stored meta headers plus `x-breakwater-idempotent-replay: true`.
 */
export interface IdempotentOutcome<T = unknown> extends IdempotentAnswer<T> {
  replay: boolean;
}

/** One idempotent request for {@link IdempotencyCoordinator.run}. */
export interface IdempotentRun<T = unknown> {
  /** The tenant: see {@link idempotencyScope}. */
  scope: string;
  /** The validated `Idempotency-Key`. */
  key: string;
  /** From {@link requestHash}. */
  requestHash: string;
  /** Aborts this caller's wait only; the generation runs on for whoever else waits or retries. */
  signal: AbortSignal;
  /** Generates the answer; must not be tied to the client's signal (SPEC UP-8: quit, retry, one charge). */
  execute: () => Promise<IdempotentAnswer<T>>;
}

/** Options of {@link IdempotencyCoordinator}. */
export interface IdempotencyCoordinatorOptions {
  /** How long a completed answer replays (`routes.idempotency.ttlMs`). */
  ttlMs: number;
  clock: Clock;
  /** How often to look at a key another process is generating; default 250 ms. */
  pollMs?: number;
  /** How long a claim holds the key before another process may take it over; default 10 min. */
  leaseMs?: number;
  /** Told when storing or releasing an answer fails; the caller still gets its answer. */
  onStoreError?: (error: unknown) => void;
}

/** The one response header a replayed answer carries (SPEC UP-8). */
export const IDEMPOTENT_REPLAY_HEADER = 'x-breakwater-idempotent-replay';

const DEFAULT_POLL_MS = 250;
const MAX_KEY_LENGTH = 255;
const VISIBLE_ASCII = /^[\x21-\x7e]+$/;
// Only our own meta headers are stored: anything else (cookies, auth echoes, rate-limit state) is
// either secret or stale on replay.
const STORED_HEADER = /^x-breakwater-/i;

/**
 * The idempotency scope of a key. The tenant is the key id for now; the tenancy work widens it to
 * the key's org/team so keys of one team share idempotency keys.
 */
export function idempotencyScope(key: Pick<KeyRecord, 'id'>): string {
  return `key:${key.id}`;
}

/** The `Idempotency-Key` header checked: 1–255 visible ASCII characters, or undefined when absent. */
export function validateIdempotencyKey(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (value.length === 0 || value.length > MAX_KEY_LENGTH || !VISIBLE_ASCII.test(value)) {
    throw new BreakwaterError(
      'invalid_request',
      `Idempotency-Key must be 1-${MAX_KEY_LENGTH} visible ASCII characters without spaces, sent once; ` +
        `got ${value.length} characters`,
      { param: 'Idempotency-Key' },
    );
  }
  return value;
}

/** JSON with object keys sorted at every depth, so key order never changes a request's identity. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const record = value as Record<string, unknown>;
    const fields = Object.keys(record)
      .filter((name) => record[name] !== undefined)
      .sort()
      .map((name) => `${JSON.stringify(name)}:${canonicalJson(record[name])}`);
    return `{${fields.join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

/** A request's identity: SHA-256 (hex) of the canonical JSON of its dialect, path and parsed body. */
export function requestHash(parts: { dialect: string; path: string; body: unknown }): string {
  return createHash('sha256').update(canonicalJson(parts)).digest('hex');
}

/** One generation or wait shared by every caller in this process with the same key and body. */
interface Flight {
  readonly requestHash: string;
  /** Stops polling once nobody waits; never reaches `execute`. */
  readonly stop: AbortController;
  result: Promise<IdempotentOutcome>;
  waiters: number;
  polling: boolean;
}

/**
 * Idempotent completions (SPEC UP-8): a repeat of a completed request replays the stored answer, a
 * repeat of a running one attaches to it (in this process through a shared promise, across
 * processes by polling the store), a different body is a 409, and failures are not stored.
 * Never a second generation while a claim is alive.
 */
export class IdempotencyCoordinator {
  private readonly flights = new Map<string, Flight>();
  private readonly pollMs: number;

  constructor(
    private readonly store: IdempotencyStore,
    private readonly options: IdempotencyCoordinatorOptions,
  ) {
    this.pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  }

  /** Answers a request once per (scope, key): generated now, replayed, or attached to a running one. */
  async run<T = unknown>(args: IdempotentRun<T>): Promise<IdempotentOutcome<T>> {
    args.signal.throwIfAborted();
    const id = JSON.stringify([args.scope, args.key]);
    const existing = this.flights.get(id);
    const attached = existing !== undefined && existing.requestHash === args.requestHash;
    // A different body next to a local flight goes to the store on its own, which answers 409 or,
    // if the local flight is itself the mismatch, the stored answer.
    const flight = attached ? existing : this.launch(id, args as IdempotentRun, existing === undefined);
    flight.waiters++;
    try {
      const outcome = (await waitUnlessAborted(flight.result, args.signal)) as IdempotentOutcome<T>;
      return attached || outcome.replay ? asReplay(outcome) : outcome;
    } finally {
      flight.waiters--;
      if (flight.waiters === 0 && flight.polling) {
        flight.stop.abort();
        if (this.flights.get(id) === flight) this.flights.delete(id);
      }
    }
  }

  /** Deletes expired keys; for a periodic sweep. */
  purgeExpired(): Promise<number> {
    return this.store.purgeExpired(this.options.clock.now());
  }

  private launch(id: string, args: IdempotentRun, register: boolean): Flight {
    const flight = { requestHash: args.requestHash, stop: new AbortController(), waiters: 0, polling: false } as Flight;
    flight.result = this.settle(args, flight);
    // Waiters observe the result; a flight everyone left must not surface as an unhandled rejection.
    const forget = () => {
      if (this.flights.get(id) === flight) this.flights.delete(id);
    };
    flight.result.then(forget, forget);
    if (register) this.flights.set(id, flight);
    return flight;
  }

  private async settle(args: IdempotentRun, flight: Flight): Promise<IdempotentOutcome> {
    const owner = newId('idem');
    const { clock, ttlMs, leaseMs } = this.options;
    for (;;) {
      const begun = await this.store.begin({
        scope: args.scope,
        key: args.key,
        requestHash: args.requestHash,
        now: clock.now(),
        ttlMs,
        owner,
        leaseMs,
      });
      if (begun.kind === 'started') return this.generate(args, owner);
      if (begun.kind === 'completed') return replayOf(begun.record);
      if (begun.kind === 'conflict') throw conflictError(args.key);
      // Another process is generating: wait for its answer, its failure or its lease to end.
      if (flight.waiters === 0) throw new DOMException('every caller left', 'AbortError');
      flight.polling = true;
      try {
        await clock.sleep(this.pollMs, flight.stop.signal);
      } finally {
        flight.polling = false;
      }
    }
  }

  private async generate(args: IdempotentRun, owner: string): Promise<IdempotentOutcome> {
    let answer: IdempotentAnswer;
    try {
      answer = await args.execute();
    } catch (error) {
      await this.release(args, owner);
      throw error;
    }
    const success = answer.status >= 200 && answer.status < 300;
    const stored = success ? storedResult(answer, this.options.clock.now() + this.options.ttlMs) : undefined;
    if (stored) {
      try {
        await this.store.complete(args.scope, args.key, owner, stored);
      } catch (error) {
        this.options.onStoreError?.(error);
        await this.release(args, owner);
      }
    } else {
      await this.release(args, owner);
    }
    return { replay: false, ...answer };
  }

  /** Frees the key so a retry generates again; a failure here only delays that until the lease ends. */
  private async release(args: IdempotentRun, owner: string): Promise<void> {
    try {
      await this.store.abandon(args.scope, args.key, owner);
    } catch (error) {
      this.options.onStoreError?.(error);
    }
  }
}

/** The stored form of a 2xx answer, or undefined when its body cannot be stored as JSON. */
function storedResult(answer: IdempotentAnswer, expiresAt: number) {
  let body: string | undefined;
  try {
    body = JSON.stringify(answer.body);
  } catch {
    return undefined;
  }
  if (body === undefined) return undefined;
  return { status: answer.status, body, headers: storedHeaders(answer.headers), expiresAt };
}

function storedHeaders(headers: Record<string, string> | undefined): Record<string, string> {
  const stored: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (STORED_HEADER.test(name)) stored[name.toLowerCase()] = value;
  }
  return stored;
}

/** What a caller that did not generate the answer gets: the stored headers plus the replay mark. */
function asReplay<T>(outcome: IdempotentOutcome<T>): IdempotentOutcome<T> {
  return { ...outcome, replay: true, headers: { ...storedHeaders(outcome.headers), [IDEMPOTENT_REPLAY_HEADER]: 'true' } };
}

function replayOf(record: IdempotencyRecord): IdempotentOutcome {
  return { replay: true, status: record.status ?? 200, body: JSON.parse(record.body ?? 'null'), headers: record.headers };
}

function conflictError(key: string): BreakwaterError {
  return new BreakwaterError(
    'idempotency_conflict',
    `Idempotency-Key '${key}' was used with a different request body or endpoint; send a new key for a new request`,
    { param: 'Idempotency-Key' },
  );
}

/** Resolves with the promise, or rejects with the signal's reason as soon as it aborts. */
function waitUnlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason ?? new DOMException('This operation was aborted', 'AbortError'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
