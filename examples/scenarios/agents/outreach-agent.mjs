// An outreach agent: emails every opted-in lead, then has a model summarise the contact for the
// CRM. When the model is rate limited it retries the whole batch — safe only because each email's
// step key names the lead, so a resend reuses the idempotency key. `outreachBroken` keeps the
// positional keys, so every batch retry emails the leads again.
import { defineAgent } from '../../../dist/index.js';

async function outreach(ctx, input, keyFor) {
  const leads = await ctx.tool('records.list', { collection: 'leads', where: { optIn: true } });
  for (let attempt = 1; ; attempt++) {
    try {
      for (const lead of leads.slice(0, input.maxEmails)) {
        await ctx.tool('email.send', { to: lead.email, subject: 'Hello from Acme', body: `Hi ${lead.name}` }, keyFor(lead));
        await ctx.llm({ model: 'sim-fast', messages: [{ role: 'user', content: `Summarise our outreach to ${lead.name} for the CRM.` }], maxTokens: 20 });
      }
      return { emailed: Math.min(leads.length, input.maxEmails), attempts: attempt };
    } catch (error) {
      if (attempt >= 5) throw error;
      ctx.emit('retry', { attempt, error: String(error?.message ?? error) });
      await ctx.sleep(100 * attempt); // back off past the provider's Retry-After
    }
  }
}

export const outreachAgent = defineAgent({ name: 'outreach', run: (ctx, input) => outreach(ctx, input, (lead) => ({ key: `email:${lead.id}` })) });
export const outreachBroken = defineAgent({ name: 'outreach', run: (ctx, input) => outreach(ctx, input, () => ({})) });
