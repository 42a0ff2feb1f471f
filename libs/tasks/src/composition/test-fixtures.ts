/** Test fixtures (not exported from the package). */
import type { DigitFunction } from './functions.ts';

/**
 * 32 hand-made functions: fn0 reverses (locked), fn1 adds 1 mod 10 (locked), fn20 maps d to 9 − d,
 * fn21 rotates left; the rest are the identity order.
 */
export function handMadeFunctions(): DigitFunction[] {
  return Array.from({ length: 32 }, (_, index): DigitFunction => {
    const base = { index, name: `fn${index}`, locked: index < 16 };
    if (index === 0) return { ...base, kind: 'reorder', order: [3, 2, 1, 0] };
    if (index === 1) return { ...base, kind: 'relabel', mapping: [1, 2, 3, 4, 5, 6, 7, 8, 9, 0] };
    if (index === 20) return { ...base, kind: 'relabel', mapping: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0] };
    if (index === 21) return { ...base, kind: 'reorder', order: [1, 2, 3, 0] };
    return { ...base, kind: 'reorder', order: [0, 1, 2, 3] };
  });
}
