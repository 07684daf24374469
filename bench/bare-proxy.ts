// The bare proxy (SPEC §2.5): the cheapest a Node.js proxy can be — node:http in, an undici Pool
// with keep-alive out, bytes passed both ways, nothing parsed. Breakwater's overhead targets are
// ratios to this. Usage: node --import tsx bench/bare-proxy.ts <upstream origin> [connections, default 256]
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import { Pool } from 'undici';
import { exitWithParent } from './exit-with-parent.js';

const upstream = new URL(process.argv[2] ?? 'http://127.0.0.1:8401');
// Long streams each hold a connection for their whole life: `bench:streams` passes N + 64.
const pool = new Pool(upstream.origin, { connections: Number(process.argv[3] ?? 256), keepAliveTimeout: 60_000, pipelining: 1 });

// Hop-by-hop headers belong to one connection and must not be forwarded (RFC 9110 §7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'upgrade', 'te', 'trailer', 'host']);

function endToEnd(headers: IncomingHttpHeaders | Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
  }
  return out;
}

// Measured on the reference VM: buffering the (small) request body and letting undici's stream()
// write the answer straight into the response costs ~40 % less CPU than piping streams both ways.
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = chunks.length ? Buffer.concat(chunks) : null;
    pool.stream(
      { method: req.method as 'POST', path: req.url ?? '/', headers: endToEnd(req.headers), body, opaque: res },
      ({ statusCode, headers, opaque }) => {
        const out = opaque as ServerResponse;
        out.writeHead(statusCode, endToEnd(headers));
        return out;
      },
      (error) => {
        if (!error) return;
        if (res.headersSent) res.destroy();
        else res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
      },
    );
  });
});
server.keepAliveTimeout = 65_000;

server.listen(0, '127.0.0.1', () => {
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  process.stdout.write(JSON.stringify({ event: 'ready', url: `http://127.0.0.1:${port}`, pid: process.pid }) + '\n');
});
exitWithParent();
