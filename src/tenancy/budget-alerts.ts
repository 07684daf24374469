import { createHmac } from 'node:crypto';
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { TenancyConfig } from '../config/schema.js';
import type { SoftCrossing } from './limit-store.js';

/** The signature header of budget webhooks: `t=<unix ms>,v1=<hex HMAC-SHA-256 of "<t>.<body>">`. */
export const WEBHOOK_SIGNATURE_HEADER = 'x-breakwater-signature';

/** Signs a webhook body as {@link WEBHOOK_SIGNATURE_HEADER} carries it. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** The JSON a soft budget alert carries. */
export interface BudgetAlertEvent {
  type: 'budget.soft_threshold';
  level: string;
  id: string;
  name: string;
  period: 'day' | 'month';
  periodKey: string;
  spentUsd: number;
  capUsd: number;
  threshold: number;
  at: string;
}

/**
 * Soft budget alerts (SPEC MT-6): a log event and, when `tenancy.webhook` is set, an HMAC-signed
 * POST to its allow-listed URL. The store reports each crossing once per period; delivery runs in
 * the background and a failure is logged, never retried into the request path.
 */
export function createBudgetAlerts(options: { config: TenancyConfig; logger: Logger; clock: Clock; fetch?: typeof fetch }): (crossing: SoftCrossing) => void {
  const { config, logger, clock } = options;
  const send = options.fetch ?? fetch;
  return (crossing) => {
    const { level } = crossing;
    const event: BudgetAlertEvent = {
      type: 'budget.soft_threshold',
      level: level.kind,
      id: level.id.slice(level.kind.length + 1),
      name: level.name,
      period: crossing.period,
      periodKey: crossing.periodKey,
      spentUsd: crossing.spentMicros / 1_000_000,
      capUsd: crossing.capMicros / 1_000_000,
      threshold: level.softThreshold,
      at: new Date(clock.now()).toISOString(),
    };
    logger.warn({ event: event.type, ...event }, 'budget soft threshold crossed');
    const hook = config.webhook;
    if (!hook) return;
    const body = JSON.stringify(event);
    const timestamp = clock.now();
    send(hook.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', [WEBHOOK_SIGNATURE_HEADER]: signWebhook(hook.secret, timestamp, body) },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(hook.timeoutMs),
    }).then(
      async (res) => {
        await res.body?.cancel();
        if (!res.ok) logger.warn({ status: res.status, event: event.type }, 'budget webhook refused');
      },
      (err: unknown) => logger.warn({ err: err instanceof Error ? err.message : String(err), event: event.type }, 'budget webhook failed'),
    );
  };
}
