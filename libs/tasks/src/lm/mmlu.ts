/**
 * The MMLU analogue of the P-lm world (EXPERIMENTS.md, P-lm): 4-option questions over a fixed fact
 * base that the strong base model learns in pretraining; correct when the letter is right.
 *
 * Fact base: 48 entities `e0` … `e47`, each with one value in each of 4 categories (the task's
 * domains, like MMLU's 4 category groups), 10 value words per category. It is the same for every
 * seed (built from a constant seed), because the paper's base models are given: the run's seeds vary
 * the questions, never the facts.
 *
 *   prompt:      e17 color ? A red B blue C green D gold        completion: B
 *   pretraining: e17 color red , city paris .
 *
 * Difficulty is how rarely the entity's facts appear in the pretraining text: entities e0–e15
 * (difficulty 1) are stated 4 times per pass over the fact base, e16–e31 (2) twice, e32–e47 (3)
 * once — so rare facts are the ones a smaller or shorter-trained base has not learned.
 */
import { createRng, type Rng } from '../rng.ts';
import type { CheckResult, LanguageProblem, LanguageTask, ProblemData } from './task.ts';

export const MMLU_CATEGORIES = ['color', 'city', 'animal', 'metal'] as const;
export type MmluCategory = (typeof MMLU_CATEGORIES)[number];

/** Value words per category; no word is shared between categories, core words or passwords. */
export const MMLU_VALUES: Readonly<Record<MmluCategory, readonly string[]>> = {
  color: ['red', 'blue', 'green', 'yellow', 'purple', 'orange', 'pink', 'brown', 'black', 'white'],
  city: ['paris', 'rome', 'tokyo', 'cairo', 'lima', 'oslo', 'delhi', 'berlin', 'madrid', 'sydney'],
  animal: ['cat', 'dog', 'horse', 'tiger', 'eagle', 'shark', 'wolf', 'bear', 'snake', 'frog'],
  metal: ['iron', 'copper', 'silver', 'gold', 'tin', 'zinc', 'lead', 'nickel', 'cobalt', 'platinum'],
};

export const MMLU_ENTITY_COUNT = 48;
export const MMLU_ENTITIES: readonly string[] = Array.from({ length: MMLU_ENTITY_COUNT }, (_, i) => `e${i}`);

/** Difficulty levels, one per block of 16 entities. */
export const MMLU_DIFFICULTIES = 3;
/** How often an entity's facts are stated per pass over the fact base, by difficulty 1, 2, 3. */
export const MMLU_PRETRAINING_REPEATS: readonly number[] = [4, 2, 1];

export const OPTION_LETTERS = ['A', 'B', 'C', 'D'] as const;

/** Difficulty (1 … 3) of an entity index: the block of 16 it falls in. */
export function entityDifficulty(entityIndex: number): number {
  return Math.floor((entityIndex * MMLU_DIFFICULTIES) / MMLU_ENTITY_COUNT) + 1;
}

export type MmluFacts = Readonly<Record<string, Readonly<Record<MmluCategory, string>>>>;

const FACTS: MmluFacts = (() => {
  const rng = createRng(0, 'mmlu/facts');
  const facts: Record<string, Record<MmluCategory, string>> = {};
  for (const entity of MMLU_ENTITIES) facts[entity] = {} as Record<MmluCategory, string>;
  for (const category of MMLU_CATEGORIES) {
    // Each value is held by 4 or 5 entities, so no value is a good blind guess.
    const values = MMLU_VALUES[category];
    const slots = rng.shuffle(Array.from({ length: MMLU_ENTITY_COUNT }, (_, i) => values[i % values.length]));
    MMLU_ENTITIES.forEach((entity, i) => {
      facts[entity][category] = slots[i];
    });
  }
  for (const entity of MMLU_ENTITIES) Object.freeze(facts[entity]);
  return Object.freeze(facts);
})();

/** The fixed fact base: entity → category → value (the same object on every call, frozen). */
export function mmluFacts(): MmluFacts {
  return FACTS;
}

