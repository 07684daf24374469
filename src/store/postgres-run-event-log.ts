import type { EventLog, LoggedEvent } from './interfaces.js';
import type { PostgresDatabase } from './postgres-database.js';
import { toStreamRecord, type StreamRow } from './sqlite-event-log.js';

/** Run ids (`run_…`) name their event streams; every other stream id has another prefix. */
const isRunStream = (id: string) => id.startsWith('run_');

/**
 * The event log of a PostgreSQL deployment. A run's events are written by the run store inside
 * its fenced transactions, so run streams are read from PostgreSQL; chat and Responses streams
 * (many small group commits, short-lived) stay in `others`: the shared Redis log, or this
 * process's memory without Redis. Readers of run streams poll (`followMs`), so the Redis-only
 * follow/claim hooks are only ever asked about streams `others` holds.
 */
export function createPostgresRunEventLog({ pool }: PostgresDatabase, others: EventLog): EventLog {
  const owner = (id: string): EventLog | undefined => (isRunStream(id) ? undefined : others);
  const deleteRun = async (id: string) => {
    await pool.query('DELETE FROM stream_events WHERE stream_id = $1', [id]);
    return ((await pool.query('DELETE FROM streams WHERE id = $1', [id])).rowCount ?? 0) > 0;
  };
  const log: EventLog = {
    async createStream(record) {
      if (record.kind !== 'run') return others.createStream(record);
      await pool.query('INSERT INTO streams (id, tenant, kind, status, created_at, ended_at, expires_at, meta) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
        record.id, record.tenant, record.kind, record.status, record.createdAt, record.endedAt ?? null, record.expiresAt, record.meta,
      ]);
    },
    async append(batch) {
      const runs = batch.filter((entry) => isRunStream(entry.streamId));
      const rest = batch.filter((entry) => !isRunStream(entry.streamId));
      if (rest.length > 0) await others.append(rest);
      const events = runs.flatMap(({ streamId, events }) => events.map((event) => ({ streamId, ...event })));
      if (events.length === 0) return;
      await pool.query('INSERT INTO stream_events (stream_id, seq, event, data) SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])', [
        events.map((e) => e.streamId), events.map((e) => e.seq), events.map((e) => e.event ?? null), events.map((e) => e.data),
      ]);
    },
    async read(streamId, after, limit) {
      const other = owner(streamId);
      if (other) return other.read(streamId, after, limit);
      const { rows } = await pool.query<{ seq: number; event: string | null; data: string }>(
        'SELECT seq, event, data FROM stream_events WHERE stream_id = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [streamId, after, limit],
      );
      return rows.map((row): LoggedEvent => (row.event === null ? { seq: row.seq, data: row.data } : { seq: row.seq, event: row.event, data: row.data }));
    },
    async getStream(id) {
      const other = owner(id);
      if (other) return other.getStream(id);
      const row = (await pool.query<StreamRow>('SELECT * FROM streams WHERE id = $1', [id])).rows[0];
      return row && toStreamRecord(row);
    },
    async endStream(id, status, at, expiresAt) {
      const other = owner(id);
      if (other) return other.endStream(id, status, at, expiresAt);
      await pool.query("UPDATE streams SET status = $1, ended_at = $2, expires_at = $3 WHERE id = $4 AND status = 'active'", [status, at, expiresAt, id]);
    },
    async listActive() {
      const { rows } = await pool.query<StreamRow>("SELECT * FROM streams WHERE status = 'active' ORDER BY created_at");
      return [...rows.map(toStreamRecord), ...(await others.listActive())];
    },
    async deleteStream(id) {
      const other = owner(id);
      return other ? other.deleteStream(id) : deleteRun(id);
    },
    async purgeExpired(now) {
      const row = (
        await pool.query<{ count: number }>(
          `WITH gone AS (DELETE FROM streams WHERE expires_at <= $1 RETURNING id),
             events AS (DELETE FROM stream_events WHERE stream_id IN (SELECT id FROM gone))
           SELECT COUNT(*)::int AS count FROM gone`,
          [now],
        )
      ).rows[0];
      return (row?.count ?? 0) + (await others.purgeExpired(now));
    },
  };
  if (others.leaseMs !== undefined) Object.assign(log, { leaseMs: others.leaseMs });
  if (others.claimOrphan) log.claimOrphan = (id) => others.claimOrphan!(id);
  if (others.follow) log.follow = (id, signal) => others.follow!(id, signal);
  if (others.watchedElsewhere) log.watchedElsewhere = (id) => others.watchedElsewhere!(id);
  return log;
}
