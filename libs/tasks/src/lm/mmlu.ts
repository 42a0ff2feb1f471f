/**
 * The MMLU analogue of the P-lm world (EXPERIMENTS.md, P-lm): 4-option questions over a fixed fact
 * base that the strong base model learns in pretraining; correct when the letter is right.
 *
 * Fact base: 200 entities named by two numbers (`item 17 42`), each with one value in each of 4
 * categories (the task's domains, like MMLU's 4 category groups), 4 value words per category, each
 * held by 50 entities.
 * It is the same for every seed (built from a constant seed), because the paper's base models are
 * given: the run's seeds vary the questions, never the facts.
 *
 *   prompt:      item 5 9 city ? A paris B rome C tokyo D cairo C ; item 17 42 color ? A red B blue
 *                C green D yellow                                      completion: B
 *   pretraining: item 17 42 color blue , city paris .
 *
 * The options are a category's 4 values in a fixed order, so a value always has the same letter.
 * With shuffled options (MMLU's), our 185k-weight models never left chance: binding a recalled
 * value to the letter in front of its option is a two-hop circuit they did not find in 1,500 steps
 * of a probe (`scripts/probe-language-task.ts`), even with extra option-matching exercises. What is
 * kept: a one-token, 4-way answer that only knowledge from pretraining gets right (chance 0.25).
 *
 * Difficulty is how rarely the entity's facts appear in the pretraining text: the first third of
 * the entities (difficulty 1) are stated 4 times per pass over the fact base, the next third (2)
 * twice, the last third (3)
 * once — so rare facts are the ones a smaller or shorter-trained base has not learned.
 */
import { createRng, type Rng } from '../rng.ts';
import type { CheckResult, LanguageProblem, LanguageTask, ProblemData } from './task.ts';

export const MMLU_CATEGORIES = ['color', 'city', 'animal', 'metal'] as const;
export type MmluCategory = (typeof MMLU_CATEGORIES)[number];

/**
 * Value words per category, in the order the options list them (A, B, C, D); no word is shared
 * between categories, core words or passwords.
 */
export const MMLU_VALUES: Readonly<Record<MmluCategory, readonly string[]>> = {
  color: ['red', 'blue', 'green', 'yellow'],
  city: ['paris', 'rome', 'tokyo', 'cairo'],
  animal: ['cat', 'dog', 'horse', 'tiger'],
  metal: ['iron', 'copper', 'silver', 'gold'],
};

/**
 * 200 entities × 4 categories = 800 facts: enough that how often a fact was seen in pretraining,
 * and the model's size, decide whether it is known. Probed (`scripts/probe-language-task.ts`):
 * with 48 entities a 1-layer, width-32 model learned all 192 facts in 450 steps, so no base was
 * weak; with 600 the strong model was still at chance after 1,200 steps, beyond our budget.
 */
export const MMLU_ENTITY_COUNT = 200;
/** The word in front of an entity's name, which is two number words: `item 17 42`. */
export const ENTITY_WORD = 'item';
/** Entity names (`17 42`): distinct pairs of numbers 0–99, fixed like the facts. */
export const MMLU_ENTITIES: readonly string[] = (() => {
  const rng = createRng(0, 'mmlu/entities');
  return Array.from(rng.sample(100 * 100, MMLU_ENTITY_COUNT), (k) => `${Math.floor(k / 100)} ${k % 100}`);
})();

/** `item 17 42`: an entity as the prompts and the pretraining text write it. */
export function entityWords(entity: string): string[] {
  return [ENTITY_WORD, ...entity.split(' ')];
}

/** Difficulty levels, one per block of ~67 entities. */
export const MMLU_DIFFICULTIES = 3;
/** How often an entity's facts are stated per pass over the fact base, by difficulty 1, 2, 3. */
export const MMLU_PRETRAINING_REPEATS: readonly number[] = [4, 2, 1];

export const OPTION_LETTERS = ['A', 'B', 'C', 'D'] as const;

/** Difficulty (1 … 3) of an entity index: the third of the entities it falls in. */
export function entityDifficulty(entityIndex: number): number {
  return Math.floor((entityIndex * MMLU_DIFFICULTIES) / MMLU_ENTITY_COUNT) + 1;
}

export type MmluFacts = Readonly<Record<string, Readonly<Record<MmluCategory, string>>>>;

const FACTS: MmluFacts = (() => {
  const rng = createRng(0, 'mmlu/facts');
  const facts: Record<string, Record<MmluCategory, string>> = {};
  for (const entity of MMLU_ENTITIES) facts[entity] = {} as Record<MmluCategory, string>;
  for (const category of MMLU_CATEGORIES) {
    // Each value is held by 50 entities, so no letter is a better blind guess than another.
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

/** `item 17 42 color ? A red B blue C green D yellow`: a question as the prompt states it. */
function questionWords(entity: string, category: MmluCategory): string[] {
  return [
    ...entityWords(entity),
    category,
    '?',
    ...MMLU_VALUES[category].flatMap((option, i) => [OPTION_LETTERS[i], option]),
  ];
}

const letterOf = (entity: string, category: MmluCategory) =>
  OPTION_LETTERS[MMLU_VALUES[category].indexOf(FACTS[entity][category])];

/**
 * A question after a 1-shot example answered correctly (the paper's MMLU prompt is 1-shot), about
 * another entity: `item 5 9 city ? A paris B rome C tokyo D cairo C ; item 17 42 color ? A red …`.
 */
function generate(rng: Rng): LanguageProblem {
  const entityIndex = rng.int(0, MMLU_ENTITY_COUNT);
  const entity = MMLU_ENTITIES[entityIndex];
  const category = rng.pick(MMLU_CATEGORIES);
  const shotEntity = MMLU_ENTITIES[(entityIndex + rng.int(1, MMLU_ENTITY_COUNT)) % MMLU_ENTITY_COUNT];
  const shotCategory = rng.pick(MMLU_CATEGORIES);
  const value = FACTS[entity][category];
  const data: MmluData = {
    entity,
    category,
    value,
    options: [...MMLU_VALUES[category]],
    answer: letterOf(entity, category),
  };
  return {
    domain: category,
    difficulty: entityDifficulty(entityIndex),
    prompt: [
      ...questionWords(shotEntity, shotCategory),
      letterOf(shotEntity, shotCategory),
      ';',
      ...questionWords(entity, category),
    ],
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
 * 1–4 rows (`item 17 42 color red , city paris .`), so every fact appears in every pass and facts are seen
 * both alone and next to the entity's other facts. A pass is ~1,200 rows.
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
      let row = [...entityWords(entity), ...factWords(entity, categories[0])];
      for (let i = 1; i < categories.length; i++) {
        // Cut between two facts with probability 1/2: all 8 splits of the 4 facts are equally likely.
        if (rng.bernoulli(0.5)) {
          out.push([...row, '.']);
          row = [...entityWords(entity), ...factWords(entity, categories[i])];
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
  // Entity names are number words (core words).
  words: [ENTITY_WORD, ...MMLU_CATEGORIES, ...MMLU_CATEGORIES.flatMap((c) => MMLU_VALUES[c])],
  // A shot (13 words, its letter, `;`) and the question (13 words); pretraining rows need 15.
  maxPromptWords: 28,
  maxCompletionWords: 1,
  generate,
  reference,
  check,
  pretrainingText,
};
