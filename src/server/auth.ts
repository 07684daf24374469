import type { IncomingMessage } from 'node:http';
import { BreakwaterError } from '../core/errors.js';
import type { KeyRecord, KeyScope } from '../store/interfaces.js';

/** Looks a presented key up; undefined when unknown, revoked or expired. */
export type Authenticator = (presentedKey: string) => Promise<KeyRecord | undefined>;

/** The key a client presented via `Authorization: Bearer` or `x-api-key` (SPEC API-6). */
export function presentedKey(req: IncomingMessage): string | undefined {
  const authorization = req.headers.authorization;
  if (typeof authorization === 'string') {
    const space = authorization.indexOf(' ');
    if (space > 0 && authorization.slice(0, space).toLowerCase() === 'bearer') {
      const key = authorization.slice(space + 1).trim();
      if (key) return key;
    }
  }
  const apiKey = req.headers['x-api-key'];
  return typeof apiKey === 'string' && apiKey ? apiKey.trim() : undefined;
}

/**
 * Authenticates a request for a virtual-key route. Never anonymous: a missing, unknown, revoked or
 * expired key is 401, and so is an admin key (admin keys manage the gateway; they do not spend).
 */
export async function requireVirtualKey(req: IncomingMessage, authenticate: Authenticator, scope: KeyScope): Promise<KeyRecord> {
  const key = presentedKey(req);
  if (!key) {
    throw new BreakwaterError('invalid_api_key', 'no API key; send it as "Authorization: Bearer bw_…" or "x-api-key: bw_…"');
  }
  const record = await authenticate(key);
  if (!record) throw new BreakwaterError('invalid_api_key', 'the API key is not valid (unknown, revoked or expired)');
  if (record.kind !== 'virtual') {
    throw new BreakwaterError('invalid_api_key', 'admin keys cannot call model endpoints; use a virtual key (bw_…)');
  }
  if (!record.scopes.includes(scope)) {
    throw new BreakwaterError('permission_denied', `this key lacks the '${scope}' scope`);
  }
  return record;
}

/** Authenticates an admin route: an admin key (`bwa_…`) is required; `write` needs a non-read-only one. */
export async function requireAdminKey(req: IncomingMessage, authenticate: Authenticator, access: 'read' | 'write'): Promise<KeyRecord> {
  const key = presentedKey(req);
  if (!key) throw new BreakwaterError('invalid_api_key', 'no admin key; send it as "Authorization: Bearer bwa_…"');
  const record = await authenticate(key);
  if (!record || record.kind !== 'admin') throw new BreakwaterError('invalid_api_key', 'this route needs a valid admin key (bwa_…)');
  const canWrite = record.scopes.includes('admin');
  if (access === 'write' && !canWrite) throw new BreakwaterError('permission_denied', 'this admin key is read-only');
  return record;
}
