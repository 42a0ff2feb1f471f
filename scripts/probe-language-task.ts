/**
 * Can a model of a given size learn one P-lm task from scratch? A quick probe for tuning the world
 * (the tasks' shape and the base model's size), outside the pipeline and its cache: it trains one
 * transformer on one task's pretraining corpus (problems with references, plus the task's text
 * rows) and prints greedy correctness on held-out problems after every round, so a plateau shows.
 *
 *   npx tsx scripts/probe-language-task.ts --task mmlu --layers 3 --width 64 --rounds 6 --steps 250
 *
 * Options: --task NAME, --layers, --width, --heads, --batch, --lr, --rounds R, --steps S (per
 * round), --problems P (corpus problems), --text T (corpus text rows), --eval E, --seed.
 */
import { generate, initBackend, sftPhase, Transformer } from '@lockpick/ml';
import {
  concatTokenRows,
  createRng,
  encodePrompts,
  gradeCompletions,
  LM_VOCABULARY,
  languageTask,
  sftTokenRows,
  taskLayout,
  textTokenRows,
} from '@lockpick/tasks';

function option(name: string, fallback: number): number;
function option(name: string, fallback: string): string;
function option(name: string, fallback: number | string): number | string {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const raw = process.argv[i + 1];
  return typeof fallback === 'number' ? Number(raw) : raw;
}

const task = languageTask(option('task', 'mmlu'));
const seed = option('seed', 100);
const layout = taskLayout(task);
const rng = createRng(seed, `probe/${task.name}`);
const problems = Array.from({ length: option('problems', 20_000) }, () => task.generate(rng));
const held = Array.from({ length: option('eval', 400) }, () => task.generate(rng));
const textRows = option('text', 20_000);
const texts = textRows > 0 && task.pretrainingText ? task.pretrainingText(rng, textRows) : [];
const data = concatTokenRows([
  sftTokenRows(
    LM_VOCABULARY,
    layout,
    problems.map((p) => ({ prompt: p.prompt, completion: task.reference(p) })),
  ),
  ...(texts.length > 0 ? [textTokenRows(LM_VOCABULARY, texts, layout.seqLen)] : []),
]);

await initBackend();
const model = new Transformer(
  {
    vocabSize: LM_VOCABULARY.size,
    contextLength: layout.seqLen,
    layers: option('layers', 3),
    width: option('width', 64),
    heads: option('heads', 4),
    mlpRatio: 4,
    bias: false,
  },
  seed,
);
console.log(`${task.name}: ${data.rows} rows of ${layout.seqLen} tokens, ${model.params.count()} weights`);

/** Held-out greedy correctness: overall, then per difficulty. */
function heldOutCorrectness(held: typeof problems): string {
  if (held.length === 0) return '-';
  const prompts = encodePrompts(
    LM_VOCABULARY,
    layout,
    held.map((p) => p.prompt),
  );
  const out = generate(model, prompts, {
    maxNewTokens: layout.completionLength,
    stopToken: LM_VOCABULARY.endId,
  });
  const graded = gradeCompletions(task, LM_VOCABULARY, held, out, layout.completionLength);
  const mean = (rows: number[]) => rows.reduce((a, i) => a + graded.correct[i], 0) / Math.max(1, rows.length);
  const all = held.map((_, i) => i);
  const byDifficulty = Array.from({ length: task.difficulties }, (_, d) =>
    mean(all.filter((i) => held[i].difficulty === d + 1)).toFixed(2),
  );
  return `${mean(all).toFixed(3)} (by difficulty ${byDifficulty.join(' / ')})`;
}

const rounds = option('rounds', 6);
const steps = option('steps', 250);
const started = Date.now();
for (let round = 1; round <= rounds; round++) {
  // Constant learning rate within the probe: rounds are slices of one run, not separate schedules.
  const result = await sftPhase(model, data, {
    phase: 'probe',
    optimizer: {
      kind: 'adam',
      learningRate: option('lr', 3e-3),
      beta2: 0.98,
      clipNorm: 1,
      decay: 'constant',
    },
    batchSize: option('batch', 64),
    steps,
    seed: seed + round,
    lossOn: 'completion',
  });
  console.log(
    `round ${round} (${round * steps} steps, ${((Date.now() - started) / 1000).toFixed(0)} s): ` +
      `loss ${result.summary.finalLoss.toFixed(3)}, held-out correct ${heldOutCorrectness(held)}`,
  );
}
