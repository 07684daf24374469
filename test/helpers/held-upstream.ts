import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chatChunkFrame } from './chat-chunk-frame.js';

/** An OpenAI-compatible upstream whose streams wait for the test before finishing. */
export interface HeldUpstream {
  /** `…/v1`, for an `openai-compatible` provider. */
  baseUrl: string;
  /** Resolves when the first completion request arrived. */
  called: Promise<void>;
  /** Lets every held stream finish (and later ones run straight through). */
  release(): void;
  close(): Promise<void>;
}

/**
 * Streams `thinking` then ` done`. With `firstToken: 'held'` it sends nothing, not even headers,
 * until released (a slow model's time to first token); with `'sent'` the first token goes out at
 * once and the rest waits (a long generation).
 */
export async function startHeldUpstream(options: { firstToken: 'held' | 'sent' }): Promise<HeldUpstream> {
  let called!: () => void;
  let release!: () => void;
  const calledP = new Promise<void>((resolve) => (called = resolve));
  const released = new Promise<void>((resolve) => (release = resolve));
  const first = chatChunkFrame({ role: 'assistant', content: 'thinking' }, null);
  const rest = `${chatChunkFrame({ content: ' done' }, 'stop', { usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}data: [DONE]\n\n`;
  const server: Server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      called();
      if (options.firstToken === 'sent') {
        res.setHeader('content-type', 'text/event-stream');
        res.write(first);
      }
      void released.then(() => {
        if (options.firstToken === 'sent') return res.end(rest);
        res.setHeader('content-type', 'text/event-stream');
        res.end(first + rest);
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    called: calledP,
    release,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Config that serves model `chat` from a held upstream. */
export function heldUpstreamConfig(baseUrl: string, extra: string[] = []): string {
  return [...extra, 'providers:', '  held:', '    kind: openai-compatible', `    baseUrl: ${baseUrl}`, '    models: [m]', 'models:', '  chat: held/m', ''].join('\n');
}
