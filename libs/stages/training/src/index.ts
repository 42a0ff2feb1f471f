export { compositionInit } from './composition-init.ts';
export { compositionSft } from './composition-sft.ts';
