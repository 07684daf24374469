import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

// As `npm start` runs it: the production bundle, which embeds the model (`npm test` builds first);
// and tsc's dist/, which reads the copied complexity-model.json.
const CLI = join(process.cwd(), 'dist/breakwater.cjs');
const UNBUNDLED_CLI = join(process.cwd(), 'dist/cli/main.js');
const dir = mkdtempSync(join(tmpdir(), 'bw-route-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function run(args: string[], cli = CLI): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', cwd: dir });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

function jsonl(name: string, rows: object[]): string {
  const path = join(dir, name);
  writeFileSync(path, rows.map((row) => JSON.stringify(row)).join('\n') + '\n');
  return path;
}

const choice = (question: string) => `${question}\nA. one\nB. two\nC. three\nD. four\nAnswer:`;
const LABELLED = [
  { id: 'm1', benchmark: 'mmlu', prompt: choice('Which of these two scenarios is morally wrong?'), weak_correct: false, strong_correct: true },
  { id: 'm2', benchmark: 'mmlu', prompt: choice('What is the capital of France?'), weak_correct: true, strong_correct: true },
  { id: 'm3', benchmark: 'mmlu', prompt: choice('Which enzyme digests starch?'), weak_correct: false, strong_correct: true },
  { id: 'm4', benchmark: 'mmlu', prompt: choice('If 2x = 6, what is x?'), weak_correct: true, strong_correct: false },
  { id: 'g1', benchmark: 'gsm8k', prompt: 'Tom has 3 apples and eats 1. How many are left?', weak_correct: true, strong_correct: true },
  { id: 'g2', benchmark: 'gsm8k', prompt: 'A train leaves at 3 pm at 60 mph; a second at 4 pm at 80 mph. When does it catch up?', weak_correct: false, strong_correct: true },
  { id: 'g3', benchmark: 'gsm8k', prompt: 'Sara saves $5 a week for 12 weeks and spends 1/3. How much is left?', weak_correct: false, strong_correct: false },
];

test('route score prints one {"id","p_strong"} line per row and reads no other field', () => {
  // Labels are absent and ids are mixed types: score needs only id and prompt.
  // Non-ASCII text too (−, ÷): the bundle must score exactly as the unbundled modules do.
  const data = jsonl('score.jsonl', [
    { id: 'a', prompt: 'Hello there' },
    { id: 7, prompt: 'Find −40 ÷ (−8).\nA. 1 over 5\nB. −5\nC. −1 over 5\nD. 5\nAnswer:', extra: { nested: true } },
    { id: 'c', prompt: '' },
  ]);
  const outputs: string[] = [];
  for (const cli of [CLI, UNBUNDLED_CLI]) {
    const result = run(['route', 'score', '--data', data], cli);
    assert.equal(result.status, 0, result.stderr);
    outputs.push(result.stdout);
    const lines = result.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.deepEqual(parsed.map((row) => row.id), ['a', '7', 'c']);
    for (const row of parsed) {
      assert.deepEqual(Object.keys(row), ['id', 'p_strong']);
      assert.ok(typeof row.p_strong === 'number' && row.p_strong >= 0 && row.p_strong <= 1);
    }
  }
  assert.equal(outputs[0], outputs[1]);
});

test('route score fails clearly on a row without a prompt', () => {
  const result = run(['route', 'score', '--data', jsonl('bad.jsonl', [{ id: 'a', text: 'no prompt' }])]);
  assert.equal(result.status, 1);
  assert.match(result.stderr, /bad\.jsonl:1: "prompt" must be a string/);
});

test('route eval prints APGR and CPT per benchmark and overall beside the baselines', () => {
  const result = run(['route', 'eval', '--data', jsonl('eval.jsonl', LABELLED)]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /shipped model/);
  assert.match(result.stdout, /benchmark\s+router\s+n\s+APGR\s+CPT\(50%\)\s+CPT\(80%\)/);
  for (const benchmark of ['gsm8k', 'mmlu', 'overall']) {
    for (const router of ['complexity', 'random', 'prompt-length', 'all-weak', 'all-strong']) {
      assert.match(result.stdout, new RegExp(`^${benchmark}\\s+${router}\\s`, 'm'), `${benchmark} ${router}`);
    }
  }
  // Random routing is the expected straight line: APGR 0.5, CPT(50 %) 50 %, CPT(80 %) 80 %.
  assert.match(result.stdout, /^mmlu\s+random\s+4\s+0\.500\s+50\.0%\s+80\.0%\s+\$12\.47/m);
  assert.match(result.stdout, /^mmlu\s+all-weak\s+4\s+-\s+-\s+-\s+\$0\.24\s+\$0\.24\s+50\.0%/m);
  assert.match(result.stdout, /^mmlu\s+all-strong\s+4\s+-\s+-\s+-\s+\$24\.70\s+\$24\.70\s+75\.0%/m);
  assert.match(result.stdout, /PGR@50%/);
});

test('route eval --json --cv reports cross-validated figures as JSON', () => {
  const rows = Array.from({ length: 12 }, (_, i) => ({ ...LABELLED[i % LABELLED.length]!, id: `r${i}`, prompt: `${LABELLED[i % LABELLED.length]!.prompt} (${i})` }));
  const result = run(['route', 'eval', '--data', jsonl('cv.jsonl', rows), '--cv', '3', '--json']);
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { folds: number; source: string; rows: Array<{ benchmark: string; router: string; apgr?: number }>; sweep: unknown[] };
  assert.equal(report.folds, 3);
  assert.match(report.source, /cross-validated/);
  const overall = report.rows.find((row) => row.benchmark === 'overall' && row.router === 'complexity');
  assert.ok(overall && typeof overall.apgr === 'number');
  assert.equal(report.sweep.length, 3);
});

test('route --help lists score and eval', () => {
  const result = run(['route', '--help']);
  assert.equal(result.status, 0);
  assert.match(result.stdout, /score/);
  assert.match(result.stdout, /eval/);
  assert.match(run(['route', 'eval', '--help']).stdout, /--cv <k>/);
});
