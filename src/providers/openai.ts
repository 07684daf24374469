import type { ProviderAdapter } from '../core/provider.js';
import { createOpenAICompatibleAdapter, type OpenAICompatibleOptions } from './openai-compatible.js';

/** OpenAI's public API endpoint. */
export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

/** Options of {@link createOpenAIAdapter}: the compatible ones, with flavor fixed and baseUrl optional. */
export type OpenAIAdapterOptions = Omit<OpenAICompatibleOptions, 'flavor' | 'baseUrl'> & { baseUrl?: string };

/** The OpenAI adapter: the compatible base with the `openai` flavor and OpenAI's endpoint by default. */
export function createOpenAIAdapter(options: OpenAIAdapterOptions): ProviderAdapter {
  return createOpenAICompatibleAdapter({ ...options, baseUrl: options.baseUrl ?? OPENAI_BASE_URL, flavor: 'openai' });
}
