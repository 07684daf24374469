import type { Config } from './schema.js';

const MASK = '••••';
const SECRET_HEADER = /authorization|api[-_]?key|token|secret|cookie/i;

/** A secret as safe to show: `sk-…abcd` → `••••abcd`; short secrets show nothing of themselves. */
export function maskSecret(secret: string): string {
  return secret.length >= 12 ? `${MASK}${secret.slice(-4)}` : MASK;
}

/** A URL with its password masked (`postgres://app:••••@db/x`); non-URLs are returned as they are. */
export function maskUrlPassword(value: string): string {
  try {
    const url = new URL(value);
    if (!url.password) return value;
    url.password = MASK;
    return url.toString().replace(encodeURIComponent(MASK), MASK);
  } catch {
    return value;
  }
}

/** A copy of the configuration fit for logs and admin responses: provider keys, secret headers and URL passwords masked (SPEC SEC-1). */
export function redactConfig(config: Config): Config {
  const copy = structuredClone(config);
  for (const provider of Object.values(copy.providers)) {
    if (provider.apiKey !== undefined) provider.apiKey = maskSecret(provider.apiKey);
    for (const name of Object.keys(provider.headers ?? {})) {
      if (SECRET_HEADER.test(name)) provider.headers![name] = maskSecret(provider.headers![name]);
    }
    if (provider.baseUrl !== undefined) provider.baseUrl = maskUrlPassword(provider.baseUrl);
  }
  if (copy.store.url !== undefined) copy.store.url = maskUrlPassword(copy.store.url);
  if (copy.shared.redis !== undefined) copy.shared.redis = maskUrlPassword(copy.shared.redis);
  if (copy.tenancy.webhook !== undefined) copy.tenancy.webhook.secret = maskSecret(copy.tenancy.webhook.secret);
  return copy;
}
