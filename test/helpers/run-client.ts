import { readSse, type ParsedEvent } from './sse-client.js';

/** A small client for /v1/runs, as an application would write one with fetch. */
export interface RunClient {
  post(path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  get(path: string): Promise<{ status: number; body: any }>;
  /** Creates a run and returns its JSON. */
  create(agent: string, input?: unknown, extra?: Record<string, unknown>): Promise<any>;
  /** Reads a run's events from `after` until the run ends or `stop` says so. */
  events(id: string, options?: { after?: number; stop?: (event: ParsedEvent, all: ParsedEvent[]) => boolean }): Promise<{ events: ParsedEvent[]; ended: boolean }>;
  /** Reads events until the run's terminal event and returns the final run. */
  finish(id: string): Promise<any>;
}

const TERMINAL = new Set(['run.completed', 'run.failed', 'run.cancelled']);

/** A client for `url` with the bearer `key`. */
export function runClient(url: string, key: string): RunClient {
  const auth = { authorization: `Bearer ${key}` };
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${url}${path}`, {
      method,
      headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const client: RunClient = {
    post: (path, body, headers) => call('POST', path, body, headers),
    get: (path) => call('GET', path),
    async create(agent, input, extra = {}) {
      const res = await call('POST', '/v1/runs', { agent, input, ...extra });
      if (res.status !== 202 && res.status !== 200) throw new Error(`create answered ${res.status}: ${JSON.stringify(res.body)}`);
      return res.body;
    },
    async events(id, options = {}) {
      const headers: Record<string, string> = { ...auth };
      if (options.after !== undefined) headers['last-event-id'] = String(options.after);
      const res = await fetch(`${url}/v1/runs/${id}/events`, { headers });
      if (res.status !== 200) throw new Error(`events answered ${res.status}: ${await res.text()}`);
      return readSse(res, options.stop);
    },
    async finish(id) {
      await client.events(id, { stop: (event) => TERMINAL.has(event.event ?? '') });
      return (await call('GET', `/v1/runs/${id}`)).body;
    },
  };
  return client;
}

/** The parsed data of events of one type. */
export function dataOf(events: ParsedEvent[], type: string): any[] {
  return events.filter((event) => event.event === type).map((event) => JSON.parse(event.data));
}
