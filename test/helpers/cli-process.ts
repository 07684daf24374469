import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

// The CLI runs as `npm start` runs it: the production bundle through its launcher (`npm test`
// builds dist/ first).
export const CLI = join(process.cwd(), 'dist/breakwater.cjs');

/** The environment without real provider keys or BREAKWATER_* overrides, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = { BREAKWATER_SIM__TIME_SCALE: '0' }): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of Object.keys(env)) if (name.startsWith('BREAKWATER_') || name.endsWith('_API_KEY')) delete env[name];
  return { ...env, ...extra };
}

/** A `breakwater start` child process, once it printed its ready line. */
export interface StartedCli {
  child: ChildProcessWithoutNullStreams;
  ready: { url: string; virtualKey?: string; adminKey?: string; readyMs: number };
  exited: Promise<number | null>;
}

/** Spawns `breakwater start --json` on an ephemeral port and waits for its ready line. */
export async function startCli(dataDir: string, extra: string[] = [], env: NodeJS.ProcessEnv = cleanEnv()): Promise<StartedCli> {
  const child = spawn(process.execPath, [CLI, 'start', '--port', '0', '--json', '--data-dir', dataDir, ...extra], { env, cwd: dataDir });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const lines = createInterface({ input: child.stdout });
  for await (const line of lines) {
    if (!line.startsWith('{"event":"ready"')) continue;
    return { child, ready: JSON.parse(line), exited };
  }
  throw new Error('the gateway exited before it was ready');
}
