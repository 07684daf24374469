import type { z } from 'zod';
import type { Clock } from '../core/clock.js';
import { BreakwaterError } from '../core/errors.js';
import { newId } from '../core/ids.js';
import type { KeyRecord, PrincipalKind, PrincipalRecord, Stores } from '../store/interfaces.js';
import type { CreatedKey, KeyService } from './key-service.js';
import {
  applyPolicyInput,
  type keyCreateInput,
  type keyUpdateInput,
  type orgCreateInput,
  type principalUpdateInput,
  type teamCreateInput,
  type userCreateInput,
} from './principal-input.js';

type OrgInput = z.infer<typeof orgCreateInput>;
type TeamInput = z.infer<typeof teamCreateInput>;
type UserInput = z.infer<typeof userCreateInput>;
type KeyInput = z.infer<typeof keyCreateInput>;

/** The org, team and user a new team, user or key hangs under, checked to exist and agree. */
interface Placement {
  orgId?: string | undefined;
  teamId?: string | undefined;
  userId?: string | undefined;
}

const notFound = (kind: string, id: string) => new BreakwaterError('not_found', `no ${kind} '${id}'`, { param: `${kind}Id` });

/**
 * Manages the principal tree and key policies for the admin API and the CLI (SPEC MT-1): checks
 * that every parent exists and agrees, audits each change (SPEC MT-7), and tells the process to
 * drop cached chains so the change applies to the next request.
 */
export class PrincipalService {
  constructor(
    private readonly deps: { stores: Stores; keys: KeyService; clock: Clock; onChange?: (() => void) | undefined },
  ) {}

  private get store() {
    return this.deps.stores.principals;
  }

  /** A principal of this kind by id or (unique) name. */
  async find(kind: PrincipalKind, idOrName: string): Promise<PrincipalRecord> {
    const byId = await this.store.getPrincipal(idOrName);
    if (byId) {
      if (byId.kind !== kind) throw notFound(kind, idOrName);
      return byId;
    }
    const named = (await this.store.listPrincipals(kind)).filter((p) => p.name === idOrName);
    if (named.length > 1) throw new BreakwaterError('invalid_request', `${named.length} ${kind}s are named '${idOrName}'; use the id`, { param: `${kind}Id` });
    if (!named[0]) throw notFound(kind, idOrName);
    return named[0];
  }

  list(kind: PrincipalKind): Promise<PrincipalRecord[]> {
    return this.store.listPrincipals(kind);
  }

  async create(kind: 'org', input: OrgInput, actor: string): Promise<PrincipalRecord>;
  async create(kind: 'team', input: TeamInput, actor: string): Promise<PrincipalRecord>;
  async create(kind: 'user', input: UserInput, actor: string): Promise<PrincipalRecord>;
  async create(kind: PrincipalKind, input: OrgInput | TeamInput | UserInput, actor: string): Promise<PrincipalRecord> {
    const now = this.deps.clock.now();
    const id = newId(kind);
    const placement = kind === 'org' ? { orgId: id } : await this.place(input as Placement);
    if (kind !== 'org' && placement.orgId === undefined) throw new BreakwaterError('invalid_request', `a ${kind} needs an orgId${kind === 'user' ? ' or a teamId' : ''}`, { param: 'orgId' });
    const record: PrincipalRecord = { id, kind, name: input.name, orgId: placement.orgId!, policy: applyPolicyInput(undefined, input), createdAt: now, updatedAt: now };
    if (kind === 'user' && placement.teamId !== undefined) record.teamId = placement.teamId;
    await this.store.putPrincipal(record);
    await this.audit(actor, `${kind}.create`, id, input);
    return record;
  }

  async update(kind: PrincipalKind, idOrName: string, input: z.infer<typeof principalUpdateInput>, actor: string): Promise<PrincipalRecord> {
    const record = await this.find(kind, idOrName);
    const updated: PrincipalRecord = { ...record, name: input.name ?? record.name, policy: applyPolicyInput(record.policy, input), updatedAt: this.deps.clock.now() };
    await this.store.putPrincipal(updated);
    await this.audit(actor, `${kind}.update`, record.id, input);
    return updated;
  }

