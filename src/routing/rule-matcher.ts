import { estimateTokens, requestCharacters } from '../core/usage-estimate.js';
import type { CanonicalRequest } from '../core/types.js';
import type { KeyRecord } from '../store/interfaces.js';
import type { RuleMatch } from '../config/routing-schema.js';

/** What a rule sees of one request. Prompt tokens are counted only if some rule asks. */
export interface MatchInput {
  request: CanonicalRequest;
  key: Pick<KeyRecord, 'orgId' | 'teamId'>;
  tags?: Record<string, string> | undefined;
}

/** Per-request lazily computed features, shared by every rule tried for the request. */
interface Features {
  promptTokens?: number;
}

type Predicate = (input: MatchInput, features: Features) => boolean;

/** A compiled match: true when every condition holds. */
export type RuleMatcher = (input: MatchInput, features: Features) => boolean;

const inRange = (value: number, range: { min?: number | undefined; max?: number | undefined }) =>
  (range.min === undefined || value >= range.min) && (range.max === undefined || value <= range.max);

function promptTokens(input: MatchInput, features: Features): number {
  return (features.promptTokens ??= estimateTokens(requestCharacters(input.request)));
}

/**
 * Compiles a rule's conditions into a list of closures once, at config time: sets for name lists,
 * the tag pairs as an array, and only the conditions the rule gives, so a rule costs a few
 * comparisons per request.
 */
export function compileMatch(match: RuleMatch): RuleMatcher {
  const predicates: Predicate[] = [];
  if (match.model) {
    const models = new Set(match.model);
    predicates.push(({ request }) => models.has(request.model));
  }
  if (match.org) {
    const orgs = new Set(match.org);
    predicates.push(({ key }) => key.orgId !== undefined && orgs.has(key.orgId));
  }
  if (match.team) {
    const teams = new Set(match.team);
    predicates.push(({ key }) => key.teamId !== undefined && teams.has(key.teamId));
  }
  if (match.tags) {
    const pairs = Object.entries(match.tags);
    predicates.push(({ tags }) => tags !== undefined && pairs.every(([name, value]) => tags[name] === value));
  }
  if (match.tools !== undefined) {
    const wanted = match.tools;
    predicates.push(({ request }) => (request.tools !== undefined && request.tools.length > 0) === wanted);
  }
  if (match.responseFormat !== undefined) {
    const wanted = match.responseFormat;
    if (typeof wanted === 'boolean') {
      predicates.push(({ request }) => (request.responseFormat !== undefined && request.responseFormat.type !== 'text') === wanted);
    } else {
      const kinds = new Set<string>(wanted);
      predicates.push(({ request }) => kinds.has(request.responseFormat?.type ?? 'text'));
    }
  }
  if (match.messages) {
    const range = match.messages;
    predicates.push(({ request }) => inRange(request.messages.length, range));
  }
  if (match.promptTokens) {
    const range = match.promptTokens;
    predicates.push((input, features) => inRange(promptTokens(input, features), range));
  }
  if (predicates.length === 0) return () => true;
  if (predicates.length === 1) return predicates[0]!;
  return (input, features) => {
    for (const predicate of predicates) if (!predicate(input, features)) return false;
    return true;
  };
}
