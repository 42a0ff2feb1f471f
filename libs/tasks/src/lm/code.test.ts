import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import { CODE_DOMAINS, codeTask } from './code.ts';
import { DSL_WORDS, runProgram } from './dsl.ts';
import { distinctProblems } from './splits.ts';
import type { LanguageProblem } from './task.ts';
import { CORE_WORDS, Vocabulary } from './vocabulary.ts';

const w = (text: string) => (text === '' ? [] : text.split(' '));
const correct = (problem: LanguageProblem, program: string) => codeTask.check(problem, w(program)).correct;

type Example = { input: number[]; output: number[] };
const examplesOf = (problem: LanguageProblem) =>
  problem.data as unknown as { visible: Example[]; hidden: Example[] };

/** A hand-made problem: the visible examples as the prompt, `program` as the reference. */
function handMade(program: string, visibleInputs: number[][], hiddenInputs: number[][]): LanguageProblem {
  const example = (input: number[]): Example => {
    const run = runProgram(w(program), input);
    if (!run.ok) throw new Error(run.error);
    return { input, output: run.output };
  };
  const visible = visibleInputs.map(example);
  const prompt = visible.flatMap((ex, i) => [
    ...(i > 0 ? [';'] : []),
    'in',
    ...ex.input.map(String),
    'out',
    ...ex.output.map(String),
  ]);
  return {
    domain: 'arrange',
    difficulty: 1,
    prompt,
    data: { program: w(program), visible, hidden: hiddenInputs.map(example) },
  };
}

const FIRST_WORD_DOMAIN: Record<string, string> = {
  map: 'map',
  repeat: 'map',
  reverse: 'arrange',
  sort: 'arrange',
  rotate: 'arrange',
  dup: 'arrange',
  filter: 'select',
  take: 'select',
  drop: 'select',
};

/** Stages of a program: the `|` outside parentheses, plus one. */
function stageCount(program: readonly string[]): number {
  let depth = 0;
  let stages = 1;
  for (const word of program) {
    if (word === '(') depth++;
    else if (word === ')') depth--;
    else if (word === '|' && depth === 0) stages++;
  }
  return stages;
}

