import type { CanonicalRequest, Usage } from '../core/types.js';
import { hashValues } from './sim-hash.js';
import { countPromptTokens } from './sim-tokenizer.js';

/** Prefixes shorter than this are never cached, as with real providers. */
export const SIM_CACHE_MIN_TOKENS = 1024;

/**
 * A simulated prompt cache, so cache-read and cache-write usage can be tested (SPEC PV-5): the
 * prompt minus its last message is the cacheable prefix; the first call with a long enough prefix
 * writes it (reported as cache-write only when a part carries an Anthropic `cacheControl` marker),
 * later calls with the same prefix on the same model read it.
 */
export interface SimPromptCache {
  /** Cache usage fields for this request (and remembers its prefix). */
  usage(request: CanonicalRequest, model: string): Pick<Usage, 'cacheReadTokens' | 'cacheWriteTokens'>;
  reset(): void;
}

/** An in-memory simulated prompt cache. */
export function createSimPromptCache(): SimPromptCache {
  let seen = new Set<number>();
  return {
    usage(request, model) {
      const prefix = request.messages.slice(0, -1);
      const tokens = countPromptTokens(prefix, request.tools);
      if (prefix.length === 0 || tokens < SIM_CACHE_MIN_TOKENS) return {};
      const key = hashValues(model, JSON.stringify(prefix), JSON.stringify(request.tools ?? []));
      if (seen.has(key)) return { cacheReadTokens: tokens };
      seen.add(key);
      const marked = request.messages.some((message) => message.content.some((part) => part.type === 'text' && part.cacheControl));
      return marked ? { cacheWriteTokens: tokens } : {};
    },
    reset() {
      seen = new Set();
    },
  };
}
