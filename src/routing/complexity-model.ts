import { DENSE_FEATURES, type PromptFeatures, type PromptKind } from './complexity-features.js';
import { SUBJECT_FEATURES, createSubjectScorer, type SubjectModel, type SubjectScorer } from './subject-model.js';

/** Inputs of the logistic models: the dense features, then the subject model's. */
export const MODEL_INPUTS: readonly string[] = [...DENSE_FEATURES, ...SUBJECT_FEATURES];

/** A logistic model over one prompt kind's features; dense inputs are standardised first. */
export interface LinearModel {
  bias: number;
  mean: number[];
  scale: number[];
  /** One weight per entry of MODEL_INPUTS. */
  dense: number[];
}

/** The committed artifact (src/routing/complexity-model.json), written by scripts/train-router.ts. */
export interface ComplexityModel {
  version: 1;
  inputs: string[];
  subjects: SubjectModel;
  models: Record<PromptKind, LinearModel>;
  /** Default decision threshold on p_strong. */
  threshold: number;
  /** What the artifact was trained on and how it cross-validated: provenance only. */
  training: Record<string, unknown>;
}

/** The linear score (log-odds) of an input vector under one model. */
export function linearScore(model: LinearModel, inputs: ArrayLike<number>): number {
  let z = model.bias;
  for (let i = 0; i < inputs.length; i++) z += (model.dense[i]! * (inputs[i]! - model.mean[i]!)) / model.scale[i]!;
  return z;
}

/** Logistic function, clamped so extreme scores stay finite. */
export function sigmoid(z: number): number {
  return 1 / (1 + Math.exp(-Math.max(-30, Math.min(30, z))));
}

const NO_SUBJECT: readonly number[] = SUBJECT_FEATURES.map(() => 0);

/** The logistic inputs of a prompt: dense features, then subject features for multiple-choice prompts. */
export function modelInputs(features: PromptFeatures, subjects: SubjectScorer): Float64Array {
  const inputs = new Float64Array(MODEL_INPUTS.length);
  inputs.set(features.dense);
  inputs.set(features.kind === 'choice' ? subjects.features(features.words) : NO_SUBJECT, features.dense.length);
  return inputs;
}

const scorers = new WeakMap<SubjectModel, SubjectScorer>();

/** The prepared subject scorer of a model, built once per model object. */
export function subjectScorerOf(model: ComplexityModel): SubjectScorer {
  let scorer = scorers.get(model.subjects);
  if (!scorer) scorers.set(model.subjects, (scorer = createSubjectScorer(model.subjects)));
  return scorer;
}

/** p_strong of a prompt's features under the model for its kind. */
export function predictStrong(model: ComplexityModel, features: PromptFeatures): number {
  return sigmoid(linearScore(model.models[features.kind], modelInputs(features, subjectScorerOf(model))));
}

/** Checks that a parsed artifact matches the feature extractor it will be used with. */
export function assertCompatibleModel(value: unknown): asserts value is ComplexityModel {
  const model = value as Partial<ComplexityModel> | null;
  const fail = (why: string): never => {
    throw new Error(`complexity router model is unusable: ${why}; retrain with scripts/train-router.ts`);
  };
  if (model?.version !== 1) fail('unknown version');
  if (model!.inputs?.join() !== MODEL_INPUTS.join()) fail('input list differs from complexity-features.ts and subject-model.ts');
  if (!Array.isArray(model!.subjects?.vocabulary) || model!.subjects.counts?.length !== model!.subjects.vocabulary.length) fail('subject model has the wrong shape');
  for (const kind of ['choice', 'open'] as const) {
    const linear = model!.models?.[kind];
    if (!linear || linear.dense?.length !== MODEL_INPUTS.length) fail(`${kind} model has the wrong shape`);
  }
}
