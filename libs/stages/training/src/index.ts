export { compositionInit } from './composition-init.ts';
export { compositionSft } from './composition-sft.ts';
export { languageFewShotPretrain } from './language-few-shot-pretrain.ts';
export { languagePretrain } from './language-pretrain.ts';
export { languageSft } from './language-sft.ts';
