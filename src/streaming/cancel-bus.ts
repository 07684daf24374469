/**
 * Carries stream cancels between replicas (SPEC §2.4 SignalBus, ST-4): a cancel that reaches a
 * replica not producing the stream is published, and the producing replica stops it.
 */
export interface CancelBus {
  publish(streamId: string): Promise<void>;
  /** Calls `onCancel` for every cancel published by any replica (this one included). */
  subscribe(onCancel: (streamId: string) => void): Promise<void>;
}

/** What a Redis connection offers for pub/sub. */
export interface PubSub {
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
}

/** The cancel bus on Redis pub/sub (`channel` is already prefixed). */
export function createPubSubCancelBus(pubsub: PubSub, channel: string): CancelBus {
  return {
    publish: (streamId) => pubsub.publish(channel, streamId),
    subscribe: (onCancel) => pubsub.subscribe(channel, onCancel),
  };
}
