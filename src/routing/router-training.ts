import { createSeededRandom } from '../core/clock.js';
import { extractFeatures, hashString, type PromptFeatures, type PromptKind } from './complexity-features.js';
import { MODEL_INPUTS, linearScore, modelInputs, predictStrong, sigmoid, type ComplexityModel, type LinearModel } from './complexity-model.js';
import type { LabelledPrompt } from './routing-data.js';
import { DEFAULT_SUBJECT_OPTIONS, createSubjectScorer, trainSubjectModel, type SubjectExample, type SubjectOptions } from './subject-model.js';

/** Hyper-parameters of the logistic learner (per prompt kind). */
export interface LinearOptions {
  epochs: number;
  learningRate: number;
  l2: number;
  seed: number;
}

/** Everything training takes besides the rows. */
export interface TrainingOptions {
  linear: Record<PromptKind, LinearOptions>;
  subject: SubjectOptions;
  /** Folds used inside a training set to give the logistic model out-of-fold subject features. */
  innerFolds: number;
}

/** Defaults picked by cross-validation on the development file (docs/routing.md). */
export const DEFAULT_TRAINING: TrainingOptions = Object.freeze({
  linear: {
    choice: { epochs: 10, learningRate: 0.05, l2: 3e-2, seed: 1 },
    open: { epochs: 10, learningRate: 0.05, l2: 1e-1, seed: 1 },
  },
  subject: DEFAULT_SUBJECT_OPTIONS,
  innerFolds: 5,
});

/** A training example: logistic inputs and a target in [0, 1]. */
interface Example {
  inputs: Float64Array;
  target: number;
}

/**
 * The target: (1 + strong − weak) / 2, i.e. 1 when only the strong model is right, 0 when only the
 * weak one is, ½ otherwise. Its expectation ranks prompts by the expected gain of the strong call,
 * which P(weak wrong) does not: on some subjects both models fail and the strong call buys nothing.
 */
export function routingTarget(row: Pick<LabelledPrompt, 'weakCorrect' | 'strongCorrect'>): number {
  return (1 + (row.strongCorrect ? 1 : 0) - (row.weakCorrect ? 1 : 0)) / 2;
}


function standardisation(examples: readonly Example[]): { mean: number[]; scale: number[] } {
  const width = MODEL_INPUTS.length;
  const sum = new Float64Array(width);
  const square = new Float64Array(width);
  for (const { inputs } of examples) {
    for (let i = 0; i < width; i++) {
      sum[i]! += inputs[i]!;
      square[i]! += inputs[i]! ** 2;
    }
  }
  const n = Math.max(1, examples.length);
  const mean = Array.from(sum, (s) => s / n);
  return { mean, scale: mean.map((m, i) => Math.sqrt(Math.max(square[i]! / n - m * m, 0)) || 1) };
}

/** Fits an L2-regularised logistic model with Adagrad over shuffled examples. */
function fitLinear(examples: readonly Example[], options: LinearOptions): LinearModel {
  const { mean, scale } = standardisation(examples);
  const width = MODEL_INPUTS.length;
  const model: LinearModel = { bias: 0, mean, scale, dense: new Array(width).fill(0) };
  const denseSquares = new Float64Array(width);
  let biasSquares = 0;
  const next = createSeededRandom(options.seed);
  const order = examples.map((_, i) => i);
  const step = (g: number, squares: number) => (options.learningRate * g) / Math.sqrt(squares + 1e-8);
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    for (const index of order) {
      const { inputs, target } = examples[index]!;
      const error = sigmoid(linearScore(model, inputs)) - target;
      biasSquares += error * error;
      model.bias -= step(error, biasSquares);
      for (let i = 0; i < width; i++) {
        const g = (error * (inputs[i]! - mean[i]!)) / scale[i]! + options.l2 * model.dense[i]!;
        denseSquares[i]! += g * g;
        model.dense[i]! -= step(g, denseSquares[i]!);
      }
    }
  }
  return model;
}