  /** Deletes a principal nothing hangs under any more; otherwise a 400 naming what does. */
  async delete(kind: PrincipalKind, idOrName: string, actor: string): Promise<void> {
    const record = await this.find(kind, idOrName);
    const field = kind === 'org' ? 'orgId' : kind === 'team' ? 'teamId' : 'userId';
    const children = (await this.store.listPrincipals()).filter((p) => p.id !== record.id && p[field as 'orgId' | 'teamId'] === record.id);
    const keys = (await this.deps.stores.keys.listKeys()).filter((k) => k.revokedAt === undefined && k[field] === record.id);
    if (children.length > 0 || keys.length > 0) {
      throw new BreakwaterError('invalid_request', `${kind} '${record.name}' still has ${children.length} principals and ${keys.length} active keys under it; remove or revoke them first`, { param: 'id' });
    }
    await this.store.deletePrincipal(record.id);
    await this.audit(actor, `${kind}.delete`, record.id, undefined);
  }

  /** Issues a key under the given principals; the plain key is in the result only. */
  async createKey(input: KeyInput, actor: string): Promise<CreatedKey> {
    const placement = await this.place(input);
    const policy = applyPolicyInput(undefined, { ...input, allowedModels: undefined });
    const created = await this.deps.keys.create({
      name: input.name,
      kind: 'virtual',
      scopes: input.scopes,
      expiresAt: input.expiresInDays === undefined ? undefined : this.deps.clock.now() + input.expiresInDays * 86_400_000,
      allowedModels: input.allowedModels ?? undefined,
      ...placement,
    });
    if (Object.keys(policy).length > 0) {
      await this.deps.stores.keys.updateKey(created.record.id, { name: created.record.name, allowedModels: created.record.allowedModels, policy });
      created.record.policy = policy;
    }
    await this.audit(actor, 'key.create', created.record.id, { ...input, prefix: created.record.prefix });
    return created;
  }

  async updateKey(id: string, input: z.infer<typeof keyUpdateInput>, actor: string): Promise<KeyRecord> {
    const record = await this.deps.stores.keys.getKey(id);
    if (!record || record.kind !== 'virtual') throw notFound('key', id);
    const allowedModels = input.allowedModels === null ? undefined : (input.allowedModels ?? record.allowedModels);
    const policy = applyPolicyInput(record.policy, { ...input, allowedModels: undefined });
    const updated: KeyRecord = { ...record, name: input.name ?? record.name, allowedModels, policy: Object.keys(policy).length > 0 ? policy : undefined };
    await this.deps.stores.keys.updateKey(id, { name: updated.name, allowedModels: updated.allowedModels, policy: updated.policy });
    await this.audit(actor, 'key.update', id, input);
    return updated;
  }

  async revokeKey(idOrPrefix: string, actor: string): Promise<boolean> {
    const revoked = await this.deps.keys.revoke(idOrPrefix);
    if (revoked) await this.audit(actor, 'key.revoke', idOrPrefix, undefined);
    return revoked;
  }

  /** Fills in and checks a placement: a user implies its team and org, a team its org. */
  private async place(input: Placement): Promise<Placement> {
    const user = input.userId === undefined ? undefined : await this.find('user', input.userId);
    const teamId = input.teamId ?? user?.teamId;
    const team = teamId === undefined ? undefined : await this.find('team', teamId);
    const orgIdOrName = input.orgId ?? team?.orgId ?? user?.orgId;
    const org = orgIdOrName === undefined ? undefined : await this.find('org', orgIdOrName);
    for (const child of [team, user]) {
      if (child && org && child.orgId !== org.id) throw new BreakwaterError('invalid_request', `${child.kind} '${child.name}' is not in org '${org.name}'`, { param: 'orgId' });
    }
    if (user?.teamId !== undefined && team && user.teamId !== team.id) {
      throw new BreakwaterError('invalid_request', `user '${user.name}' is not in team '${team.name}'`, { param: 'teamId' });
    }
    return { orgId: org?.id, teamId: team?.id, userId: user?.id };
  }

  private async audit(actor: string, action: string, target: string, detail: object | undefined): Promise<void> {
    await this.deps.stores.principals.appendAudit({ at: this.deps.clock.now(), actor, action, target, detail: detail as Record<string, unknown> | undefined });
    this.deps.onChange?.();
  }
}
