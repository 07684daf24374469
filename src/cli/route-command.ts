import type { Command } from 'commander';
import { printTable } from './output.js';

interface ScoreOptions {
  data: string;
  json?: boolean;
}

interface EvalOptions {
  data: string;
  cv?: string;
  json?: boolean;
}

/** `breakwater route score|eval`: the complexity router on JSONL prompts (SPEC RT-10, docs/routing.md). */
export function registerRouteCommand(program: Command): void {
  const route = program.command('route').description('the complexity router (weak vs strong model)');
  route
    .command('score')
    .description('print {"id","p_strong"} for every row of a JSONL file (reads only id and prompt)')
    .requiredOption('--data <file>', 'JSONL rows with "id" and "prompt"')
    .option('--json', 'JSON lines (the only output format; accepted for symmetry with eval)')
    .action(async (options: ScoreOptions) => {
      const [{ readPromptRows }, { scorePrompt }] = await Promise.all([import('../routing/routing-data.js'), import('../routing/complexity-router.js')]);
      const lines = readPromptRows(options.data).map((row) => JSON.stringify({ id: row.id, p_strong: round(scorePrompt(row.prompt)) }));
      process.stdout.write(lines.length ? lines.join('\n') + '\n' : '');
    });
  route
    .command('eval')
    .description('APGR, CPT(50%), CPT(80%) and cost per benchmark and overall, beside the baselines')
    .requiredOption('--data <file>', 'JSONL rows with "prompt", "weak_correct", "strong_correct" (and "benchmark")')
    .option('--cv <k>', 'train and score k-fold out of fold instead of scoring with the shipped model')
    .option('--json', 'print the evaluation as JSON')
    .action(async (options: EvalOptions) => {
      const [{ readLabelledPrompts }, { scorePrompt }, evaluation, { crossValidatedScores }] = await Promise.all([
        import('../routing/routing-data.js'),
        import('../routing/complexity-router.js'),
        import('../routing/router-evaluation.js'),
        import('../routing/router-training.js'),
      ]);
      const folds = options.cv === undefined ? undefined : Number(options.cv);
      if (folds !== undefined && (!Number.isInteger(folds) || folds < 2)) throw new Error(`--cv must be an integer ≥ 2, got '${options.cv}'`);
      const rows = readLabelledPrompts(options.data);
      const scores = folds ? crossValidatedScores(rows, folds) : rows.map((row) => scorePrompt(row.prompt));
      const result = evaluation.evaluateRouter(rows, scores);
      const source = folds ? `${folds}-fold cross-validated (out-of-fold scores)` : 'shipped model (optimistic on its own training data; use --cv k for honest figures)';
      if (options.json) {
        process.stdout.write(JSON.stringify({ source, folds: folds ?? null, rows: result.rows, sweep: result.sweep }) + '\n');
        return;
      }
      process.stdout.write(`complexity router: ${source}\n`);
      printTable(evaluation.evaluationTable(result), evaluation.EVALUATION_COLUMNS);
      process.stdout.write('\nPGR of the complexity router by strong-call share:\n');
      printTable(evaluation.sweepTable(result), evaluation.SWEEP_COLUMNS);
    });
}

function round(value: number): number {
  return Math.round(value * 1e6) / 1e6;
}
