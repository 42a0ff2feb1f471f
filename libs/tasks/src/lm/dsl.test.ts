import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import { DSL_WORDS, parseProgram, programWords, type RunResult, runProgram } from './dsl.ts';

const w = (text: string) => (text === '' ? [] : text.split(' '));
const run = (program: string, input: number[], limits?: { maxSteps: number; maxOutput: number }) =>
  runProgram(w(program), input, limits);
const output = (program: string, input: number[]) => {
  const result = run(program, input);
  if (!result.ok) throw new Error(`${program}: ${result.error}`);
  return result.output;
};
const failure = (result: RunResult) => (result.ok ? '' : result.error);

describe('primitives', () => {
  it('maps elementwise', () => {
    expect(output('map + 3', [1, 2, 0])).toEqual([4, 5, 3]);
    expect(output('map - 2', [5, 2, 9])).toEqual([3, 0, 7]);
    expect(output('map * 3', [1, 0, 7])).toEqual([3, 0, 21]);
    expect(output('map + 0', [4])).toEqual([4]);
  });

  it('filters by parity', () => {
    expect(output('filter even', [3, 4, 0, 7, 8])).toEqual([4, 0, 8]);
    expect(output('filter odd', [3, 4, 0, 7, 8])).toEqual([3, 7]);
    expect(output('filter odd', [2, 4])).toEqual([]);
  });

  it('takes and drops', () => {
    expect(output('take 2', [5, 6, 7])).toEqual([5, 6]);
    expect(output('take 9', [5, 6])).toEqual([5, 6]);
    expect(output('take 0', [5, 6])).toEqual([]);
    expect(output('drop 1', [5, 6, 7])).toEqual([6, 7]);
    expect(output('drop 5', [5, 6, 7])).toEqual([]);
  });

  it('reverses, sorts, rotates and duplicates', () => {
    expect(output('reverse', [1, 2, 3])).toEqual([3, 2, 1]);
    expect(output('sort', [30, 2, 11, 2])).toEqual([2, 2, 11, 30]);
    expect(output('rotate 1', [1, 2, 3, 4])).toEqual([2, 3, 4, 1]);
    expect(output('rotate 3', [1, 2, 3, 4])).toEqual([4, 1, 2, 3]);
    expect(output('rotate 5', [1, 2, 3])).toEqual([3, 1, 2]);
    expect(output('rotate 2', [])).toEqual([]);
    expect(output('dup', [1, 2])).toEqual([1, 2, 1, 2]);
  });

  it('pipes stages left to right and repeats a body', () => {
    expect(output('reverse | map + 3 | take 2', [3, 1, 2])).toEqual([5, 4]);
    expect(output('repeat 3 ( map * 2 )', [1, 5])).toEqual([8, 40]);
    expect(output('repeat 2 ( drop 1 | reverse )', [1, 2, 3, 4])).toEqual([2, 3]);
    expect(output('repeat 0 ( map + 1 )', [1])).toEqual([1]);
    expect(output('repeat 2 ( repeat 2 ( map + 1 ) ) | sort', [4, 0])).toEqual([4, 8]);
  });

  it('counts primitive applications and loop iterations as steps', () => {
    const result = run('repeat 3 ( map + 1 | reverse ) | sort', [1, 2]);
    expect(result).toEqual({ ok: true, output: [4, 5], steps: 3 + 3 * 2 + 1 });
  });

  it('leaves the input list untouched', () => {
    const input = [3, 1, 2];
    output('sort | reverse', input);
    expect(input).toEqual([3, 1, 2]);
  });
});

describe('limits', () => {
  it('stops nested loops at the step limit instead of hanging', () => {
    const result = run('repeat 9 ( repeat 9 ( repeat 9 ( map + 0 ) ) )', [1, 2], {
      maxSteps: 100,
      maxOutput: 64,
    });
    expect(result.ok).toBe(false);
    expect(failure(result)).toMatch(/step limit/);
    const huge = run('repeat 99 ( repeat 99 ( repeat 99 ( repeat 99 ( reverse ) ) ) )', [1]);
    expect(failure(huge)).toMatch(/step limit/);
  });

  it('allows a run of exactly maxSteps steps', () => {
    expect(run('repeat 2 ( reverse )', [1, 2], { maxSteps: 4, maxOutput: 8 }).ok).toBe(true);
    expect(run('repeat 2 ( reverse )', [1, 2], { maxSteps: 3, maxOutput: 8 }).ok).toBe(false);
  });

  it('stops runaway lists as soon as one exceeds maxOutput', () => {
    const result = run('repeat 60 ( dup )', [1, 2, 3], { maxSteps: 1000, maxOutput: 64 });
    expect(failure(result)).toMatch(/exceeds 64/);
    expect(run('dup | dup | dup | dup', [1, 2, 3, 4], { maxSteps: 100, maxOutput: 64 }).ok).toBe(true);
    expect(failure(run('dup', [1, 2, 3], { maxSteps: 100, maxOutput: 5 }))).toMatch(/exceeds 5/);
  });

  it('rejects values outside 0..99, also midway', () => {
    expect(failure(run('map - 3', [5, 2]))).toMatch(/outside/);
    expect(failure(run('map * 9', [12]))).toMatch(/outside/);
    expect(failure(run('map + 50 | map - 60', [60]))).toMatch(/outside/);
    expect(run('map + 50 | map - 60', [10]).ok).toBe(true);
    expect(failure(run('reverse', [100]))).toMatch(/outside/);
    expect(run('reverse', [1.5]).ok).toBe(false);
  });
});

