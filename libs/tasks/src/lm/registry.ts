/**
 * The registered language tasks and the vocabulary they share. To add a task: write one module
 * implementing `LanguageTask` (see math.ts), and append it to LANGUAGE_TASKS — at the end, so the
 * ids of existing words stay where they are (models trained before keep their meaning).
 */
import { codeTask } from './code.ts';
import { critiqueTask } from './critique.ts';
import { mathTask } from './math.ts';
import { mmluTask } from './mmlu.ts';
import type { LanguageTask } from './task.ts';
import { Vocabulary } from './vocabulary.ts';

export const LANGUAGE_TASKS: readonly LanguageTask[] = [mathTask, codeTask, critiqueTask, mmluTask];

/** The one vocabulary of every language task and password. */
export const LM_VOCABULARY: Vocabulary = Vocabulary.forTasks(LANGUAGE_TASKS);

export function languageTask(name: string): LanguageTask {
  const task = LANGUAGE_TASKS.find((t) => t.name === name);
  if (!task)
    throw new Error(
      `unknown language task "${name}"; known: ${LANGUAGE_TASKS.map((t) => t.name).join(', ')}`,
    );
  return task;
}
