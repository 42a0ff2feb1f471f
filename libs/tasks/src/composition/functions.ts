/**
 * The 32 functions of the function-composition task (paper §7): 16 reorderings of the 4 digit
 * positions and 16 relabellings of the digits 0–9, shuffled by seed; fn0…fn15 are locked.
 */
import { createRng } from '../rng.ts';

export const COMPOSITION_FUNCTION_COUNT = 32;
export const COMPOSITION_LOCKED_COUNT = 16;
/** Digits in a sequence the functions act on. */
export const COMPOSITION_DIGITS = 4;

export type CompositionPolicy = 'strong' | 'weak';

interface FunctionBase {
  /** k in fnk. */
  index: number;
  name: string;
  /** fn0…fn15 are locked: the weak policy treats them as the identity. */
  locked: boolean;
}

/** output[i] = input[order[i]]. */
export interface ReorderFunction extends FunctionBase {
  kind: 'reorder';
  order: readonly number[];
}

/** output[i] = mapping[input[i]]; mapping is a permutation of 0–9. */
export interface RelabelFunction extends FunctionBase {
  kind: 'relabel';
  mapping: readonly number[];
}

export type DigitFunction = ReorderFunction | RelabelFunction;

/** All 24 orders of 4 positions, in lexicographic order. */
function allOrders(): number[][] {
  const orders: number[][] = [];
  const extend = (prefix: number[]) => {
    if (prefix.length === COMPOSITION_DIGITS) {
      orders.push(prefix);
      return;
    }
    for (let p = 0; p < COMPOSITION_DIGITS; p++) if (!prefix.includes(p)) extend([...prefix, p]);
  };
  extend([]);
  return orders;
}

/**
 * The 32 functions for a seed, indexed by k (functions[k] is fnk). Reorderings are 16 distinct
 * draws from all 24 orders (the identity order may be among them, as in the paper); relabellings
 * are 16 distinct random permutations of 0–9.
 */
export function generateFunctions(seed: number): readonly DigitFunction[] {
  const rng = createRng(seed, 'composition', 'functions');
  const orders = rng.sampleFrom(allOrders(), 16);
  const mappings: number[][] = [];
  const seen = new Set<string>();
  while (mappings.length < 16) {
    const mapping = rng.shuffle([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const key = mapping.join('');
    if (seen.has(key)) continue;
    seen.add(key);
    mappings.push(mapping);
  }
  const specs: Array<{ kind: 'reorder'; order: number[] } | { kind: 'relabel'; mapping: number[] }> = [
    ...orders.map((order) => ({ kind: 'reorder' as const, order })),
    ...mappings.map((mapping) => ({ kind: 'relabel' as const, mapping })),
  ];
  rng.shuffle(specs);
  return specs.map((spec, index): DigitFunction => {
    const base = { index, name: `fn${index}`, locked: index < COMPOSITION_LOCKED_COUNT };
    return spec.kind === 'reorder'
      ? { ...base, kind: 'reorder', order: spec.order }
      : { ...base, kind: 'relabel', mapping: spec.mapping };
  });
}

/** One function applied to 4 digits. */
export function applyFunction(fn: DigitFunction, digits: ArrayLike<number>): number[] {
  if (digits.length !== COMPOSITION_DIGITS)
    throw new Error(`applyFunction: expected ${COMPOSITION_DIGITS} digits, got ${digits.length}`);
  if (fn.kind === 'reorder') return fn.order.map((p) => digits[p]);
  return Array.from(digits, (d) => fn.mapping[d]);
}

/** How a policy applies a function: the weak policy acts as the identity on locked functions. */
export function applyWithPolicy(
  fn: DigitFunction,
  digits: ArrayLike<number>,
  policy: CompositionPolicy,
): number[] {
  return policy === 'weak' && fn.locked ? Array.from(digits) : applyFunction(fn, digits);
}

/** The two intermediate results a datapoint shows: after fnA, then after fnB. */
export function composeWithPolicy(
  functions: readonly DigitFunction[],
  fnA: number,
  fnB: number,
  digits: ArrayLike<number>,
  policy: CompositionPolicy,
): { afterFirst: number[]; afterSecond: number[] } {
  const afterFirst = applyWithPolicy(functionAt(functions, fnA), digits, policy);
  const afterSecond = applyWithPolicy(functionAt(functions, fnB), afterFirst, policy);
  return { afterFirst, afterSecond };
}

function functionAt(functions: readonly DigitFunction[], k: number): DigitFunction {
  const fn = functions[k];
  if (!fn) throw new Error(`composition: no function fn${k} (there are ${functions.length})`);
  return fn;
}