describe('malformed programs', () => {
  const malformed = [
    '',
    '( (',
    ')',
    'frobnicate',
    'map',
    'map +',
    'map + 999',
    'map + -1',
    'map + 07',
    'map / 2',
    'map + x',
    'take',
    'rotate even',
    'filter',
    'filter 2',
    'reverse reverse',
    'reverse |',
    '| reverse',
    'reverse | | sort',
    'repeat 2 reverse',
    'repeat 2 ( reverse',
    'repeat 2 ( )',
    'repeat ( reverse )',
    'repeat 2 ( reverse ) )',
    'sort ) (',
    'in 1 2 out 2 1',
    'map + 3 <eos>',
  ];

  it.each(malformed)('"%s" fails to parse and to run, without throwing', (program) => {
    const parsed = parseProgram(w(program));
    expect(parsed.ok).toBe(false);
    const result = run(program, [1, 2]);
    expect(result.ok).toBe(false);
    expect(failure(result).length).toBeGreaterThan(0);
  });

  it('bounds nesting depth', () => {
    const deep = [...Array.from({ length: 5000 }, () => ['repeat', '1', '(']).flat(), 'reverse'];
    const closed = [...deep, ...Array.from({ length: 5000 }, () => ')')];
    expect(failure(runProgram(closed, [1, 2]))).toMatch(/nested/);
  });
});

describe('programWords', () => {
  it('writes back what parseProgram read', () => {
    for (const text of ['map * 2 | repeat 2 ( drop 1 | reverse ) | filter odd', 'sort', 'rotate 0 | dup']) {
      const parsed = parseProgram(w(text));
      expect(parsed.ok).toBe(true);
      if (parsed.ok) expect(programWords(parsed.program).join(' ')).toBe(text);
    }
  });
});

/** A syntactically valid random program: nested repeats, any constants 0..99. */
function randomProgram(rng: ReturnType<typeof createRng>, depth = 0): string[] {
  const stages = Array.from({ length: rng.int(1, 4) }, () => {
    const k = String(rng.bernoulli(0.7) ? rng.int(0, 6) : rng.int(0, 100));
    switch (rng.int(0, depth < 3 ? 9 : 8)) {
      case 0:
        return ['map', rng.pick(['+', '-', '*']), k];
      case 1:
        return ['filter', rng.pick(['even', 'odd'])];
      case 2:
        return [rng.pick(['take', 'drop', 'rotate']), k];
      case 3:
      case 4:
        return [rng.pick(['reverse', 'sort'])];
      case 5:
      case 6:
      case 7:
        return ['dup'];
      default:
        return ['repeat', k, '(', ...randomProgram(rng, depth + 1), ')'];
    }
  });
  return stages.flatMap((stage, i) => (i === 0 ? stage : ['|', ...stage]));
}

describe('fuzz', () => {
  it('never throws on 5,000 random word lists', () => {
    const rng = createRng(7, 'dsl-fuzz');
    const pool = [
      ...DSL_WORDS,
      '+',
      '-',
      '*',
      '(',
      ')',
      '0',
      '1',
      '2',
      '3',
      '9',
      '99',
      '100',
      '999',
      'x',
      '',
      ';',
    ];
    const outcomes = { ok: 0, steps: 0, long: 0, other: 0 };
    for (let i = 0; i < 5000; i++) {
      // A third word soup, a third valid programs, a third valid programs with a few words mutated.
      const kind = i % 3;
      const words =
        kind === 0 ? Array.from({ length: rng.int(0, 25) }, () => rng.pick(pool)) : randomProgram(rng);
      if (kind === 2)
        for (let m = rng.int(1, 4); m > 0; m--) {
          const at = rng.int(0, words.length + 1);
          if (rng.bernoulli(0.5)) words.splice(at, 1);
          else words.splice(at, 0, rng.pick(pool));
        }
      const input = Array.from({ length: rng.int(0, 6) }, () => rng.int(0, 100));
      let result: RunResult | undefined;
      expect(() => {
        result = runProgram(words, input, { maxSteps: 50, maxOutput: 16 });
      }).not.toThrow();
      if (!result) throw new Error('no result');
      if (result.ok) {
        outcomes.ok++;
        expect(result.output.length).toBeLessThanOrEqual(16);
        expect(result.output.every((x) => Number.isInteger(x) && x >= 0 && x <= 99)).toBe(true);
        expect(result.steps).toBeLessThanOrEqual(50);
      } else if (/step limit/.test(result.error)) outcomes.steps++;
      else if (/exceeds 16/.test(result.error)) outcomes.long++;
      else outcomes.other++;
    }
    // Every way to end is exercised, not only parse errors.
    expect(outcomes.ok).toBeGreaterThan(500);
    expect(outcomes.steps).toBeGreaterThan(20);
    expect(outcomes.long).toBeGreaterThan(50);
    expect(outcomes.other).toBeGreaterThan(1000);
  });
});
