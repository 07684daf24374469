/** One durable run as the dashboard lists it. */
export interface RunSummary {
  id: string;
  state: string;
  /** The agent or workflow name, when the run has one. */
  name?: string | undefined;
  createdAt: number;
  updatedAt: number;
}

/** One event of a run's timeline. */
export interface RunTimelineEvent {
  at: number;
  type: string;
  /** A short, human-readable summary; escaped by the dashboard. */
  detail?: string | undefined;
}

/**
 * What observability needs from the run runtime: counts by state for `breakwater_runs`, recent
 * runs and one run's timeline for the dashboard. The runs module implements it and passes it to
 * `startBreakwater`; without one, the metrics and views say runs are not enabled.
 */
export interface RunsView {
  countByState(): Promise<Record<string, number>>;
  /** Most recent first. */
  list(limit: number): Promise<RunSummary[]>;
  timeline(runId: string, limit: number): Promise<RunTimelineEvent[]>;
}
