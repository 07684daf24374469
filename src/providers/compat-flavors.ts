import type { z } from 'zod';
import type { compatFlavorSchema } from '../config/schema.js';
import type { OpenAICompatibleHooks } from './openai-compatible.js';

/** A family of OpenAI-compatible servers with its own small differences. */
export type CompatFlavor = z.infer<typeof compatFlavorSchema>;

type Body = Record<string, unknown>;

function isRecord(value: unknown): value is Body {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OpenAI itself: reasoning models refuse `max_tokens` (every current model takes
 * `max_completion_tokens`), and `metadata` is refused unless `store` is on.
 */
function openAIRequestBody(body: Body): Body {
  if (body.max_tokens !== undefined) {
    body.max_completion_tokens = body.max_tokens;
    delete body.max_tokens;
  }
  if (body.metadata !== undefined && body.store !== true) delete body.metadata;
  return body;
}

/**
 * TGI constrains output with its grammar shape, `{type: 'json_object', value: <schema>}`, not
 * OpenAI's `json_schema` envelope; a bare `json_object` needs a schema too.
 */
function tgiRequestBody(body: Body): Body {
  const format = body.response_format;
  if (!isRecord(format)) return body;
  if (format.type === 'json_schema' && isRecord(format.json_schema)) {
    body.response_format = { type: 'json_object', value: format.json_schema.schema ?? {} };
  } else if (format.type === 'json_object') {
    body.response_format = { type: 'json_object', value: { type: 'object' } };
  }
  return body;
}

/**
 * Hooks per flavor, only where a real difference exists. What every server shares lives in the
 * base adapter: `reasoning_content`/`reasoning` (vLLM, SGLang, DeepSeek), TGI finish reasons,
 * tool calls reported with `stop` (Ollama, llama.cpp), and usage missing from streams (Ollama,
 * llama.cpp, older TGI), which the base counts from text and flags `estimated`.
 */
export const COMPAT_FLAVORS: Readonly<Record<CompatFlavor, Readonly<Partial<OpenAICompatibleHooks>>>> = Object.freeze({
  openai: Object.freeze({ transformRequestBody: openAIRequestBody }),
  vllm: Object.freeze({}),
  ollama: Object.freeze({}),
  llamacpp: Object.freeze({}),
  tgi: Object.freeze({ transformRequestBody: tgiRequestBody }),
  sglang: Object.freeze({}),
  groq: Object.freeze({}),
  together: Object.freeze({}),
  generic: Object.freeze({}),
});
