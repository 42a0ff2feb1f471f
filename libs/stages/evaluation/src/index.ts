export { compositionPolicyScore } from './composition-policy.ts';
