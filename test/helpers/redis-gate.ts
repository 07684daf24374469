import { connect, createServer, type Socket } from 'node:net';

/** Counts occurrences of `needle` in a byte stream that may split it across chunks. */
function occurrences(needle: string): (chunk: Buffer) => number {
  let tail = '';
  return (chunk) => {
    const text = tail + chunk.toString('latin1');
    let count = 0;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + needle.length)) count++;
    // Shorter than the needle, so an occurrence is never counted twice.
    tail = text.slice(-(needle.length - 1));
    return count;
  };
}

/** Collects `"now":<ms>` fields of script replies (the Redis time of each limit decision). */
function decisionTimes(onTime: (ms: number) => void): (chunk: Buffer) => void {
  let tail = '';
  return (chunk) => {
    const text = tail + chunk.toString('latin1');
    for (const match of text.matchAll(/"now":(\d+)[,}]/g)) onTime(Number(match[1]));
    // 20 characters cannot hold a whole match (21 or more), so none is collected twice.
    tail = text.slice(-20);
  };
}

/** What one {@link RedisGate.hold} saw. */
export interface HeldBurst {
  /** How long the calls took to all arrive at the gate, from the hold. */
  arrivalMs: number;
  /** Redis time of every limit decision answered after the release (ms since the epoch). */
  decisions: number[];
}

/**
 * A TCP proxy in front of Redis for the replicas of one test. `hold` keeps every command they
 * send until `count` calls of one script are waiting, then lets them through at once, so a burst
 * reaches Redis as one burst however slowly a loaded machine runs the gateways before their
 * admission call.
 */
export interface RedisGate {
  url: string;
  /** Starts holding at once; resolves after the release (rejects, releasing, after `timeoutMs`). */
  hold(scriptSha: string, count: number, timeoutMs?: number): Promise<HeldBurst>;
  close(): Promise<void>;
}

export async function openRedisGate(redisUrl: string): Promise<RedisGate> {
  const target = new URL(redisUrl);
  const sockets = new Set<Socket>();
  const links = new Set<{ upstream: Socket; held: Buffer[]; count: (chunk: Buffer) => number }>();
  let hold: { sha: string; seen: number; count: number; release: () => void } | undefined;
  let decisions: number[] | undefined;

  const server = createServer((client) => {
    const upstream = connect({ host: target.hostname, port: Number(target.port || 6379), noDelay: true });
    client.setNoDelay(true);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    const link = { upstream, held: [] as Buffer[], count: occurrences(hold?.sha ?? '') };
    links.add(link);
    client.on('close', () => links.delete(link));
    const collect = decisionTimes((ms) => decisions?.push(ms));
    upstream.on('data', (chunk: Buffer) => {
      collect(chunk);
      client.write(chunk);
    });
    client.on('data', (chunk: Buffer) => {
      if (!hold) {
        upstream.write(chunk);
        return;
      }
      link.held.push(chunk);
      hold.seen += link.count(chunk);
      if (hold.seen >= hold.count) hold.release();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };

  return {
    url: `redis://127.0.0.1:${port}`,
    hold(sha, count, timeoutMs = 60_000) {
      const started = performance.now();
      return new Promise<HeldBurst>((resolve, reject) => {
        const collected: number[] = [];
        const release = (error?: Error) => {
          clearTimeout(timer);
          hold = undefined;
          // Replies to the released calls are the burst's decisions (until the next hold).
          decisions = collected;
          for (const link of links) {
            for (const chunk of link.held) link.upstream.write(chunk);
            link.held = [];
          }
          if (error) reject(error);
          else resolve({ arrivalMs: performance.now() - started, decisions: collected });
        };
        const timer = setTimeout(() => release(new Error(`only ${hold?.seen} of ${count} script calls arrived in ${timeoutMs} ms`)), timeoutMs);
        hold = { sha, seen: 0, count, release: () => release() };
        for (const link of links) link.count = occurrences(sha);
      });
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
