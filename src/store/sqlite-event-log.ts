import type { EventLog, LoggedEvent, ResponseStore, StoredResponse, StreamAppend, StreamRecord } from './interfaces.js';
import type { SqliteDatabase } from './sqlite-database.js';

export interface StreamRow {
  id: string;
  tenant: string;
  kind: StreamRecord['kind'];
  status: StreamRecord['status'];
  created_at: number;
  ended_at: number | null;
  expires_at: number;
  meta: string;
}

interface EventRow {
  seq: number;
  event: string | null;
  data: string;
}

/** A `responses` row, the same in SQLite and PostgreSQL. */
export interface ResponseRow {
  id: string;
  tenant: string;
  status: string;
  body: string;
  conversation: string;
  created_at: number;
  expires_at: number;
}

/** A `responses` row as the store's record. */
export function toStoredResponse(row: ResponseRow): StoredResponse {
  return { id: row.id, tenant: row.tenant, status: row.status, body: row.body, conversation: row.conversation, createdAt: row.created_at, expiresAt: row.expires_at };
}

export function toStreamRecord(row: StreamRow): StreamRecord {
  const record: StreamRecord = { id: row.id, tenant: row.tenant, kind: row.kind, status: row.status, createdAt: row.created_at, expiresAt: row.expires_at, meta: row.meta };
  if (row.ended_at !== null) record.endedAt = row.ended_at;
  return record;
}

function toLoggedEvent(row: EventRow): LoggedEvent {
  return row.event === null ? { seq: row.seq, data: row.data } : { seq: row.seq, event: row.event, data: row.data };
}

/**
 * The SQLite event log. `append` writes a whole group commit (every stream's events from one
 * event-loop turn) in one transaction, so the cost of a commit is paid per turn, not per token.
 */
export function createSqliteEventLog(db: SqliteDatabase): EventLog {
  const insertStream = db.prepare<[StreamRow]>(
    'INSERT INTO streams (id, tenant, kind, status, created_at, ended_at, expires_at, meta) VALUES (@id, @tenant, @kind, @status, @created_at, @ended_at, @expires_at, @meta)',
  );
  const insertEvent = db.prepare<[string, number, string | null, string]>('INSERT INTO stream_events (stream_id, seq, event, data) VALUES (?, ?, ?, ?)');
  const appendBatch = db.transaction((batch: StreamAppend[]) => {
    for (const { streamId, events } of batch) for (const event of events) insertEvent.run(streamId, event.seq, event.event ?? null, event.data);
  });
  const readEvents = db.prepare<[string, number, number], EventRow>('SELECT seq, event, data FROM stream_events WHERE stream_id = ? AND seq > ? ORDER BY seq LIMIT ?');
  const byId = db.prepare<[string], StreamRow>('SELECT * FROM streams WHERE id = ?');
  const end = db.prepare<[string, number, number, string]>("UPDATE streams SET status = ?, ended_at = ?, expires_at = ? WHERE id = ? AND status = 'active'");
  const active = db.prepare<[], StreamRow>("SELECT * FROM streams WHERE status = 'active' ORDER BY created_at");
  const deleteEvents = db.prepare<[string]>('DELETE FROM stream_events WHERE stream_id = ?');
  const deleteStreamRow = db.prepare<[string]>('DELETE FROM streams WHERE id = ?');
  const remove = db.transaction((id: string) => {
    deleteEvents.run(id);
    return deleteStreamRow.run(id).changes > 0;
  });
  const expired = db.prepare<[number], { id: string }>('SELECT id FROM streams WHERE expires_at <= ?');
  const purge = db.transaction((now: number) => {
    let count = 0;
    for (const { id } of expired.all(now)) if (remove(id)) count++;
    return count;
  });
  return {
    async createStream(record) {
      insertStream.run({
        id: record.id,
        tenant: record.tenant,
        kind: record.kind,
        status: record.status,
        created_at: record.createdAt,
        ended_at: record.endedAt ?? null,
        expires_at: record.expiresAt,
        meta: record.meta,
      });
    },
    async append(batch) {
      if (batch.length > 0) appendBatch(batch);
    },
    async read(streamId, after, limit) {
      return readEvents.all(streamId, after, limit).map(toLoggedEvent);
    },
    async getStream(id) {
      const row = byId.get(id);
      return row && toStreamRecord(row);
    },
    async endStream(id, status, at, expiresAt) {
      end.run(status, at, expiresAt, id);
    },
    async listActive() {
      return active.all().map(toStreamRecord);
    },
    async deleteStream(id) {
      return remove(id);
    },
    async purgeExpired(now) {
      return purge(now);
    },
  };
}

/** Stored Responses objects in SQLite. */
export function createSqliteResponseStore(db: SqliteDatabase): ResponseStore {
  const upsert = db.prepare<[ResponseRow]>(
    'INSERT INTO responses (id, tenant, status, body, conversation, created_at, expires_at) VALUES (@id, @tenant, @status, @body, @conversation, @created_at, @expires_at) ' +
      'ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body, conversation = excluded.conversation, expires_at = excluded.expires_at',
  );
  const byId = db.prepare<[string], ResponseRow>('SELECT * FROM responses WHERE id = ?');
  const remove = db.prepare<[string]>('DELETE FROM responses WHERE id = ?');
  const purge = db.prepare<[number]>('DELETE FROM responses WHERE expires_at <= ?');
  return {
    async putResponse(record: StoredResponse) {
      upsert.run({
        id: record.id,
        tenant: record.tenant,
        status: record.status,
        body: record.body,
        conversation: record.conversation,
        created_at: record.createdAt,
        expires_at: record.expiresAt,
      });
    },
    async getResponse(id) {
      const row = byId.get(id);
      return row && toStoredResponse(row);
    },
    async deleteResponse(id) {
      return remove.run(id).changes > 0;
    },
    async purgeExpiredResponses(now) {
      return purge.run(now).changes;
    },
  };
}
