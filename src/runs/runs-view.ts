import type { RunsView, RunTimelineEvent } from '../observability/runs-view.js';
import type { EventLog, RunStore } from '../store/interfaces.js';

/** The longest detail a timeline row shows; the dashboard escapes it. */
const DETAIL_CHARS = 160;

function timelineEvent(event: { event?: string | undefined; data: string }): RunTimelineEvent {
  let at = 0;
  let detail: string | undefined;
  try {
    const data = JSON.parse(event.data) as Record<string, unknown>;
    if (typeof data.at === 'number') at = data.at;
    const { type: _type, run_id: _run, at: _at, ...rest } = data;
    const text = JSON.stringify(rest);
    detail = text === '{}' ? undefined : text.slice(0, DETAIL_CHARS);
  } catch {
    detail = event.data.slice(0, DETAIL_CHARS);
  }
  return { at, type: event.event ?? 'message', detail };
}

/**
 * What the dashboard and `breakwater_runs` read of durable runs (SPEC OBS-1, OBS-7): counts by
 * status, the newest runs over every tenant, and one run's event timeline from its log.
 */
export function createRunsView(store: RunStore, log: EventLog): RunsView {
  return {
    countByState: async () => {
      const counts = await store.countRunsByStatus();
      return Object.fromEntries(Object.entries(counts).filter((entry): entry is [string, number] => entry[1] !== undefined));
    },
    list: async (limit) =>
      (await store.listRuns({ limit })).map((run) => ({ id: run.id, state: run.status, name: run.agent, createdAt: run.createdAt, updatedAt: run.updatedAt })),
    timeline: async (runId, limit) => (await log.read(runId, -1, limit)).map(timelineEvent),
  };
}
