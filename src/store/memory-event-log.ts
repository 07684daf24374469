import type { EventLog, LoggedEvent, ResponseStore, StoredResponse, StreamRecord } from './interfaces.js';

interface MemoryStream {
  record: StreamRecord;
  events: LoggedEvent[];
}

/** The first index in `events` (sorted by seq) whose seq is above `after`. */
function firstAfter(events: LoggedEvent[], after: number): number {
  let low = 0;
  let high = events.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (events[mid]!.seq <= after) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** The in-process event log, for tests and single-process setups without a database. */
export function createMemoryEventLog(): EventLog {
  const streams = new Map<string, MemoryStream>();
  const remove = (id: string) => streams.delete(id);
  return {
    async createStream(record) {
      if (streams.has(record.id)) throw new Error(`a stream with id ${record.id} already exists`);
      streams.set(record.id, { record: { ...record }, events: [] });
    },
    async append(batch) {
      for (const { streamId, events } of batch) {
        const stream = streams.get(streamId);
        if (!stream) throw new Error(`no stream ${streamId}`);
        const last = stream.events.at(-1)?.seq ?? -1;
        if (events[0] && events[0].seq <= last) throw new Error(`stream ${streamId}: seq ${events[0].seq} is not after ${last}`);
        for (const event of events) stream.events.push({ ...event });
      }
    },
    async read(streamId, after, limit) {
      const events = streams.get(streamId)?.events;
      if (!events) return [];
      const start = firstAfter(events, after);
      return events.slice(start, start + limit).map((event) => ({ ...event }));
    },
    async getStream(id) {
      const stream = streams.get(id);
      return stream && { ...stream.record };
    },
    async endStream(id, status, at, expiresAt) {
      const stream = streams.get(id);
      if (!stream || stream.record.status !== 'active') return;
      stream.record = { ...stream.record, status, endedAt: at, expiresAt };
    },
    async listActive() {
      return [...streams.values()].filter((stream) => stream.record.status === 'active').map((stream) => ({ ...stream.record }));
    },
    async deleteStream(id) {
      return remove(id);
    },
    async purgeExpired(now) {
      let count = 0;
      for (const [id, stream] of streams) if (stream.record.expiresAt <= now && remove(id)) count++;
      return count;
    },
  };
}

/** Stored Responses objects in process memory. */
export function createMemoryResponseStore(): ResponseStore {
  const responses = new Map<string, StoredResponse>();
  return {
    async putResponse(record) {
      responses.set(record.id, { ...record });
    },
    async getResponse(id) {
      const record = responses.get(id);
      return record && { ...record };
    },
    async deleteResponse(id) {
      return responses.delete(id);
    },
    async purgeExpiredResponses(now) {
      let count = 0;
      for (const [id, record] of responses) if (record.expiresAt <= now && responses.delete(id)) count++;
      return count;
    },
  };
}
