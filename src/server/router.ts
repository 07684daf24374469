import type { IncomingMessage, ServerResponse } from 'node:http';


/** Path parameters captured by `:name` segments. */
export type RouteParams = Record<string, string>;

/** A request handler; `C` is whatever per-request context the server passes along. */
export type Handler<C> = (req: IncomingMessage, res: ServerResponse, ctx: C & { params: RouteParams }) => Promise<void> | void;

interface ParamRoute<H> {
  segments: string[];
  handlers: Map<string, H>;
}

/** The outcome of a lookup: a handler, or why there is none (404 vs 405). */
export type RouteMatch<H> =
  | { kind: 'found'; handler: H; params: RouteParams }
  | { kind: 'method_not_allowed'; allowed: string[] }
  | { kind: 'not_found' };

const NO_PARAMS: RouteParams = Object.freeze({}) as RouteParams;

/**
 * A deliberately small router: exact paths hit one Map lookup (the hot path), `:param` routes are
 * matched segment by segment. No middleware chain; the server composes what it needs.
 */
export class Router<H> {
  private readonly exact = new Map<string, Map<string, H>>();
  private readonly parameterised: ParamRoute<H>[] = [];

  /** Registers `handler` for `method` on `path` (`/v1/runs/:id`). */
  on(method: string, path: string, handler: H): this {
    if (!path.includes(':')) {
      let byMethod = this.exact.get(path);
      if (!byMethod) this.exact.set(path, (byMethod = new Map()));
      byMethod.set(method, handler);
      return this;
    }
    const segments = path.split('/');
    let route = this.parameterised.find((r) => r.segments.join('/') === segments.join('/'));
    if (!route) this.parameterised.push((route = { segments, handlers: new Map() }));
    route.handlers.set(method, handler);
    return this;
  }

  /** Finds the handler for a method and a path without its query string. */
  match(method: string, path: string): RouteMatch<H> {
    const byMethod = this.exact.get(path);
    if (byMethod) return pick(byMethod, method, NO_PARAMS);
    const segments = path.split('/');
    for (const route of this.parameterised) {
      const params = matchSegments(route.segments, segments);
      if (params) return pick(route.handlers, method, params);
    }
    return { kind: 'not_found' };
  }
}

function pick<H>(handlers: Map<string, H>, method: string, params: RouteParams): RouteMatch<H> {
  const handler = handlers.get(method) ?? (method === 'HEAD' ? handlers.get('GET') : undefined);
  if (handler) return { kind: 'found', handler, params };
  return { kind: 'method_not_allowed', allowed: [...handlers.keys()] };
}

function matchSegments(pattern: string[], actual: string[]): RouteParams | undefined {
  if (pattern.length !== actual.length) return undefined;
  const params: RouteParams = {};
  for (let i = 0; i < pattern.length; i++) {
    const expected = pattern[i]!;
    const got = actual[i]!;
    if (expected.startsWith(':')) {
      if (got === '') return undefined;
      try {
        params[expected.slice(1)] = decodeURIComponent(got);
      } catch {
        return undefined;
      }
    } else if (expected !== got) {
      return undefined;
    }
  }
  return params;
}
