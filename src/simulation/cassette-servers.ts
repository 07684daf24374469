import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { cassetteKey, keptHeaders, normaliseRequest, openCassette, type CassetteResponse } from './cassette.js';

/** A listening recorder or replayer. */
export interface CassetteServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<{ text: string; json: unknown }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return { text, json: text ? (JSON.parse(text) as unknown) : null };
  } catch {
    return { text, json: text };
  }
}

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => Promise<void>, port: number, host: string): Promise<CassetteServer> {
  const server: Server = createServer((req, res) => {
    handler(req, res).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: { type: 'cassette_error', message: (error as Error).message } }));
    });
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const actual = (server.address() as AddressInfo).port;
  return {
    url: `http://${host}:${actual}`,
    port: actual,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Request headers passed upstream: credentials included (they are never written to the cassette). */
function forwardHeaders(req: IncomingMessage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || ['host', 'content-length', 'connection', 'accept-encoding'].includes(name)) continue;
    out[name] = Array.isArray(value) ? value.join(',') : value;
  }
  return out;
}

/**
 * `breakwater record` (SPEC SIM-16): a pass-through proxy in front of a provider. Point a
 * provider's `baseUrl` at it; every exchange is written to the cassette with each chunk's bytes
 * and time, keyed by the normalised request, with credentials and key-like strings removed.
 */
export function startRecorder(options: { out: string; upstream: string; port?: number; host?: string }): Promise<CassetteServer> {
  const cassette = openCassette(options.out);
  const upstream = options.upstream.replace(/\/$/, '');
  return listen(
    async (req, res) => {
      const body = await readBody(req);
      const started = performance.now();
      const answer = await fetch(`${upstream}${req.url ?? '/'}`, { method: req.method, headers: forwardHeaders(req), body: body.text || undefined });
      const headers = keptHeaders(Object.fromEntries(answer.headers));
      res.writeHead(answer.status, headers);
      const chunks: CassetteResponse['chunks'] = [];
      const decoder = new TextDecoder();
      for await (const chunk of answer.body ?? []) {
        res.write(chunk);
        chunks.push({ atMs: Math.round(performance.now() - started), data: decoder.decode(chunk as Uint8Array, { stream: true }) });
      }
      res.end();
      cassette.append(normaliseRequest(req.method ?? 'GET', req.url ?? '/', body.json), { status: answer.status, headers, chunks });
    },
    options.port ?? 0,
    options.host ?? '127.0.0.1',
  );
}

/**
 * `breakwater sim serve --cassette DIR`: answers recorded requests offline, chunk by chunk at the
 * recorded times (multiplied by `timeScale`); repeated requests cycle through their recordings. A
 * request not on the cassette is a 404 `cassette_miss` — replay never improvises (SPEC SIM-5).
 */
export function startReplayer(options: { cassette: string; port?: number; host?: string; timeScale?: number }): Promise<CassetteServer> {
  const cassette = openCassette(options.cassette);
  const plays = new Map<string, number>();
  const scale = options.timeScale ?? 1;
  return listen(
    async (req, res) => {
      const body = await readBody(req);
      const key = cassetteKey(normaliseRequest(req.method ?? 'GET', req.url ?? '/', body.json));
      const entry = cassette.find(key);
      if (!entry) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: { type: 'cassette_miss', message: `no recording for ${req.method} ${req.url} (key ${key})` } }));
        return;
      }
      const n = plays.get(key) ?? 0;
      plays.set(key, n + 1);
      const response = entry.responses[n % entry.responses.length]!;
      res.writeHead(response.status, response.headers);
      let elapsed = 0;
      for (const chunk of response.chunks) {
        const wait = (chunk.atMs - elapsed) * scale;
        if (wait > 0) await delay(wait);
        elapsed = chunk.atMs;
        res.write(chunk.data);
      }
      res.end();
    },
    options.port ?? 0,
    options.host ?? '127.0.0.1',
  );
}
