/**
 * Naive Bayes over the words of a multiple-choice prompt, trained to name its MMLU subject; the
 * router uses the posterior-weighted mean outcome of the subjects (computed on the training rows
 * only), because the weak model's deficit is mostly a matter of subject (moral scenarios: weak
 * 42 %, strong 81 %; high-school maths: the strong model does worse). The vocabulary is the most
 * frequent words, and counts are stored sparsely, which keeps the artifact small.
 */

/** The serialised subject model. */
export interface SubjectModel {
  subjects: string[];
  /** Per subject: training rows, mean routing target, weak-model accuracy (shrunk to the mean). */
  documents: number[];
  target: number[];
  weakAccuracy: number[];
  vocabulary: string[];
  /** Per word: flat [subject, count, subject, count, …] for the subjects whose prompts use it. */
  counts: number[][];
  alpha: number;
  /** Posterior temperature: naive Bayes is overconfident, softening it ranks better. */
  temperature: number;
}

/** Names of the features the subject model adds for multiple-choice prompts. */
export const SUBJECT_FEATURES = ['subject_target', 'subject_weak_accuracy', 'subject_confidence'] as const;

/** A labelled row as the subject model sees it. */
export interface SubjectExample {
  words: readonly string[];
  subject: string;
  target: number;
  weakCorrect: boolean;
}

/** Options of the subject model. */
export interface SubjectOptions {
  vocabularySize: number;
  alpha: number;
  temperature: number;
  /** Pseudo-rows of the overall mean added to each subject's means. */
  prior: number;
}

/** Defaults picked by cross-validation on the development file. */
export const DEFAULT_SUBJECT_OPTIONS: SubjectOptions = Object.freeze({ vocabularySize: 2000, alpha: 0.1, temperature: 3, prior: 10 });

/** Counts words per subject in the examples. */
export function trainSubjectModel(examples: readonly SubjectExample[], options: SubjectOptions = DEFAULT_SUBJECT_OPTIONS): SubjectModel {
  const documentFrequency = new Map<string, number>();
  for (const { words } of examples) for (const word of words) documentFrequency.set(word, (documentFrequency.get(word) ?? 0) + 1);
  const vocabulary = [...documentFrequency]
    .sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))
    .slice(0, options.vocabularySize)
    .map(([word]) => word);
  const wordIndex = new Map(vocabulary.map((word, i) => [word, i]));
  const subjects = [...new Set(examples.map((e) => e.subject))].sort();
  const subjectIndex = new Map(subjects.map((subject, i) => [subject, i]));
  const documents = new Array<number>(subjects.length).fill(0);
  const targetSums = new Array<number>(subjects.length).fill(0);
  const weakSums = new Array<number>(subjects.length).fill(0);
  const counts = vocabulary.map(() => new Map<number, number>());
  for (const example of examples) {
    const k = subjectIndex.get(example.subject)!;
    documents[k]! += 1;
    targetSums[k]! += example.target;
    weakSums[k]! += example.weakCorrect ? 1 : 0;
    for (const word of example.words) {
      const w = wordIndex.get(word);
      if (w !== undefined) counts[w]!.set(k, (counts[w]!.get(k) ?? 0) + 1);
    }
  }
  const n = Math.max(1, examples.length);
  const meanTarget = targetSums.reduce((a, b) => a + b, 0) / n;
  const meanWeak = weakSums.reduce((a, b) => a + b, 0) / n;
  const shrink = (sum: number, k: number, mean: number) => Math.round(((sum + options.prior * mean) / (documents[k]! + options.prior)) * 1e4) / 1e4;
  return {
    subjects,
    documents,
    target: targetSums.map((sum, k) => shrink(sum, k, meanTarget)),
    weakAccuracy: weakSums.map((sum, k) => shrink(sum, k, meanWeak)),
    vocabulary,
    counts: counts.map((perSubject) => [...perSubject].sort((a, b) => a[0] - b[0]).flat()),
    alpha: options.alpha,
    temperature: options.temperature,
  };
}

/** A subject model prepared for scoring: log-probabilities precomputed once. */
export interface SubjectScorer {
  features(words: readonly string[]): number[];
}

/** Precomputes log-probabilities; `features` then costs one pass over the prompt's known words. */
export function createSubjectScorer(model: SubjectModel): SubjectScorer {
  const k = model.subjects.length;
  const totals = new Float64Array(k);
  model.counts.forEach((flat) => {
    for (let i = 0; i < flat.length; i += 2) totals[flat[i]!]! += flat[i + 1]!;
  });
  const allDocuments = model.documents.reduce((a, b) => a + b, 0);
  const prior = Float64Array.from(model.documents, (d) => Math.log(d / allDocuments));
  // log P(word | subject) = log(α + count) − log(total + αV); the part every word shares is per subject.
  const perWord = Float64Array.from(totals, (total) => Math.log(model.alpha) - Math.log(total + model.alpha * model.vocabulary.length));
  const wordIndex = new Map(model.vocabulary.map((word, i) => [word, i]));
  const bonus = model.counts.map((flat) => {
    const entries = new Float64Array(flat.length);
    for (let i = 0; i < flat.length; i += 2) {
      entries[i] = flat[i]!;
      entries[i + 1] = Math.log(1 + flat[i + 1]! / model.alpha);
    }
    return entries;
  });
  const logp = new Float64Array(k);
  return {
    features(words) {
      let known = 0;
      logp.set(prior);
      for (const word of words) {
        const w = wordIndex.get(word);
        if (w === undefined) continue;
        known++;
        const entries = bonus[w]!;
        for (let i = 0; i < entries.length; i += 2) logp[entries[i]!]! += entries[i + 1]!;
      }
      let max = -Infinity;
      for (let s = 0; s < k; s++) {
        logp[s] = (logp[s]! + known * perWord[s]!) / model.temperature;
        if (logp[s]! > max) max = logp[s]!;
      }
      let z = 0;
      let target = 0;
      let weak = 0;
      for (let s = 0; s < k; s++) {
        const p = Math.exp(logp[s]! - max);
        z += p;
        target += p * model.target[s]!;
        weak += p * model.weakAccuracy[s]!;
      }
      return [target / z, weak / z, 1 / z];
    },
  };
}
