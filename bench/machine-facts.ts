import { execFileSync } from 'node:child_process';
import { cpus, loadavg, platform, arch, totalmem } from 'node:os';

/** Where a benchmark ran: figures only compare on like machines. */
export interface MachineFacts {
  cpus: number;
  cpuModel: string;
  node: string;
  platform: string;
  totalMemMiB: number;
  /** 1-minute load average when the run started (others' work skews everything). */
  loadAverage1m: number;
  gitCommit: string;
  /** Uncommitted changes were present: the commit alone does not describe the code. */
  gitDirty: boolean;
}

function git(args: string[], cwd: string): string {
  try {
    return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** Collects machine facts for the results JSON. */
export function machineFacts(repoRoot: string): MachineFacts {
  const cores = cpus();
  return {
    cpus: cores.length,
    cpuModel: cores[0]?.model.trim() ?? 'unknown',
    node: process.version,
    platform: `${platform()} ${arch()}`,
    totalMemMiB: Math.round(totalmem() / 2 ** 20),
    loadAverage1m: Math.round(loadavg()[0]! * 100) / 100,
    gitCommit: git(['rev-parse', 'HEAD'], repoRoot) || 'unknown',
    gitDirty: git(['status', '--porcelain', '--untracked-files=no'], repoRoot) !== '',
  };
}