describe('codeTask', () => {
  it('describes itself', () => {
    expect(codeTask.name).toBe('code');
    expect(codeTask.paperTask).toBe('code');
    expect(codeTask.kind).toBe('generation');
    expect(codeTask.domains).toEqual(CODE_DOMAINS);
    expect(codeTask.difficulties).toBe(3);
    expect(codeTask.maxPromptWords).toBeLessThanOrEqual(32);
    expect(codeTask.maxCompletionWords).toBeLessThanOrEqual(10);
    for (const word of DSL_WORDS) expect(codeTask.words).toContain(word);
  });

  it('is seeded: the same seed gives the same problems, another seed others', () => {
    const draw = (seed: number) => {
      const rng = createRng(seed, 'code-test');
      return Array.from({ length: 50 }, () => codeTask.generate(rng));
    };
    expect(draw(3)).toEqual(draw(3));
    expect(draw(3)).not.toEqual(draw(4));
  });

  describe('2,000 generated problems', () => {
    const rng = createRng(11, 'code-test');
    const problems = Array.from({ length: 2000 }, () => codeTask.generate(rng));

    it('cover every domain and difficulty, and every pair of them', () => {
      const seen = new Set(problems.map((p) => `${p.domain}/${p.difficulty}`));
      for (const domain of CODE_DOMAINS)
        for (let d = 1; d <= 3; d++) expect(seen).toContain(`${domain}/${d}`);
    });

    it('draw one-stage problems most often (16 : 1 : 1), so a small model can reach the levels', () => {
      const share = (d: number) => problems.filter((p) => p.difficulty === d).length / problems.length;
      expect(share(1)).toBeGreaterThan(0.86);
      expect(share(1)).toBeLessThan(0.92);
      expect(share(2)).toBeGreaterThan(0.04);
      expect(share(2)).toBeLessThan(0.075);
      expect(share(3)).toBeGreaterThan(0.04);
      expect(share(3)).toBeLessThan(0.075);
    });

    it('fit the word limits and the shared vocabulary', () => {
      const vocab = new Vocabulary([...CORE_WORDS, ...codeTask.words]);
      for (const problem of problems) {
        const reference = codeTask.reference(problem);
        expect(problem.prompt.length).toBeLessThanOrEqual(codeTask.maxPromptWords);
        expect(reference.length).toBeLessThanOrEqual(codeTask.maxCompletionWords);
        expect(() => vocab.encode(problem.prompt)).not.toThrow();
        expect(() => vocab.encode(reference)).not.toThrow();
      }
    });

    it('have references that check correct, with difficulty = stages and domain = first stage', () => {
      for (const problem of problems) {
        const reference = codeTask.reference(problem);
        expect(codeTask.check(problem, reference)).toEqual({ correct: true, score: 1 });
        expect(stageCount(reference)).toBe(problem.difficulty);
        expect(FIRST_WORD_DOMAIN[reference[0]]).toBe(problem.domain);
      }
    });

    it('show two informative examples and hide 3–4 more', () => {
      for (const problem of problems) {
        const { visible, hidden } = examplesOf(problem);
        expect(visible.length).toBe(2);
        expect(hidden.length).toBeGreaterThanOrEqual(3);
        expect(hidden.length).toBeLessThanOrEqual(4);
        const prompt = visible.map((ex) => ['in', ...ex.input, 'out', ...ex.output].join(' ')).join(' ; ');
        expect(problem.prompt.join(' ')).toBe(prompt);
        for (const ex of visible) {
          expect(ex.output.length).toBeGreaterThan(0);
          expect(ex.output).not.toEqual(ex.input);
        }
        const inputs = [...visible, ...hidden].map((ex) => ex.input.join(' '));
        expect(new Set(inputs).size).toBe(inputs.length);
        for (const ex of [...visible, ...hidden]) {
          expect(ex.input.length).toBeGreaterThanOrEqual(2);
          expect(ex.input.length).toBeLessThanOrEqual(4);
        }
      }
    });

    it('use the loop in some references', () => {
      expect(problems.some((p) => codeTask.reference(p)[0] === 'repeat')).toBe(true);
    });

    it('fail an empty completion and a no-op', () => {
      for (const problem of problems.slice(0, 200)) {
        expect(codeTask.check(problem, [])).toEqual({ correct: false, score: 0 });
        expect(correct(problem, 'take 99')).toBe(false);
      }
    });
  });

  describe('checking', () => {
    it('accepts any program equivalent to the reference', () => {
      const sortProblem = handMade(
        'sort',
        [
          [3, 1, 2],
          [5, 4],
        ],
        [
          [2, 1, 3],
          [9, 0, 4, 4],
          [7, 8],
        ],
      );
      expect(correct(sortProblem, 'sort')).toBe(true);
      expect(correct(sortProblem, 'sort | sort')).toBe(true);
      expect(correct(sortProblem, 'repeat 3 ( sort ) | rotate 0')).toBe(true);
      const addProblem = handMade(
        'map + 3 | reverse',
        [
          [3, 1, 2],
          [5, 4],
        ],
        [
          [0, 7],
          [9, 9, 1],
        ],
      );
      expect(correct(addProblem, 'reverse | repeat 3 ( map + 1 )')).toBe(true);
      expect(correct(addProblem, 'map + 1 | reverse | map + 2')).toBe(true);
    });

    it('finds equivalent programs correct on generated problems too', () => {
      const rng = createRng(5, 'code-test-equivalent');
      let found = 0;
      for (let i = 0; i < 3000 && found < 20; i++) {
        const problem = codeTask.generate(rng);
        const reference = codeTask.reference(problem);
        if (reference.length !== 3 || reference[0] !== 'map' || reference[1] !== '+') continue;
        const k = Number(reference[2]);
        found++;
        expect(correct(problem, `repeat ${k} ( map + 1 )`)).toBe(true);
        expect(correct(problem, `map + ${k + 1}`)).toBe(false);
      }
      expect(found).toBe(20);
    });

    it('fails wrong programs, also those right only on the visible examples', () => {
      const problem = handMade(
        'sort',
        [
          [3, 1, 2],
          [5, 4],
        ],
        [
          [2, 1, 3],
          [9, 0, 4, 4],
        ],
      );
      expect(correct(problem, 'reverse')).toBe(false);
      // rotate 1 sorts both visible inputs but not the hidden ones.
      expect(runProgram(w('rotate 1'), [3, 1, 2])).toMatchObject({ output: [1, 2, 3] });
      expect(runProgram(w('rotate 1'), [5, 4])).toMatchObject({ output: [4, 5] });
      expect(codeTask.check(problem, w('rotate 1'))).toEqual({ correct: false, score: 0 });
    });

    it('fails malformed, looping and runaway programs with score 0', () => {
      const problem = handMade(
        'dup',
        [
          [3, 1],
          [5, 4, 2],
        ],
        [
          [1, 1],
          [0, 9, 8, 7],
        ],
      );
      expect(correct(problem, 'dup')).toBe(true);
      const bad = [
        '',
        '( (',
        'frobnicate',
        'map +',
        'map + 999',
        'dup | repeat 9 ( repeat 9 ( repeat 9 ( sort ) ) )',
        'repeat 99 ( dup ) | take 4',
        'dup <eos>',
        'repeat 2 ( dup',
      ];
      for (const program of bad)
        expect(codeTask.check(problem, w(program))).toEqual({ correct: false, score: 0 });
    });

    it('never throws on random completions', () => {
      const rng = createRng(9, 'code-test-fuzz');
      const problem = codeTask.generate(rng);
      const pool = [...codeTask.words, ...CORE_WORDS, '', '999', 'x y'];
      for (let i = 0; i < 2000; i++) {
        const completion = Array.from({ length: rng.int(0, 30) }, () => rng.pick(pool));
        const result = codeTask.check(problem, completion);
        expect(result.score).toBe(result.correct ? 1 : 0);
      }
    });
  });

  it('can make at least 20,000 distinct prompts', () => {
    expect(() => distinctProblems(codeTask, 1, 'test', 20000)).not.toThrow();
  }, 120_000);
});
