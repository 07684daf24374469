import type { KeyRecord } from '../store/interfaces.js';

/**
 * The tenant that owns what a key creates (streams, responses; SPEC SEC-3): its org when it has
 * one, else the key itself, so two unrelated keys never see each other's data.
 */
export function tenantOf(key: Pick<KeyRecord, 'id' | 'orgId'>): string {
  return key.orgId !== undefined ? `org:${key.orgId}` : `key:${key.id}`;
}
