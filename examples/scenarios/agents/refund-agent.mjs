// A refund agent: reads the order, writes an apology with a model, refunds through the payment
// tool, marks the order and emails the customer. `refundBroken` derives the refund's step key
// from the clock, so after a crash the replacement worker refunds again under a new key.
import { defineAgent } from '../../../dist/index.js';

async function refundOrder(ctx, input, refundOptions) {
  const order = await ctx.tool('records.get', { collection: 'orders', id: input.orderId });
  if (order.status === 'refunded') return { refunded: false, reason: 'already refunded' };
  const note = await ctx.llm({ model: 'sim-fast', messages: [{ role: 'user', content: `Apologise for order ${order.id}; a refund is on its way.` }], maxTokens: 40 });
  const refund = await ctx.tool('payment.refund', { orderId: order.id, amountCents: order.amountCents }, refundOptions());
  await ctx.tool('records.update', { collection: 'orders', id: order.id, patch: { status: 'refunded', refundId: refund.id } });
  await ctx.tool('email.send', { to: order.email, subject: `Refund for ${order.id}`, body: note.text });
  return { refunded: true, refundId: refund.id };
}

export const refund = defineAgent({
  name: 'refund',
  run: (ctx, input) => refundOrder(ctx, input, () => ({})),
});

export const refundBroken = defineAgent({
  name: 'refund',
  run: (ctx, input) => refundOrder(ctx, input, () => ({ key: `refund-${Date.now()}` })),
});