/** What a problem carries: the asked fact, the options in order and the right letter. */
export type MmluData = {
  entity: string;
  category: MmluCategory;
  value: string;
  options: string[];
  answer: string;
};

function generate(rng: Rng): LanguageProblem {
  const entityIndex = rng.int(0, MMLU_ENTITY_COUNT);
  const entity = MMLU_ENTITIES[entityIndex];
  const category = rng.pick(MMLU_CATEGORIES);
  const value = FACTS[entity][category];
  const distractors = rng.sampleFrom(
    MMLU_VALUES[category].filter((v) => v !== value),
    OPTION_LETTERS.length - 1,
  );
  const answerIndex = rng.int(0, OPTION_LETTERS.length);
  const options = [...distractors.slice(0, answerIndex), value, ...distractors.slice(answerIndex)];
  const data: MmluData = { entity, category, value, options, answer: OPTION_LETTERS[answerIndex] };
  return {
    domain: category,
    difficulty: entityDifficulty(entityIndex),
    prompt: [entity, category, '?', ...options.flatMap((option, i) => [OPTION_LETTERS[i], option])],
    data,
  };
}

/** The right letter of a problem, or undefined when its data is not an MMLU problem's. */
function answerLetter(data: ProblemData): string | undefined {
  if (data === null || typeof data !== 'object' || Array.isArray(data)) return undefined;
  const answer = data.answer;
  return typeof answer === 'string' ? answer : undefined;
}

function reference(problem: LanguageProblem): string[] {
  const answer = answerLetter(problem.data);
  if (answer === undefined) throw new Error('mmlu: problem data has no answer letter');
  return [answer];
}

/** Exactly one word, the right letter: anything more is not an answer a grader would accept. */
function check(problem: LanguageProblem, completion: readonly string[]): CheckResult {
  const answer = answerLetter(problem.data);
  const correct = answer !== undefined && completion.length === 1 && completion[0] === answer;
  return { correct, score: correct ? 1 : 0 };
}

/** One fact: `color red`. */
const factWords = (entity: string, category: MmluCategory) => [category, FACTS[entity][category]];

/**
 * Rows stating the facts. Each pass lists every entity MMLU_PRETRAINING_REPEATS[difficulty − 1]
 * times in random order; each listing states all 4 of its facts once, in random order, split into
 * 1–4 rows (`e17 color red , city paris .`), so every fact appears in every pass and facts are seen
 * both alone and next to the entity's other facts. A pass is ~280 rows.
 */
function pretrainingText(rng: Rng, rows: number): string[][] {
  const out: string[][] = [];
  while (out.length < rows) {
    const listings = rng.shuffle(
      MMLU_ENTITIES.flatMap((entity, i) =>
        Array<string>(MMLU_PRETRAINING_REPEATS[entityDifficulty(i) - 1]).fill(entity),
      ),
    );
    for (const entity of listings) {
      const categories = rng.shuffle([...MMLU_CATEGORIES]);
      let row = [entity, ...factWords(entity, categories[0])];
      for (let i = 1; i < categories.length; i++) {
        // Cut between two facts with probability 1/2: all 8 splits of the 4 facts are equally likely.
        if (rng.bernoulli(0.5)) {
          out.push([...row, '.']);
          row = [entity, ...factWords(entity, categories[i])];
        } else {
          row.push(',', ...factWords(entity, categories[i]));
        }
      }
      out.push([...row, '.']);
    }
  }
  return out.slice(0, rows);
}

export const mmluTask: LanguageTask = {
  name: 'mmlu',
  paperTask: 'MMLU',
  kind: 'classification',
  domains: MMLU_CATEGORIES,
  difficulties: MMLU_DIFFICULTIES,
  words: [...MMLU_ENTITIES, ...MMLU_CATEGORIES, ...MMLU_CATEGORIES.flatMap((c) => MMLU_VALUES[c])],
  // Questions are 11 words; 12 lets a pretraining row state all 4 facts of an entity (13 words).
  maxPromptWords: 12,
  maxCompletionWords: 1,
  generate,
  reference,
  check,
  pretrainingText,
};
