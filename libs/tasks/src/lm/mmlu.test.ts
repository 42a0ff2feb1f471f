import { describe, expect, it } from 'vitest';
import { createRng } from '../rng.ts';
import {
  ENTITY_WORD,
  entityDifficulty,
  entityWords,
  MMLU_CATEGORIES,
  MMLU_ENTITIES,
  MMLU_VALUES,
  type MmluCategory,
  type MmluData,
  mmluFacts,
  mmluTask,
  OPTION_LETTERS,
} from './mmlu.ts';
import { distinctProblems } from './splits.ts';
import type { LanguageProblem, ProblemData } from './task.ts';
import { CORE_WORDS, Vocabulary } from './vocabulary.ts';

const vocab = new Vocabulary([...CORE_WORDS, ...mmluTask.words]);
const problems = (seed: number, count: number): LanguageProblem[] => {
  const rng = createRng(seed, 'mmlu-test');
  return Array.from({ length: count }, () => mmluTask.generate(rng));
};
const sample = problems(1, 2000);
const dataOf = (p: LanguageProblem) => p.data as MmluData;
const withAnswer = (answer: string): LanguageProblem => ({
  ...sample[0],
  data: { ...dataOf(sample[0]), answer },
});

describe('mmlu fact base', () => {
  it('is fixed: the same object with the same facts on every call', () => {
    expect(mmluFacts()).toBe(mmluFacts());
    expect(JSON.parse(JSON.stringify(mmluFacts()))).toEqual(mmluFacts());
    expect(Object.isFrozen(mmluFacts())).toBe(true);
  });

  it('gives each entity one value of each category', () => {
    const facts = mmluFacts();
    expect(Object.keys(facts)).toEqual([...MMLU_ENTITIES]);
    for (const entity of MMLU_ENTITIES) {
      expect(Object.keys(facts[entity]).sort()).toEqual([...MMLU_CATEGORIES].sort());
      for (const category of MMLU_CATEGORIES)
        expect(MMLU_VALUES[category]).toContain(facts[entity][category]);
    }
  });

  it('uses every value of a category 50 times', () => {
    for (const category of MMLU_CATEGORIES) {
      const counts = new Map<string, number>();
      for (const entity of MMLU_ENTITIES) {
        const value = mmluFacts()[entity][category];
        counts.set(value, (counts.get(value) ?? 0) + 1);
      }
      expect(counts.size).toBe(MMLU_VALUES[category].length);
      for (const n of counts.values()) expect(n).toBe(50);
    }
  });

  it('keeps the value words of different categories apart and out of the core words', () => {
    const values = MMLU_CATEGORIES.flatMap((c) => MMLU_VALUES[c]);
    expect(new Set(values).size).toBe(values.length);
    for (const word of mmluTask.words) expect(CORE_WORDS).not.toContain(word);
    expect(new Set(mmluTask.words).size).toBe(mmluTask.words.length);
    expect(mmluTask.words.length).toBeLessThanOrEqual(110);
  });
});

describe('mmlu problems', () => {
  it('are seeded: the same seed gives the same problems, another seed others', () => {
    expect(problems(1, 50)).toEqual(problems(1, 50));
    const other = problems(2, 50).map((p) => p.prompt.join(' '));
    const same = problems(1, 50).filter((p, i) => p.prompt.join(' ') === other[i]).length;
    expect(same).toBeLessThan(5);
  });

  it('cover every domain and difficulty', () => {
    expect(new Set(sample.map((p) => p.domain))).toEqual(new Set(mmluTask.domains));
    expect(new Set(sample.map((p) => p.difficulty))).toEqual(new Set([1, 2, 3]));
  });

  it("offer the asked category's 4 values in their fixed order, the true one among them", () => {
    for (const p of sample) {
      const data = dataOf(p);
      const category = p.domain as MmluCategory;
      expect(data.category).toBe(category);
      expect(data.value).toBe(mmluFacts()[data.entity][category]);
      expect(data.options).toEqual(MMLU_VALUES[category]);
      expect(data.options[OPTION_LETTERS.indexOf(data.answer as 'A')]).toBe(data.value);
      expect(p.prompt.slice(15)).toEqual([
        ...entityWords(data.entity),
        category,
        '?',
        ...data.options.flatMap((option, i) => [OPTION_LETTERS[i], option]),
      ]);
      // The 1-shot example before it: another entity's question, answered correctly.
      const shotEntity = `${p.prompt[1]} ${p.prompt[2]}`;
      const shotCategory = p.prompt[3] as MmluCategory;
      expect(shotEntity).not.toBe(data.entity);
      const shotLetter =
        OPTION_LETTERS[MMLU_VALUES[shotCategory].indexOf(mmluFacts()[shotEntity][shotCategory])];
      expect(p.prompt.slice(13, 15)).toEqual([shotLetter, ';']);
    }
  });

  it('put the right answer at each letter 15–35% of the time', () => {
    for (const letter of OPTION_LETTERS) {
      const share = sample.filter((p) => dataOf(p).answer === letter).length / sample.length;
      expect(share).toBeGreaterThan(0.15);
      expect(share).toBeLessThan(0.35);
    }
  });

  it('fit the word limits and the vocabulary, and their references check correct', () => {
    for (const p of sample) {
      const ref = mmluTask.reference(p);
      expect(p.prompt.length).toBeLessThanOrEqual(mmluTask.maxPromptWords);
      expect(ref.length).toBeLessThanOrEqual(mmluTask.maxCompletionWords);
      expect(() => vocab.encode([...p.prompt, ...ref])).not.toThrow();
      expect(mmluTask.check(p, ref)).toEqual({ correct: true, score: 1 });
    }
  });

  it('can make 20,000 distinct prompts', () => {
    expect(distinctProblems(mmluTask, 1, 'test', 20000)).toHaveLength(20000);
  });
});