/** Rounds weights so the committed JSON stays small; 1e-4 is far below what the scores resolve. */
function compact(model: LinearModel): LinearModel {
  const round = (v: number) => Math.round(v * 1e4) / 1e4;
  return { bias: round(model.bias), mean: model.mean.map(round), scale: model.scale.map(round), dense: model.dense.map(round), };
}

/**
 * The cross-validation group of a prompt: its normalised question stem, so multiple-choice
 * questions that share a passage (or are repeated) never fall on both sides of a split.
 */
export function groupOf(prompt: string, features: PromptFeatures): string {
  const stem = features.kind === 'choice' ? prompt.replace(/\n\(?[A-J][.)][^\n]*/g, '') : prompt;
  return stem.toLowerCase().replace(/\s+/g, ' ').trim().slice(0, 400);
}

/** The fold of each row: a hash of its group, so the split is deterministic and grouped. */
export function foldsOf(rows: readonly LabelledPrompt[], features: readonly PromptFeatures[], folds: number, seed = 0x9e3779b9): number[] {
  return rows.map((row, i) => hashString(groupOf(row.prompt, features[i]!), seed) % folds);
}

function subjectExample(row: LabelledPrompt, features: PromptFeatures): SubjectExample {
  return { words: features.words, subject: row.subject, target: routingTarget(row), weakCorrect: row.weakCorrect };
}

/** Trains both per-kind models on labelled prompts whose features are already extracted. */
function trainOnFeatures(rows: readonly LabelledPrompt[], features: readonly PromptFeatures[], options: TrainingOptions): Omit<ComplexityModel, 'training'> {
  const choice = rows.map((_, i) => i).filter((i) => features[i]!.kind === 'choice');
  const subjects = trainSubjectModel(choice.map((i) => subjectExample(rows[i]!, features[i]!)), options.subject);
  // The logistic model must see subject features as good as on unseen prompts, not ones the subject
  // model memorised: each training row gets them from a subject model that never saw its group.
  const inner = foldsOf(rows, features, options.innerFolds, 0x85ebca6b);
  const inputs = new Map<number, Float64Array>();
  for (let fold = 0; fold < options.innerFolds; fold++) {
    const scorer = createSubjectScorer(trainSubjectModel(choice.filter((i) => inner[i] !== fold).map((i) => subjectExample(rows[i]!, features[i]!)), options.subject));
    for (const i of choice) if (inner[i] === fold) inputs.set(i, modelInputs(features[i]!, scorer));
  }
  const openScorer = { features: () => [] };
  const byKind: Record<PromptKind, Example[]> = { choice: [], open: [] };
  rows.forEach((row, i) => {
    const f = features[i]!;
    byKind[f.kind].push({ inputs: inputs.get(i) ?? modelInputs(f, openScorer), target: routingTarget(row) });
  });
  return {
    version: 1,
    inputs: [...MODEL_INPUTS],
    subjects,
    models: { choice: compact(fitLinear(byKind.choice, options.linear.choice)), open: compact(fitLinear(byKind.open, options.linear.open)) },
    threshold: 0.5,
  };
}

/** Trains the router on labelled prompts (features from the prompt text only). */
export function trainComplexityModel(rows: readonly LabelledPrompt[], training: Record<string, unknown> = {}, options: TrainingOptions = DEFAULT_TRAINING): ComplexityModel {
  return { ...trainOnFeatures(rows, rows.map((row) => extractFeatures(row.prompt)), options), training };
}

/** Out-of-fold p_strong for every row: k grouped folds, each scored by a model trained on the others. */
export function crossValidatedScores(rows: readonly LabelledPrompt[], folds: number, options: TrainingOptions = DEFAULT_TRAINING): Float64Array {
  const features = rows.map((row) => extractFeatures(row.prompt));
  const foldOf = foldsOf(rows, features, folds);
  const scores = new Float64Array(rows.length);
  for (let fold = 0; fold < folds; fold++) {
    const train = rows.map((_, i) => i).filter((i) => foldOf[i] !== fold);
    const model = { ...trainOnFeatures(train.map((i) => rows[i]!), train.map((i) => features[i]!), options), training: {} };
    rows.forEach((_, i) => {
      if (foldOf[i] === fold) scores[i] = predictStrong(model, features[i]!);
    });
  }
  return scores;
}
