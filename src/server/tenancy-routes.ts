import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import type { KeyRecord, PrincipalKind, Stores } from '../store/interfaces.js';
import { parseUsageDimensions } from '../store/usage-query.js';
import type { KeyService } from '../tenancy/key-service.js';
import type { PrincipalDirectory } from '../tenancy/principal-chain.js';
import {
  describePolicy,
  describePrincipal,
  keyCreateInput,
  keyUpdateInput,
  orgCreateInput,
  principalUpdateInput,
  teamCreateInput,
  userCreateInput,
} from '../tenancy/principal-input.js';
import { PrincipalService } from '../tenancy/principal-service.js';
import { parseTime, usageLines } from '../tenancy/usage-report.js';
import { requireAdminKey, type Authenticator } from './auth.js';
import { readJsonBody, sendJson } from './http-io.js';
import type { HttpServer, RequestInfo } from './http-server.js';
import type { RouteParams } from './router.js';

/** What the tenancy admin routes need. */
export interface TenancyRouteDeps {
  authenticate: Authenticator;
  stores: Stores;
  keys: KeyService;
  directory: PrincipalDirectory;
  clock: Clock;
}

type Info = RequestInfo & { params: RouteParams };
type AdminHandler = (req: IncomingMessage, res: ServerResponse, info: Info, actor: KeyRecord) => Promise<void>;

const ADMIN_BODY_BYTES = 64 * 1024;

/** Parses an admin body with its schema; a mismatch is a 400 naming the field. */
async function body<S extends z.ZodType>(req: IncomingMessage, schema: S): Promise<z.infer<S>> {
  const parsed = schema.safeParse(await readJsonBody(req, ADMIN_BODY_BYTES));
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const param = issue.path.join('.') || 'body';
  throw new BreakwaterError('invalid_request', `${param}: ${issue.message}`, { param });
}

/** A key as the admin API shows it: never its hash. */
export function describeKey(record: KeyRecord): Record<string, unknown> {
  return {
    id: record.id,
    name: record.name,
    prefix: record.prefix,
    scopes: record.scopes,
    ...(record.orgId === undefined ? {} : { orgId: record.orgId }),
    ...(record.teamId === undefined ? {} : { teamId: record.teamId }),
    ...(record.userId === undefined ? {} : { userId: record.userId }),
    ...(record.allowedModels === undefined ? {} : { allowedModels: record.allowedModels }),
    ...describePolicy({ ...record.policy, allowedModels: undefined }),
    createdAt: new Date(record.createdAt).toISOString(),
    ...(record.expiresAt === undefined ? {} : { expiresAt: new Date(record.expiresAt).toISOString() }),
    ...(record.revokedAt === undefined ? {} : { revokedAt: new Date(record.revokedAt).toISOString() }),
  };
}

const CREATE_SCHEMAS = { org: orgCreateInput, team: teamCreateInput, user: userCreateInput } as const;

/**
 * `/admin/orgs`, `/admin/teams`, `/admin/users`, `/admin/keys`, `/admin/usage` and
 * `/admin/audit` (SPEC MT-1, MT-2, MT-7): zod-checked input, every change audited under the
 * admin key that made it and applied to the next request of this process.
 */
export function registerTenancyRoutes(http: HttpServer, deps: TenancyRouteDeps): void {
  const service = new PrincipalService({
    stores: deps.stores,
    keys: deps.keys,
    clock: deps.clock,
    onChange: () => {
      deps.directory.invalidate();
      deps.keys.clearCache();
    },
  });
  const on = (method: string, path: string, access: 'read' | 'write', handler: AdminHandler) =>
    http.router.on(method, path, async (req: IncomingMessage, res: ServerResponse, info: Info) => {
      const actor = await requireAdminKey(req, deps.authenticate, access);
      await handler(req, res, info, actor);
    });

  for (const [kind, plural] of [['org', 'orgs'], ['team', 'teams'], ['user', 'users']] as const satisfies ReadonlyArray<readonly [PrincipalKind, string]>) {
    on('GET', `/admin/${plural}`, 'read', async (_req, res) => sendJson(res, 200, { data: (await service.list(kind)).map(describePrincipal) }));
    on('POST', `/admin/${plural}`, 'write', async (req, res, _info, actor) => {
      const input = await body(req, CREATE_SCHEMAS[kind]);
      const record = await service.create(kind as 'org', input as z.infer<typeof orgCreateInput>, actor.id);
      sendJson(res, 201, describePrincipal(record));
    });
    on('GET', `/admin/${plural}/:id`, 'read', async (_req, res, info) => sendJson(res, 200, describePrincipal(await service.find(kind, info.params.id!))));
    on('PATCH', `/admin/${plural}/:id`, 'write', async (req, res, info, actor) => {
      const record = await service.update(kind, info.params.id!, await body(req, principalUpdateInput), actor.id);
      sendJson(res, 200, describePrincipal(record));
    });
    on('DELETE', `/admin/${plural}/:id`, 'write', async (_req, res, info, actor) => {
      await service.delete(kind, info.params.id!, actor.id);
      sendJson(res, 200, { id: info.params.id, deleted: true });
    });
  }

  on('GET', '/admin/keys', 'read', async (_req, res) => {
    const keys = (await deps.stores.keys.listKeys()).filter((k) => k.kind === 'virtual');
    sendJson(res, 200, { data: keys.map(describeKey) });
  });
  on('POST', '/admin/keys', 'write', async (req, res, _info, actor) => {
    const created = await service.createKey(await body(req, keyCreateInput), actor.id);
    sendJson(res, 201, { key: created.key, ...describeKey(created.record) });
  });
  on('PATCH', '/admin/keys/:id', 'write', async (req, res, info, actor) => {
    sendJson(res, 200, describeKey(await service.updateKey(info.params.id!, await body(req, keyUpdateInput), actor.id)));
  });
  on('DELETE', '/admin/keys/:id', 'write', async (_req, res, info, actor) => {
    if (!(await service.revokeKey(info.params.id!, actor.id))) throw new BreakwaterError('not_found', `no active key '${info.params.id}'`, { param: 'id' });
    sendJson(res, 200, { id: info.params.id, revoked: true });
  });

  on('GET', '/admin/usage', 'read', async (req, res) => {
    const query = new URL(req.url ?? '/', 'http://localhost').searchParams;
    const now = deps.clock.now();
    const parse = <T>(param: string, fn: () => T): T => {
      try {
        return fn();
      } catch (error) {
        throw new BreakwaterError('invalid_request', (error as Error).message, { param });
      }
    };
    const groupBy = parse('group_by', () => parseUsageDimensions(query.get('group_by') ?? ''));
    const since = parse('since', () => parseTime(query.get('since') ?? '30d', now));
    const untilText = query.get('until');
    const until = untilText === null ? undefined : parse('until', () => parseTime(untilText, now));
    const [rows, principals] = await Promise.all([deps.stores.ledger.usage({ since, until, groupBy }), deps.stores.principals.listPrincipals()]);
    sendJson(res, 200, { since: new Date(since).toISOString(), until: until === undefined ? null : new Date(until).toISOString(), group_by: groupBy, data: usageLines(rows, principals) });
  });
  on('GET', '/admin/audit', 'read', async (req, res) => {
    const limit = Math.min(1000, Number(new URL(req.url ?? '/', 'http://localhost').searchParams.get('limit') ?? 100) || 100);
    sendJson(res, 200, { data: await deps.stores.principals.listAudit({ limit }) });
  });
}