describe('mmlu checker', () => {
  const p = sample[0];
  const right = dataOf(p).answer;
  const wrong = OPTION_LETTERS.find((l) => l !== right) ?? 'A';

  it.each([
    ['the right letter', [right], true],
    ['a wrong letter', [wrong], false],
    ['nothing', [], false],
    ['the value instead of the letter', [dataOf(p).value], false],
    ['garbage', ['<unk:999>', '', ' '], false],
    ['two letters', ['A', 'B'], false],
    ['the right letter and more', [right, '.'], false],
    ['a lowercase letter', [right.toLowerCase()], false],
  ])('grades %s', (_, completion, correct) => {
    expect(mmluTask.check(p, completion)).toEqual({ correct, score: correct ? 1 : 0 });
  });

  it('never throws on data that is not an MMLU problem', () => {
    const notMmlu: ProblemData[] = [null, 3, 'A', ['A'], {}, { answer: 7 }];
    for (const data of notMmlu) {
      expect(mmluTask.check({ ...p, data }, ['A'])).toEqual({ correct: false, score: 0 });
    }
    expect(mmluTask.check(withAnswer('C'), ['C']).correct).toBe(true);
  });
});

describe('mmlu pretraining text', () => {
  const rows = mmluTask.pretrainingText?.(createRng(1, 'mmlu-pretraining'), 5000) ?? [];
  const limit = mmluTask.maxPromptWords + mmluTask.maxCompletionWords;

  it('gives the rows asked, each within the limit and the vocabulary', () => {
    expect(rows).toHaveLength(5000);
    for (const row of rows) {
      expect(row.length).toBeGreaterThan(0);
      expect(row.length).toBeLessThanOrEqual(limit);
      expect(() => vocab.encode(row)).not.toThrow();
    }
  });

  it('states only true facts and every fact, rare entities less often', () => {
    const seen = new Map<string, number>();
    for (const row of rows) {
      expect(row[0]).toBe(ENTITY_WORD);
      const entity = `${row[1]} ${row[2]}`;
      expect(MMLU_ENTITIES).toContain(entity);
      expect(row.at(-1)).toBe('.');
      // `item a b category value (, category value)* .`
      for (let i = 3; i < row.length - 1; i += 3) {
        const category = row[i] as MmluCategory;
        expect(row[i + 1]).toBe(mmluFacts()[entity][category]);
        expect(row[i + 2]).toBe(i + 3 < row.length ? ',' : '.');
        const key = `${entity} ${category}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
      }
    }
    expect(seen.size).toBe(MMLU_ENTITIES.length * MMLU_CATEGORIES.length);
    // Entities of difficulty 1 are stated 4 times a pass, those of difficulty 3 once.
    const stated = (difficulty: number) =>
      MMLU_ENTITIES.reduce(
        (sum, e, i) => sum + (entityDifficulty(i) === difficulty ? (seen.get(`${e} color`) ?? 0) : 0),
        0,
      );
    expect(stated(1)).toBeGreaterThan(3 * stated(3));
  });

  it('is seeded and gives exactly the rows asked', () => {
    const again = mmluTask.pretrainingText?.(createRng(1, 'mmlu-pretraining'), 5000);
    expect(again).toEqual(rows);
    expect(mmluTask.pretrainingText?.(createRng(1, 'x'), 0)).toEqual([]);
    expect(mmluTask.pretrainingText?.(createRng(1, 'x'), 7)).toHaveLength(7);
  });
});
