import { randomHex128 } from '../core/ids.js';
import type { BreakerRegistry, BreakerSnapshot, BreakerState, RegistryChangeListener } from '../resilience/circuit-breaker.js';
import type { PubSub } from '../streaming/cancel-bus.js';

interface BreakerMessage {
  replica: string;
  deployment: string;
  to: BreakerState;
  snapshot: BreakerSnapshot;
}

/**
 * Shares circuit-breaker transitions between replicas (SPEC §2.4 BreakerStore, issue 6): when a
 * replica opens or closes a deployment's breaker it publishes the breaker's snapshot, and every
 * other replica takes it over, so a failing upstream is shed everywhere after one replica saw it
 * fail, not after each one did. Restoring a snapshot fires no change, so nothing echoes back.
 */
export class BreakerSync {
  private readonly replica = randomHex128();
  private registry: BreakerRegistry | undefined;

  constructor(
    private readonly pubsub: PubSub,
    private readonly channel: string,
    private readonly onError: (error: unknown) => void = () => {},
  ) {}

  /** The listener to pass as the registry's `onChange`; publishes this replica's transitions. */
  readonly publish: RegistryChangeListener = (deployment, _from, to, snapshot) => {
    if (to === 'half_open') return; // probing is each replica's own business
    const message: BreakerMessage = { replica: this.replica, deployment, to, snapshot };
    this.pubsub.publish(this.channel, JSON.stringify(message)).catch(this.onError);
  };

  /** Applies other replicas' transitions to `registry`. */
  async attach(registry: BreakerRegistry): Promise<void> {
    this.registry = registry;
    await this.pubsub.subscribe(this.channel, (text) => {
      try {
        const message = JSON.parse(text) as BreakerMessage;
        if (message.replica === this.replica) return;
        this.registry?.get(message.deployment).restore(message.snapshot);
      } catch (error) {
        this.onError(error);
      }
    });
  }
}
