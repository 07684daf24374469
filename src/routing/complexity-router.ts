import { readFileSync } from 'node:fs';
import type { CanonicalRequest } from '../core/types.js';
import { extractFeatures } from './complexity-features.js';
import { assertCompatibleModel, predictStrong, type ComplexityModel } from './complexity-model.js';

/**
 * The committed model's JSON text, embedded by the production bundle (scripts/build-bundle.mjs, an
 * esbuild `define`) so the bundle reads no files; undefined under tsx and tsc's dist/, which read
 * complexity-model.json next to this module. A string, not an object literal: the bundle only
 * parses it when the router is first used.
 */
declare const BREAKWATER_COMPLEXITY_MODEL: string | undefined;

/** The model tier a decision picks. */
export type ComplexityTier = 'weak' | 'strong';

let model: ComplexityModel | undefined;

/** The shipped model, parsed and checked on first use. */
export function loadComplexityModel(): ComplexityModel {
  if (model) return model;
  const text =
    typeof BREAKWATER_COMPLEXITY_MODEL !== 'undefined' ? BREAKWATER_COMPLEXITY_MODEL : readFileSync(new URL('./complexity-model.json', import.meta.url), 'utf8');
  const parsed: unknown = JSON.parse(text);
  assertCompatibleModel(parsed);
  return (model = parsed);
}

/** p_strong ∈ [0, 1] of a prompt: the modelled chance the strong model is needed. */
export function scorePrompt(text: string, using: ComplexityModel = loadComplexityModel()): number {
  return predictStrong(using, extractFeatures(text));
}

/** The text of the last user message (its text parts joined), or '' when there is none. */
export function lastUserText(request: CanonicalRequest): string {
  for (let i = request.messages.length - 1; i >= 0; i--) {
    const message = request.messages[i]!;
    if (message.role !== 'user') continue;
    let text = '';
    for (const part of message.content) if (part.type === 'text') text += (text ? '\n' : '') + part.text;
    return text;
  }
  return '';
}

/** p_strong of a canonical request, from its last user message alone. */
export function scoreRequest(request: CanonicalRequest, using?: ComplexityModel): number {
  return scorePrompt(lastUserText(request), using);
}

/** The tier for a score: strong at p_strong ≥ threshold (default: the model's own). */
export function chooseTier(pStrong: number, threshold: number = loadComplexityModel().threshold): ComplexityTier {
  return pStrong >= threshold ? 'strong' : 'weak';
}
