import { readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import type { LanguageProblem, LanguageTask, SampleColumns } from '@lockpick/tasks';
import { problemsFromColumns, problemsToColumns } from '@lockpick/tasks';
import type * as arrow from 'apache-arrow';

/**
 * A problem table: one row per problem (task, index, domain, difficulty, prompt, reference, and the
 * checker's data as JSON). Column names are snake_case for pandas and DuckDB users.
 */
export function problemTable(task: LanguageTask, problems: readonly LanguageProblem[]): arrow.Table {
  const c = problemsToColumns(task, problems);
  return tableFromColumns({
    task: problems.map(() => task.name),
    problem: c.problem,
    domain: c.domain,
    difficulty: c.difficulty,
    prompt: c.prompt,
    reference: c.reference,
    data: c.data,
  });
}

/** The problems of a problem or sample table (a sample table carries prompt, domain, difficulty, data). */
export function readProblems(table: arrow.Table): LanguageProblem[] {
  return problemsFromColumns({
    domain: readStrings(table, 'domain'),
    difficulty: Int32Array.from(readNumbers(table, 'difficulty')),
    prompt: readStrings(table, 'prompt'),
    data: readStrings(table, 'data'),
  });
}

/** A sample table: `samples` completions per problem, graded, with the problem carried along. */
export function sampleTable(
  task: LanguageTask,
  policy: string,
  columns: SampleColumns,
  problemColumns: { difficulty: Int32Array; data: string[] },
): arrow.Table {
  return tableFromColumns({
    task: columns.problem.length ? Array.from(columns.problem, () => task.name) : [],
    policy: Array.from(columns.problem, () => policy),
    problem: columns.problem,
    sample: columns.sample,
    domain: columns.domain,
    difficulty: problemColumns.difficulty,
    prompt: columns.prompt,
    completion: columns.completion,
    correct: columns.correct,
    score: columns.score,
    data: problemColumns.data,
  });
}
