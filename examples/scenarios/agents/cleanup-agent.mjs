// A clean-up agent: deletes expired records. The list it works from may be stale, so each delete
// carries the filter as a precondition (`ifMatch`) and a record that no longer matches is skipped.
// `cleanupBroken` trusts the list and deletes whatever it names.
import { defineAgent } from '../../../dist/index.js';

async function cleanup(ctx, input, guarded) {
  const candidates = await ctx.tool('records.list', { collection: 'records', where: input.filter });
  const deleted = [];
  const skipped = [];
  for (const record of candidates) {
    try {
      await ctx.tool('records.delete', { collection: 'records', id: record.id, ...(guarded ? { ifMatch: input.filter } : {}) }, { retries: 0 });
      deleted.push(record.id);
    } catch (error) {
      if (error?.status !== 412 && !/no longer matches/.test(String(error?.message))) throw error;
      skipped.push(record.id);
    }
  }
  return { deleted, skipped };
}

export const cleanupAgent = defineAgent({ name: 'cleanup', run: (ctx, input) => cleanup(ctx, input, true) });
export const cleanupBroken = defineAgent({ name: 'cleanup', run: (ctx, input) => cleanup(ctx, input, false) });
