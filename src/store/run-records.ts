import type { RunEnd, RunRecord, RunStatus, StreamRecord, StreamStatus } from './interfaces.js';

/** Run statuses after which nothing changes. */
export const TERMINAL_RUN_STATUSES: ReadonlySet<RunStatus> = new Set(['succeeded', 'failed', 'cancelled']);

/** Far enough in the future that a live run's events never expire. */
const LIVE_EXPIRY = Number.MAX_SAFE_INTEGER;

/** The event stream of a new run: same id and tenant, kind `run`. */
export function runStreamRecord(run: RunRecord): StreamRecord {
  return { id: run.id, tenant: run.tenant, kind: 'run', status: 'active', createdAt: run.createdAt, expiresAt: LIVE_EXPIRY, meta: JSON.stringify({ agent: run.agent }) };
}

/** The stream status a run's end maps to. */
export function streamStatusOf(status: RunEnd['status']): Exclude<StreamStatus, 'active'> {
  return status === 'succeeded' ? 'completed' : status;
}

/** A wait step's output when a signal ended it. */
export function signalOutput(payload: string): string {
  return `{"kind":"signal","payload":${payload}}`;
}

/** A wait step's output when its deadline passed first. */
export function timeoutOutput(): string {
  return '{"kind":"timeout"}';
}
