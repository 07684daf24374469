import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError } from '../core/errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a JSON body of at most `maxBytes`. A declared length over the limit is refused before a
 * byte is read; an undeclared one is refused as soon as it passes the limit, so an oversized body
 * is never buffered whole (SPEC API-10).
 */
export function readJsonBody(req: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > maxBytes) {
    return Promise.reject(tooLarge(maxBytes));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    const fail = (error: BreakwaterError) => {
      if (failed) return;
      failed = true;
      req.removeListener('data', onData);
      // Keep draining so the socket can still carry our error response.
      req.resume();
      reject(error);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) return fail(tooLarge(maxBytes));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('error', () => fail(new BreakwaterError('invalid_request', 'the request body could not be read', { param: 'body' })));
    req.once('aborted', () => fail(new BreakwaterError('invalid_request', 'the client aborted the request body', { param: 'body' })));
    req.once('end', () => {
      if (failed) return;
      try {
        resolve(parseJson(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
      } catch (error) {
        reject(error);
      }
    });
  });
}

function tooLarge(maxBytes: number): BreakwaterError {
  return new BreakwaterError('request_too_large', `request body exceeds ${maxBytes} bytes; raise server.maxBodyBytes to allow more`, {
    param: 'body',
  });
}

function parseJson(bytes: Buffer): unknown {
  if (bytes.length === 0) throw new BreakwaterError('invalid_request', 'the request body is empty; send a JSON object', { param: 'body' });
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new BreakwaterError('invalid_request', 'the request body is not valid UTF-8', { param: 'body' });
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    const detail = error instanceof Error ? error.message : 'parse error';
    throw new BreakwaterError('invalid_request', `the request body is not valid JSON: ${detail}`, { param: 'body' });
  }
}

/** Writes a JSON answer with the given status and headers. */
export function sendJson(res: ServerResponse, status: number, body: unknown, headers?: Record<string, string>): void {
  const text = JSON.stringify(body);
  if (headers) for (const name in headers) res.setHeader(name, headers[name]!);
  stampOverhead(res);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
  res.end(text);
}

const RECEIVED_AT = Symbol('breakwater.receivedAt');

/** Notes when a request arrived, so any answer can report the gateway's time (SPEC OBS-9). */
export function markReceivedAt(res: ServerResponse, receivedAt: number): void {
  (res as ServerResponse & { [RECEIVED_AT]?: number })[RECEIVED_AT] = receivedAt;
}

/**
 * Sets `x-breakwater-overhead-ms` on an answer that has none yet: answers that never went
 * upstream (models list, admin, health, stream replays) spent all their time in the gateway.
 */
export function stampOverhead(res: ServerResponse): void {
  const receivedAt = (res as ServerResponse & { [RECEIVED_AT]?: number })[RECEIVED_AT];
  if (receivedAt === undefined || res.headersSent || res.hasHeader('x-breakwater-overhead-ms')) return;
  res.setHeader('x-breakwater-overhead-ms', (performance.now() - receivedAt).toFixed(3));
}
