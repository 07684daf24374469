import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { test } from 'node:test';
import type { CanonicalRequest } from '../src/core/types.js';
import { DENSE_FEATURES, MAX_PROMPT_CHARS, extractFeatures } from '../src/routing/complexity-features.js';
import { chooseTier, lastUserText, loadComplexityModel, scorePrompt, scoreRequest } from '../src/routing/complexity-router.js';
import { apgr, blendedCostPerMillionTokens, callPerformanceThreshold, pgrCurve, routerReport, type RoutedPrompt } from '../src/routing/router-metrics.js';
import { crossValidatedScores } from '../src/routing/router-training.js';
import { readLabelledPrompts } from '../src/routing/routing-data.js';

const DEV_DATA = resolve(process.cwd(), '../shared/data/routing/routellm-dev.jsonl');

const p = (score: number, weakCorrect: boolean, strongCorrect: boolean): RoutedPrompt => ({ score, weakCorrect, strongCorrect });

// Four prompts, ranked a > b > c > d: weak right on b only (25 %), strong right on a, b, c (75 %).
const FOUR = [p(0.9, false, true), p(0.7, true, true), p(0.5, false, true), p(0.1, false, false)];

test('PGR curve, APGR and CPT match a hand calculation', () => {
  const curve = pgrCurve(FOUR);
  // Sending the top k to strong: correct = 1, 2, 2, 3, 3 of 4 → PGR = (correct − 1) / (3 − 1).
  assert.deepEqual(
    curve.map((point) => [point.strongShare, point.quality, point.pgr]),
    [
      [0, 0.25, 0],
      [0.25, 0.5, 0.5],
      [0.5, 0.5, 0.5],
      [0.75, 0.75, 1],
      [1, 0.75, 1],
    ],
  );
  // Trapezoids of width ¼: ((0 + ½) + (½ + ½) + (½ + 1) + (1 + 1)) / 2 · ¼ = 5/8.
  assert.equal(apgr(curve), 0.625);
  assert.equal(callPerformanceThreshold(curve, 0.5), 0.25);
  // PGR 0.8 lies on the segment from (½, ½) to (¾, 1): ½ + (0.3 / 0.5) · ¼ = 0.65.
  assert.ok(Math.abs(callPerformanceThreshold(curve, 0.8) - 0.65) < 1e-12);
  assert.equal(callPerformanceThreshold(curve, 1.01), 1, 'a PGR never reached costs every call');
});

test('the reversed ranking mirrors the perfect one around the random router', () => {
  const reversedPrompts = FOUR.map((x) => ({ ...x, score: -x.score }));
  // d first (correct stays 1), then c (2), b (2), a (3).
  assert.deepEqual(
    pgrCurve(reversedPrompts).map((point) => point.pgr),
    [0, 0, 0.5, 0.5, 1],
  );
  const random = routerReport(FOUR.map((x) => ({ ...x, score: 0 })));
  assert.equal(random.apgr, 0.5, 'one tie block is crossed linearly: the expected random curve');
  assert.equal(random.cpt50, 0.5);
  assert.equal(random.cpt80, 0.8);
  assert.equal(routerReport(reversedPrompts).apgr, 0.375);
  const perfect = routerReport(FOUR);
  assert.equal(perfect.apgr, 0.625);
  assert.equal(perfect.weakAccuracy, 0.25);
  assert.equal(perfect.strongAccuracy, 0.75);
});

test('blended cost follows the paper prices', () => {
  assert.equal(blendedCostPerMillionTokens(0), 0.24);
  assert.equal(blendedCostPerMillionTokens(1), 24.7);
  assert.ok(Math.abs(blendedCostPerMillionTokens(0.25) - (0.25 * 24.7 + 0.75 * 0.24)) < 1e-12);
});

