// A support agent that reads a refund request with a simulated model, waits for a human's
// approval, refunds through the fake payment tool and emails the customer. Run it with
//   npm run example:support
// It starts Breakwater in this process (SQLite in a temporary directory, simulated models), creates
// a run over HTTP, follows its events, approves the refund and prints the result.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createFakeEffectLedger, createFakeEmailTool, createFakePaymentTools, defineAgent, startBreakwater } from '../dist/index.js';

const ledger = createFakeEffectLedger();

export const support = defineAgent({
  name: 'support',
  inputSchema: {
    type: 'object',
    properties: { order: { type: 'string' }, amountCents: { type: 'integer', minimum: 1 }, email: { type: 'string' } },
    required: ['order', 'amountCents', 'email'],
  },
  tools: { ...createFakePaymentTools(ledger), ...createFakeEmailTool(ledger) },
  async run(ctx, input) {
    const reply = await ctx.llm({
      model: 'sim-fast',
      messages: [{ role: 'user', content: `Write a short apology for order ${input.order}; a refund is on its way.` }],
      maxTokens: 60,
    });
    const decision = await ctx.waitFor({ approval: 'refund', details: { order: input.order, amountCents: input.amountCents } }, { timeoutMs: 24 * 3600_000 });
    if (decision.kind !== 'signal' || !decision.payload.approved) return { refunded: false };
    const refund = await ctx.tool('payment.refund', { orderId: input.order, amountCents: input.amountCents });
    await ctx.tool('email.send', { to: input.email, subject: `Refund for ${input.order}`, body: reply.text });
    return { refunded: true, refundId: refund.id };
  },
});

const dataDir = mkdtempSync(join(tmpdir(), 'bw-example-'));
const app = await startBreakwater({ overrides: { server: { port: 0, dataDir, logLevel: 'warn' }, sim: { timeScale: 0.2 } }, agents: [support] });
// The bootstrap key may create runs; approving needs the runs:approve scope.
const { key } = await app.keys.create({ name: 'support-desk', kind: 'virtual', scopes: ['runs', 'runs:approve'] });
const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
try {
  const created = await fetch(`${app.url}/v1/runs`, {
    method: 'POST',
    headers,
    body: JSON.stringify({ agent: 'support', input: { order: 'A-1042', amountCents: 2599, email: 'ada@example.com' } }),
  }).then((res) => res.json());
  console.log(`created ${created.id} (${created.status})`);
  const events = await fetch(`${app.url}${created.events_url}`, { headers });
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of events.body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const type = /^event: (.*)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (!type || !data) continue;
      const event = JSON.parse(data);
      if (type === 'llm.delta') process.stdout.write(event.text);
      else console.log(`${type === 'step.completed' ? '\n' : ''}[${/^id: (.*)$/m.exec(frame)?.[1]}] ${type}${event.step ? ` ${event.step}` : ''}`);
      if (type === 'approval.requested') {
        console.log(`  approving refund of ${event.details.amountCents} cents for ${event.details.order}`);
        await fetch(`${app.url}/v1/runs/${created.id}/approvals/refund`, { method: 'POST', headers, body: JSON.stringify({ approved: true, comment: 'ok' }) });
      }
    }
  }
  const run = await fetch(`${app.url}/v1/runs/${created.id}`, { headers }).then((res) => res.json());
  console.log(`\n${run.status}: ${JSON.stringify(run.result)}; ${run.steps} steps, ${run.usage.output_tokens} output tokens, ${run.cost_micros} micro-USD`);
  console.log('effects in the fake tools’ ledger:', ledger.effects().map((effect) => `${effect.tool} ${effect.idempotencyKey}`));
} finally {
  await app.close();
  ledger.close();
  rmSync(dataDir, { recursive: true, force: true });
}
