import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository root: children run from here so `dist/…`, `bench/…` and `tsx` resolve. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The first `{"event":"ready",…}` line a child prints on stdout. */
export type ReadyEvent = Record<string, unknown> & { event: 'ready' };

/** How to start one child process of the benchmark. */
export interface BenchChildOptions {
  /** Shown in errors. */
  name: string;
  /** Arguments after `node`. */
  args: string[];
  env?: NodeJS.ProcessEnv;
  /**
   * Send stdout to this file and poll it for the ready line, so a chatty child (access log) costs
   * the measuring process nothing; otherwise stdout is piped and drained.
   */
  stdoutFile?: string;
  /** Keep stdin open so a child that watches it exits when the benchmark dies. */
  keepStdin?: boolean;
  readyTimeoutMs?: number;
}

/** A running child with its ready event. */
export interface BenchChild {
  readonly name: string;
  readonly pid: number;
  readonly process: ChildProcess;
  /** Resolves on the ready line; rejects when the child exits or times out first. */
  readonly ready: Promise<ReadyEvent>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
  stop(graceMs?: number): Promise<void>;
}

const running = new Set<ChildProcess>();
let exitHookInstalled = false;
let reaper: ChildProcess | undefined;

/**
 * A watchdog that SIGKILLs every registered child once its stdin closes — which happens even when
 * the harness itself is SIGKILLed and no handler of ours runs (the gateway cannot watch for that).
 */
const REAPER_SCRIPT = `
const pids = new Set(); let pending = '';
process.stdin.setEncoding('utf8');
process.stdin.on('data', (data) => {
  const lines = (pending + data).split('\\n'); pending = lines.pop();
  for (const line of lines) { const pid = Number(line.slice(1)); if (line[0] === '+') pids.add(pid); else pids.delete(pid); }
});
process.stdin.on('end', () => { for (const pid of pids) { try { process.kill(pid, 'SIGKILL'); } catch {} } process.exit(0); });
`;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // 'exit' handlers run synchronously: the last chance to leave no child behind, also after a throw.
  process.on('exit', killAllChildren);
  reaper = spawn(process.execPath, ['-e', REAPER_SCRIPT], { stdio: ['pipe', 'ignore', 'ignore'] });
  reaper.on('error', () => {});
  reaper.stdin!.on('error', () => {});
  reaper.unref();
}

function tellReaper(line: string): void {
  if (reaper?.stdin?.writable) reaper.stdin.write(line + '\n');
}

/** SIGKILLs every child still running (synchronous; safe in an 'exit' handler). */
export function killAllChildren(): void {
  for (const child of running) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  running.clear();
}

function parseReadyLine(line: string): ReadyEvent | undefined {
  if (!line.startsWith('{')) return undefined;
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    return value.event === 'ready' ? (value as ReadyEvent) : undefined;
  } catch {
    return undefined;
  }
}

function watchPipe(child: ChildProcess, onReady: (event: ReadyEvent) => void): void {
  let buffered = '';
  let found = false;
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (chunk: string) => {
    if (found) return;
    buffered += chunk;
    let newline: number;
    while ((newline = buffered.indexOf('\n')) >= 0) {
      const event = parseReadyLine(buffered.slice(0, newline).trim());
      buffered = buffered.slice(newline + 1);
      if (event) {
        found = true;
        buffered = '';
        onReady(event);
        return;
      }
    }
  });
}

function watchFile(path: string, onReady: (event: ReadyEvent) => void): () => void {
  const fd = openSync(path, 'r');
  const buffer = Buffer.alloc(64 * 1024);
  let offset = 0;
  let text = '';
  const timer = setInterval(() => {
    const read = readSync(fd, buffer, 0, buffer.length, offset);
    if (read <= 0) return;
    offset += read;
    text += buffer.toString('utf8', 0, read);
    for (const line of text.split('\n').slice(0, -1)) {
      const event = parseReadyLine(line.trim());
      if (event) {
        stop();
        onReady(event);
        return;
      }
    }
    text = text.slice(text.lastIndexOf('\n') + 1);
  }, 2);
  let open = true;
  const stop = () => {
    clearInterval(timer);
    if (open) closeSync(fd);
    open = false;
  };
  return stop;
}

/**
 * Runs a benchmark harness in a fresh temp dir: its children are killed and the dir removed when
 * it ends, fails or is interrupted; a failure is reported through `progress` and exit code 1.
 */
export async function runHarness(tmpPrefix: string, progress: (message: string) => void, body: (tmp: string) => Promise<void>): Promise<never> {
  const tmp = mkdtempSync(join(tmpdir(), tmpPrefix));
  const cleanUp = () => {
    killAllChildren();
    rmSync(tmp, { recursive: true, force: true });
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      progress(`${signal}: stopping`);
      cleanUp();
      process.exit(130);
    });
  }
  try {
    await body(tmp);
  } catch (error) {
    progress(`failed: ${error instanceof Error ? error.message : String(error)}`);
    process.exitCode = 1;
  } finally {
    cleanUp();
  }
  // Keep-alive sockets and the autocannon workers would otherwise hold the process open.
  process.exit();
}

/** Spawns `node <args>` and tracks it so it is killed when the benchmark exits for any reason. */
export function spawnBenchChild(options: BenchChildOptions): BenchChild {
  installExitHook();
  const stdoutFd = options.stdoutFile ? openSync(options.stdoutFile, 'w') : undefined;
  const child = spawn(process.execPath, options.args, {
    cwd: REPO_ROOT,
    env: options.env ?? process.env,
    stdio: [options.keepStdin ? 'pipe' : 'ignore', stdoutFd ?? 'pipe', 'pipe'],
  });
  if (stdoutFd !== undefined) closeSync(stdoutFd);
  running.add(child);
  if (child.pid !== undefined) tellReaper(`+${child.pid}`);
  let stderrTail = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    stderrTail = (stderrTail + chunk).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  exited.then(() => {
    running.delete(child);
    tellReaper(`-${child.pid}`);
  });

  const ready = new Promise<ReadyEvent>((resolve, reject) => {
    let stopWatching = () => {};
    const timeoutMs = options.readyTimeoutMs ?? 30_000;
    const timer = setTimeout(() => fail(`not ready after ${timeoutMs} ms`), timeoutMs);
    const fail = (why: string) => {
      clearTimeout(timer);
      stopWatching();
      reject(new Error(`${options.name} (node ${options.args.join(' ')}) ${why}\n${stderrTail}`));
    };
    const onReady = (event: ReadyEvent) => {
      clearTimeout(timer);
      resolve(event);
    };
    child.once('error', (error) => fail(`failed to spawn: ${error.message}`));
    child.once('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal}) before printing its ready line`));
    if (options.stdoutFile) stopWatching = watchFile(options.stdoutFile, onReady);
    else watchPipe(child, onReady);
  });
  // A child that dies later must not turn into an unhandled rejection.
  ready.catch(() => {});
  if (child.stdout) child.stdout.resume();

  return {
    name: options.name,
    pid: child.pid ?? -1,
    process: child,
    ready,
    async stop(graceMs = 3_000) {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** Waits for the child's ready line; stops the child when it never comes. */
export async function waitReady(child: BenchChild): Promise<ReadyEvent> {
  try {
    return await child.ready;
  } catch (error) {
    await child.stop(500);
    throw error;
  }
}
