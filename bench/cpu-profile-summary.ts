// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self and inclusive time per function,
// as shares of all samples, idle included. Usage:
//   node --import tsx bench/cpu-profile-summary.ts <file.cpuprofile> [top=40] [inclusive filter regex]
// See docs/performance.md for how the gateway is profiled under load.
import { readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg = '40', filter] = process.argv.slice(2);
if (!file) {
  process.stderr.write('usage: cpu-profile-summary.ts <file.cpuprofile> [top] [inclusive filter regex]\n');
  process.exit(2);
}
const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
const top = Number(topArg);
const byId = new Map(profile.nodes.map((node) => [node.id, node]));
const parent = new Map<number, number>();
for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);

const selfById = new Map<number, number>();
let total = 0;
profile.samples.forEach((id, i) => {
  const delta = profile.timeDeltas[i] ?? 0;
  selfById.set(id, (selfById.get(id) ?? 0) + delta);
  total += delta;
});

const label = (node: ProfileNode) => {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url.split('/').pop() ?? ''}:${lineNumber + 1}`;
};
const self = new Map<string, number>();
const inclusive = new Map<string, number>();
for (const [id, time] of selfById) {
  const leaf = byId.get(id)!;
  self.set(label(leaf), (self.get(label(leaf)) ?? 0) + time);
  // Each function counts once per sample however often it recurs on the stack.
  const seen = new Set<string>();
  for (let current: number | undefined = id; current !== undefined; current = parent.get(current)) {
    const name = label(byId.get(current)!);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + time);
  }
}

const percent = (time: number) => `${((100 * time) / total).toFixed(1).padStart(5)}%`;
const sorted = (map: Map<string, number>) => [...map].sort((a, b) => b[1] - a[1]);
process.stdout.write(`${(total / 1000).toFixed(0)} ms sampled\n--- self\n`);
for (const [name, time] of sorted(self).slice(0, top)) process.stdout.write(`${percent(time)} ${name}\n`);
process.stdout.write('--- inclusive\n');
const pattern = filter ? new RegExp(filter) : undefined;
for (const [name, time] of sorted(inclusive).filter(([name]) => !pattern || pattern.test(name)).slice(0, top)) {
  process.stdout.write(`${percent(time)} ${name}\n`);
}
