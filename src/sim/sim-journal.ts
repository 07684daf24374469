/** How a simulated call ended (or was planned to end). */
export type SimOutcome = 'ok' | 'http_error' | 'reset' | 'hang' | 'cut' | 'stall' | 'malformed' | 'timeout' | 'aborted' | 'invalid';

/** One call the simulator received: tests count upstream attempts with these. */
export interface SimJournalEntry {
  /** 1, 2, … in arrival order since the last clear. */
  seq: number;
  /** Arrival time (the engine's clock), UTC ms. */
  time: number;
  requestId: string;
  model: string;
  endpoint: 'chat' | 'embeddings';
  stream: boolean;
  /** The fault specs that fired on this call. */
  faults: string[];
  outcome: SimOutcome;
  /** The HTTP status answered (200 for answers, even wrong ones), absent for reset and hang. */
  status?: number;
  /** The error code the caller saw, when the runner knows it (e.g. `upstream_timeout`). */
  error?: string;
}

/** An append-only record of simulated calls. */
export interface SimJournal {
  /** Adds an entry and returns the live object (runners update its outcome). */
  record(entry: Omit<SimJournalEntry, 'seq'>): SimJournalEntry;
  /** Copies of every entry, oldest first. */
  entries(): SimJournalEntry[];
  /** Forgets every entry; numbering restarts at 1. */
  clear(): void;
}

/** A journal kept in memory. */
export function createSimJournal(): SimJournal {
  let list: SimJournalEntry[] = [];
  return {
    record(entry) {
      const live: SimJournalEntry = { seq: list.length + 1, ...entry };
      list.push(live);
      return live;
    },
    entries: () => list.map((entry) => ({ ...entry, faults: [...entry.faults] })),
    clear() {
      list = [];
    },
  };
}
