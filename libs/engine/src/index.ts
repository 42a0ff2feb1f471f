export type { NodeKey } from './cache-key.ts';
export { describeKeyChange, nodeKey } from './cache-key.ts';
export type { CodeIdentity } from './code-identity.ts';
export { clearCodeIdentityCache, codeIdentity, importSpecifiers } from './code-identity.ts';
export { runStageOnce } from './execute-stage.ts';
export type {
  DraftNode,
  InputWiring,
  NodeHandle,
  NodeSpec,
  OutputRef,
  ParamOverride,
  PipelineDefinition,
  PipelineOptions,
  ResolvedNode,
  ResolvedPipeline,
  ResolveOptions,
  SweepGrid,
  SweepPoint,
} from './pipeline.ts';
export {
  definePipeline,
  PipelineBuilder,
  PipelineError,
  parseOverride,
  resolvePipeline,
  selectNodes,
  topologicalOrder,
} from './pipeline.ts';
export type { PlanEntry } from './plan.ts';
export { planPipeline } from './plan.ts';
export type { DamagedOutput, LookupOptions, NodeStatus, RunEvent, RunOptions, RunSummary } from './run.ts';
export { emptyRunSummary, lookupCached, runPipeline } from './run.ts';
export {
  comparableRuns,
  describeRunSettings,
  isSmokeScale,
  previousNodeRuns,
  runIdOf,
  runSettings,
} from './run-id.ts';
export type {
  AnyStage,
  ArtifactKind,
  ArtifactKinds,
  InputArtifact,
  InputKind,
  InputKinds,
  InputValue,
  OutputWriter,
  ParamSchema,
  Stage,
  StageContext,
  StageDefinition,
  StageEvent,
  StageReporter,
} from './stage.ts';
export { defineStage, runStage, stageTask } from './stage.ts';
