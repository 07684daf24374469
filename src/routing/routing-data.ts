import { readFileSync } from 'node:fs';

/** One labelled prompt of the routing data (shared/data/routing/README.md). */
export interface LabelledPrompt {
  id: string;
  benchmark: string;
  subject: string;
  prompt: string;
  weakCorrect: boolean;
  strongCorrect: boolean;
}

/** A prompt to score: only `id` and `prompt` are read (SPEC RT-10). */
export interface PromptRow {
  id: string;
  prompt: string;
}

function parseLines(path: string): Array<{ line: number; value: Record<string, unknown> }> {
  const rows: Array<{ line: number; value: Record<string, unknown> }> = [];
  readFileSync(path, 'utf8')
    .split('\n')
    .forEach((text, index) => {
      if (text.trim() === '') return;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (error) {
        throw new Error(`${path}:${index + 1}: not JSON (${(error as Error).message})`);
      }
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${path}:${index + 1}: not a JSON object`);
      rows.push({ line: index + 1, value: value as Record<string, unknown> });
    });
  return rows;
}

/** Reads `{id, prompt}` rows from a JSONL file; every other field is ignored. */
export function readPromptRows(path: string): PromptRow[] {
  return parseLines(path).map(({ line, value }) => {
    if (typeof value.prompt !== 'string') throw new Error(`${path}:${line}: "prompt" must be a string`);
    const id = value.id;
    if (typeof id !== 'string' && typeof id !== 'number') throw new Error(`${path}:${line}: "id" must be a string or a number`);
    return { id: String(id), prompt: value.prompt };
  });
}

/** Reads labelled rows (prompt, benchmark, weak_correct, strong_correct) from a JSONL file. */
export function readLabelledPrompts(path: string): LabelledPrompt[] {
  return parseLines(path).map(({ line, value }) => {
    const { id, benchmark, subject, prompt, weak_correct: weak, strong_correct: strong } = value;
    if (typeof prompt !== 'string' || typeof weak !== 'boolean' || typeof strong !== 'boolean') {
      throw new Error(`${path}:${line}: needs "prompt" (string), "weak_correct" and "strong_correct" (booleans)`);
    }
    return {
      id: String(id ?? line),
      benchmark: typeof benchmark === 'string' ? benchmark : 'all',
      subject: typeof subject === 'string' ? subject : '',
      prompt,
      weakCorrect: weak,
      strongCorrect: strong,
    };
  });
}
