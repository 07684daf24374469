import { createHash } from 'node:crypto';
import { createClient } from '@redis/client';

/** The raw command surface the shared stores use: strings in, RESP2-style replies out. */
export interface RedisLink {
  /** Sends one command; rejects at once while disconnected (no offline queue), so callers apply their outage policy. */
  send(args: string[]): Promise<unknown>;
  /** Runs a Lua script by SHA, loading it on NOSCRIPT: one round trip in the steady state. */
  evalScript(script: LuaScript, keys: string[], args: string[]): Promise<unknown>;
  /** Subscribes to a channel on a second connection (pub/sub needs its own). */
  subscribe(channel: string, onMessage: (message: string) => void): Promise<void>;
  publish(channel: string, message: string): Promise<void>;
  /** True while the command connection is up. */
  readonly ready: boolean;
  /** The last connection error, for `/readyz`. */
  readonly lastError: string | undefined;
  readonly prefix: string;
  close(): Promise<void>;
}

/** A Lua script and its SHA-1, computed once. */
export interface LuaScript {
  source: string;
  sha: string;
}

export function luaScript(source: string): LuaScript {
  return { source, sha: createHash('sha1').update(source).digest('hex') };
}

/** Retries a lost connection every 50 ms at first, then at most every second, forever: recovery needs no restart (SPEC MT-14). */
const reconnect = (retries: number) => Math.min(50 * 2 ** Math.min(retries, 5), 1_000);

function makeClient(url: string, onError: (error: Error) => void) {
  const client = createClient({
    url,
    RESP: 2,
    disableOfflineQueue: true,
    socket: { reconnectStrategy: reconnect, connectTimeout: 2_000 },
  });
  client.on('error', onError);
  return client;
}

type Client = ReturnType<typeof makeClient>;

/**
 * Connects to Redis. A first connection that fails does not stop startup: the client keeps
 * retrying in the background and the outage policy applies meanwhile.
 */
export async function connectRedis(url: string, prefix = 'bw:'): Promise<RedisLink> {
  let lastError: string | undefined;
  const onError = (error: Error) => {
    lastError = error.message || error.name;
  };
  const client = makeClient(url, onError);
  let subscriber: Client | undefined;
  const connecting = client.connect().then(
    () => undefined,
    (error: unknown) => onError(error as Error),
  );
  // Wait briefly so a healthy Redis is ready before the first request; never block startup on it.
  await Promise.race([connecting, new Promise((resolve) => setTimeout(resolve, 2_000).unref())]);

  const send = (args: string[]) => client.sendCommand(args) as Promise<unknown>;
  // lint-allow-literal-accessor: one per connection
  return {
    prefix,
    get ready() {
      return client.isReady;
    },
    get lastError() {
      return lastError;
    },
    send,
    async evalScript(script, keys, args) {
      const tail = [String(keys.length), ...keys, ...args];
      try {
        return await send(['EVALSHA', script.sha, ...tail]);
      } catch (error) {
        if (!String((error as Error).message).startsWith('NOSCRIPT')) throw error;
        return send(['EVAL', script.source, ...tail]);
      }
    },
    async subscribe(channel, onMessage) {
      if (!subscriber) {
        subscriber = makeClient(url, onError);
        await subscriber.connect();
      }
      await subscriber.subscribe(channel, (message) => onMessage(String(message)));
    },
    async publish(channel, message) {
      await send(['PUBLISH', channel, message]);
    },
    async close() {
      for (const each of [client, subscriber]) {
        if (!each) continue;
        if (each.isReady) await each.close().catch(() => undefined);
        if (each.isOpen) each.destroy();
      }
    },
  };
}
