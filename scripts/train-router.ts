// Trains the complexity router (docs/routing.md) on the routing development file and writes
// src/routing/complexity-model.json. Prints the k-fold cross-validated APGR / CPT per benchmark
// first: those, not the fit on the training rows, are the figures to quote.
//
//   node --import tsx scripts/train-router.ts [data.jsonl] [--out FILE] [--cv K]
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { printTable } from '../src/cli/output.js';
import { scorePrompt } from '../src/routing/complexity-router.js';
import { EVALUATION_COLUMNS, evaluateRouter, evaluationTable } from '../src/routing/router-evaluation.js';
import { crossValidatedScores, trainComplexityModel } from '../src/routing/router-training.js';
import { readLabelledPrompts } from '../src/routing/routing-data.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '..');
/** The shared data sits next to the checkout, here and in CI; it is never copied into the repo. */
export const DEFAULT_DATA = resolve(REPO, '../shared/data/routing/routellm-dev.jsonl');

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { out: { type: 'string', default: join(REPO, 'src/routing/complexity-model.json') }, cv: { type: 'string', default: '5' } },
});
const data = resolve(positionals[0] ?? DEFAULT_DATA);
const folds = Number(values.cv);
if (!Number.isInteger(folds) || folds < 2) throw new Error(`--cv must be an integer ≥ 2, got '${values.cv}'`);

const started = Date.now();
const rows = readLabelledPrompts(data);
process.stderr.write(`${rows.length} rows from ${data}; ${folds}-fold grouped cross-validation…\n`);
const evaluation = evaluateRouter(rows, crossValidatedScores(rows, folds));
process.stdout.write(`cross-validated (${folds} folds, out-of-fold scores):\n`);
printTable(evaluationTable(evaluation), EVALUATION_COLUMNS);

const cv = Object.fromEntries(
  evaluation.rows.filter((row) => row.router === 'complexity').map((row) => [row.benchmark, { apgr: round(row.apgr!), cpt50: round(row.cpt50!), cpt80: round(row.cpt80!) }]),
);
const model = trainComplexityModel(rows, {
  data: basename(data),
  sha256: createHash('sha256').update(readFileSync(data)).digest('hex'),
  rows: rows.length,
  target: '(1 + strong_correct − weak_correct) / 2',
  crossValidation: { folds, grouping: 'normalised question stem', ...cv },
});
// Default threshold: the score at which the model sends the cross-validated CPT(50 %) share of the
// development prompts to the strong model; `chooseTier` callers can pass their own.
const overall = (cv.overall ?? Object.values(cv)[0]!) as { cpt50: number };
const scores = rows.map((row) => scorePrompt(row.prompt, model)).sort((a, b) => b - a);
model.threshold = round(scores[Math.min(scores.length - 1, Math.floor(overall.cpt50 * scores.length))]!);
const json = JSON.stringify(model) + '\n';
writeFileSync(values.out, json);
process.stdout.write(`wrote ${values.out} (${(json.length / 1024).toFixed(0)} KiB, threshold ${model.threshold}) in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);

function round(value: number): number {
  return Math.round(value * 1e4) / 1e4;
}
