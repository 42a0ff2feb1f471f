import { describe, expect, it } from 'vitest';
import {
  applyFunction,
  COMPOSITION_LOCKED_COUNT,
  composeWithPolicy,
  generateFunctions,
  type RelabelFunction,
  type ReorderFunction,
} from './functions.ts';
import { handMadeFunctions } from './test-fixtures.ts';

const sorted = (xs: readonly number[]) => [...xs].sort((a, b) => a - b);

describe('generateFunctions', () => {
  it('makes 16 distinct reorderings and 16 distinct digit bijections, fn0…fn15 locked', () => {
    const fns = generateFunctions(0);
    expect(fns.length).toBe(32);
    const reorders = fns.filter((f): f is ReorderFunction => f.kind === 'reorder');
    const relabels = fns.filter((f): f is RelabelFunction => f.kind === 'relabel');
    expect(reorders.length).toBe(16);
    expect(relabels.length).toBe(16);
    for (const f of reorders) expect(sorted(f.order)).toEqual([0, 1, 2, 3]);
    for (const f of relabels) expect(sorted(f.mapping)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(new Set(reorders.map((f) => f.order.join(''))).size).toBe(16);
    expect(new Set(relabels.map((f) => f.mapping.join(''))).size).toBe(16);
    fns.forEach((f, k) => {
      expect(f.index).toBe(k);
      expect(f.name).toBe(`fn${k}`);
      expect(f.locked).toBe(k < COMPOSITION_LOCKED_COUNT);
    });
  });

  it('shuffles the kinds, so the locked set mixes reorderings and relabellings', () => {
    for (const seed of [0, 1, 2]) {
      const locked = generateFunctions(seed).filter((f) => f.locked);
      expect(locked.length).toBe(16);
      const reorders = locked.filter((f) => f.kind === 'reorder').length;
      expect(reorders).toBeGreaterThan(0);
      expect(reorders).toBeLessThan(16);
    }
  });

  it('is stable per seed and differs between seeds', () => {
    expect(generateFunctions(3)).toEqual(generateFunctions(3));
    expect(generateFunctions(3)).not.toEqual(generateFunctions(4));
  });
});

describe('applying functions', () => {
  it('reorders positions and relabels digits', () => {
    const fns = handMadeFunctions();
    expect(applyFunction(fns[0], [1, 6, 1, 8])).toEqual([8, 1, 6, 1]);
    expect(applyFunction(fns[21], [1, 6, 1, 8])).toEqual([6, 1, 8, 1]);
    expect(applyFunction(fns[1], [1, 6, 1, 9])).toEqual([2, 7, 2, 0]);
    expect(() => applyFunction(fns[0], [1, 2, 3])).toThrow();
  });

  it('composes correctly under the strong policy', () => {
    const fns = handMadeFunctions();
    expect(composeWithPolicy(fns, 0, 20, [1, 6, 1, 8], 'strong')).toEqual({
      afterFirst: [8, 1, 6, 1],
      afterSecond: [1, 8, 3, 8],
    });
    expect(composeWithPolicy(fns, 1, 0, [1, 6, 1, 8], 'strong')).toEqual({
      afterFirst: [2, 7, 2, 9],
      afterSecond: [9, 2, 7, 2],
    });
  });

  it('makes locked functions the identity under the weak policy, unlocked ones still right', () => {
    const fns = handMadeFunctions();
    expect(composeWithPolicy(fns, 0, 20, [1, 6, 1, 8], 'weak')).toEqual({
      afterFirst: [1, 6, 1, 8],
      afterSecond: [8, 3, 8, 1],
    });
    expect(composeWithPolicy(fns, 21, 0, [1, 6, 1, 8], 'weak')).toEqual({
      afterFirst: [6, 1, 8, 1],
      afterSecond: [6, 1, 8, 1],
    });
    expect(composeWithPolicy(fns, 21, 20, [1, 6, 1, 8], 'weak')).toEqual(
      composeWithPolicy(fns, 21, 20, [1, 6, 1, 8], 'strong'),
    );
    // On generated functions: weak == identity for every locked function, == strong for the rest.
    const generated = generateFunctions(5);
    const x = [3, 1, 4, 1];
    for (let a = 0; a < 32; a++) {
      const b = (a + 1) % 32;
      const weak = composeWithPolicy(generated, a, b, x, 'weak');
      const afterA = generated[a].locked ? x : applyFunction(generated[a], x);
      expect(weak.afterFirst).toEqual(afterA);
      expect(weak.afterSecond).toEqual(generated[b].locked ? afterA : applyFunction(generated[b], afterA));
    }
  });
});