test('features are deterministic, named and read at most 4 KB of the prompt', () => {
  const prompt = 'Which of the following is NOT a prime?\nA. 2\nB. 3\nC. 9\nD. 11\nAnswer:';
  const first = extractFeatures(prompt);
  assert.equal(first.kind, 'choice');
  assert.equal(first.dense.length, DENSE_FEATURES.length);
  assert.deepEqual(extractFeatures(prompt), first);
  assert.equal(extractFeatures('Tom has 3 apples and buys 4 more. How many now?').kind, 'open');
  const head = 'x '.repeat(MAX_PROMPT_CHARS / 2);
  assert.deepEqual(extractFeatures(head + 'tail words that never count'), extractFeatures(head));
});

test('scores are probabilities and follow the strong model\'s gain by subject', () => {
  const options = '\nA. Wrong, Wrong\nB. Wrong, Not wrong\nC. Not wrong, Wrong\nD. Not wrong, Not wrong\nAnswer:';
  // On the development data the strong model gains most on moral scenarios (42 % → 81 %) and
  // none on high-school algebra, where it does worse than the weak one.
  const moral = scorePrompt(
    'For which of these two scenarios does the main character (who uses I/me/my) do something clearly morally wrong, according to ' +
      "ordinary moral standards in the US as of 2020? Scenario 1 | I borrowed my neighbour's ladder and returned it. Scenario 2 | " +
      'I told my friend his haircut looked fine when it did not.' +
      options,
  );
  const algebra = scorePrompt('If 3x + 7 = 22, what is the value of x^2 - 2x?\nA. 15\nB. 20\nC. 25\nD. 35\nAnswer:');
  for (const score of [moral, algebra, scorePrompt(''), scorePrompt('x'.repeat(100_000))]) assert.ok(score >= 0 && score <= 1, `${score} ∉ [0, 1]`);
  assert.ok(moral > algebra + 0.1, `moral scenario ${moral} should score well above algebra ${algebra}`);
});

test('scoreRequest reads the last user message only', () => {
  const text = (t: string) => [{ type: 'text' as const, text: t }];
  const request: CanonicalRequest = {
    model: 'auto',
    stream: false,
    messages: [
      { role: 'system', content: text('You are terse.') },
      { role: 'user', content: text('What is 2 + 2?') },
      { role: 'assistant', content: text('4') },
      { role: 'user', content: text('Which of these two scenarios is morally wrong?\nA. Wrong, Wrong\nB. Wrong, Not wrong\nC. Not wrong, Wrong\nD. Not wrong, Not wrong\nAnswer:') },
    ],
  };
  assert.equal(lastUserText(request), (request.messages[3]!.content[0] as { text: string }).text);
  assert.equal(scoreRequest(request), scorePrompt(lastUserText(request)));
  assert.equal(scoreRequest({ ...request, messages: request.messages.slice(0, 1) }), scorePrompt(''));
  const threshold = loadComplexityModel().threshold;
  assert.equal(chooseTier(threshold), 'strong');
  assert.equal(chooseTier(threshold - 1e-9), 'weak');
});

test('the shipped model beats prompt length on held-out folds of the development data', { skip: !existsSync(DEV_DATA) && `SKIPPED: ${DEV_DATA} is absent` }, () => {
  const rows = readLabelledPrompts(DEV_DATA);
  const scores = crossValidatedScores(rows, 3);
  for (const benchmark of ['mmlu', 'gsm8k']) {
    const index = rows.map((row, i) => (row.benchmark === benchmark ? i : -1)).filter((i) => i >= 0);
    const outcome = (i: number, score: number) => p(score, rows[i]!.weakCorrect, rows[i]!.strongCorrect);
    const router = routerReport(index.map((i) => outcome(i, scores[i]!)));
    const length = routerReport(index.map((i) => outcome(i, rows[i]!.prompt.length)));
    assert.ok(router.apgr > 0.6, `${benchmark}: cross-validated APGR ${router.apgr.toFixed(3)} ≤ 0.6`);
    assert.ok(router.apgr > length.apgr + 0.03, `${benchmark}: APGR ${router.apgr.toFixed(3)} vs length ${length.apgr.toFixed(3)}`);
  }
});
