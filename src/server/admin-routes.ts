import type { IncomingMessage, ServerResponse } from 'node:http';
import { BreakwaterError } from '../core/errors.js';
import type { HeadlineStats } from '../observability/gateway-observability.js';
import type { BreakerRegistry } from '../resilience/circuit-breaker.js';
import { requireAdminKey, type Authenticator } from './auth.js';
import { sendJson } from './http-io.js';
import type { HttpServer, RequestInfo } from './http-server.js';
import type { RouteParams } from './router.js';

/** What the admin routes need. */
export interface AdminRouteDeps {
  authenticate: Authenticator;
  breakers: () => BreakerRegistry;
  /** The headline numbers (`GET /admin/stats`, read by `breakwater top`). */
  stats?: () => Promise<HeadlineStats>;
}

type Info = RequestInfo & { params: RouteParams };

function admin(deps: AdminRouteDeps, access: 'read' | 'write', handler: (req: IncomingMessage, res: ServerResponse, info: Info) => void | Promise<void>) {
  return async (req: IncomingMessage, res: ServerResponse, info: Info) => {
    await requireAdminKey(req, deps.authenticate, access);
    await handler(req, res, info);
  };
}

/** Registers `/admin/…` routes (admin key required). The tenancy and observability work adds more. */
export function registerAdminRoutes(http: HttpServer, deps: AdminRouteDeps): void {
  http.router.on(
    'GET',
    '/admin/breakers',
    admin(deps, 'read', (_req, res) => sendJson(res, 200, { breakers: deps.breakers().snapshot() })),
  );
  const stats = deps.stats;
  if (stats) http.router.on('GET', '/admin/stats', admin(deps, 'read', async (_req, res) => sendJson(res, 200, await stats())));
  http.router.on(
    'POST',
    '/admin/breakers/:deployment/reset',
    admin(deps, 'write', (_req, res, info) => {
      const deployment = info.params.deployment!;
      if (!deps.breakers().reset(deployment)) throw new BreakwaterError('not_found', `no breaker for deployment '${deployment}'`, { param: 'deployment' });
      sendJson(res, 200, { deployment, reset: true });
    }),
  );
}
