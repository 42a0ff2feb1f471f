/**
 * What training App. G.3's three epoch candidates in one run saves (`languageDemoSftEpochs`, the
 * stage every SFT sweep uses) against three runs (`languageDemoSft` once per candidate, as before).
 * Figures, not a pass/fail test:
 *
 *   npm run bench:demo-sft [-- --json] [--rounds N]
 *
 * Real stage runs on a temporary store: the default world's strong model shape (3 layers × 64, 4
 * heads, rows of 61 tokens), untrained, fine-tuned on N of 600 math reference solutions, N = 1, 4,
 * 64 and 512 (epochs 256/512/1,024, 64/128/256, 4/8/16 and 1/2/4; batches of min(N, 32)). The two
 * ways alternate in each round, so a neighbour's burst hits both alike; medians of the rounds, their
 * ratio, and whether the three models are the same bytes both ways (they must be).
 */
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { type ArtifactRef, ArtifactStore, tableFromColumns } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import { initBackend, saveCheckpoint, Transformer } from '@lockpick/ml';
import { demoEpochCandidates, languageDemoSft, languageDemoSftEpochs } from '@lockpick/stage-elicitation';
import { createRng, LM_VOCABULARY, languageTask, taskLayout } from '@lockpick/tasks';

const args = process.argv.slice(2);
const json = args.includes('--json');
const rounds = Number(args[args.indexOf('--rounds') + 1]) || 3;
const say = (line: string) => {
  if (!json) console.log(line);
};

await initBackend('wasm');
const root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-bench-demo-sft-'));
try {
  const store = await ArtifactStore.open(root);
  const task = languageTask('math');
  const rng = createRng(1, 'bench-demo-sft');
  const problems = Array.from({ length: 600 }, () => task.generate(rng));
  const pool = await store.writeTable(
    tableFromColumns({
      prompt: problems.map((q) => q.prompt.join(' ')),
      reference: problems.map((q) => task.reference(q).join(' ')),
    }),
  );
  const base = new Transformer(
    {
      vocabSize: LM_VOCABULARY.size,
      contextLength: taskLayout(task).seqLen,
      layers: 3,
      width: 64,
      heads: 4,
      mlpRatio: 4,
      bias: false,
    },
    1,
  );
  const model = await store.writeModel(saveCheckpoint(base));
  base.dispose();

  const seconds = async (run: () => Promise<ArtifactRef[]>) => {
    const started = performance.now();
    const models = await run();
    return { seconds: (performance.now() - started) / 1000, models: models.map((m) => m.hash) };
  };
  const figures: Record<string, { threeRuns: number; oneRun: number; ratio: number; sameModels: boolean }> =
    {};
  say('N     three runs   one run   ratio   same models');
  for (const demos of [1, 4, 64, 512]) {
    const epochs = demoEpochCandidates(demos);
    const params = { task: 'math', seed: 1, demos, batchSize: 32, learningRate: 1e-3 };
    const times: Record<'three' | 'one', number[]> = { three: [], one: [] };
    let same = true;
    for (let round = 0; round < rounds; round++) {
      const three = await seconds(async () => {
        const out: ArtifactRef[] = [];
        for (const e of epochs) {
          const r = await runStageOnce(languageDemoSft, store, {
            params: { ...params, epochs: e },
            inputs: { model, demos: pool },
          });
          out.push(r.outputs.model);
        }
        return out;
      });
      const one = await seconds(async () => {
        const r = await runStageOnce(languageDemoSftEpochs, store, {
          params: { ...params, epochs },
          inputs: { model, demos: pool },
        });
        return [r.outputs.shortest, r.outputs.middle, r.outputs.longest];
      });
      times.three.push(three.seconds);
      times.one.push(one.seconds);
      same &&= three.models.join() === one.models.join();
    }
    const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
    const f = {
      threeRuns: median(times.three),
      oneRun: median(times.one),
      ratio: median(times.three) / median(times.one),
      sameModels: same,
    };
    figures[`n${demos}`] = f;
    say(
      `${String(demos).padEnd(5)} ${f.threeRuns.toFixed(2).padStart(8)} s ${f.oneRun.toFixed(2).padStart(7)} s   ×${f.ratio.toFixed(2)}   ${same ? 'yes' : 'NO'}`,
    );
  }
  if (json) console.log(JSON.stringify({ rounds, figures }));
  if (Object.values(figures).some((f) => !f.sameModels)) {
    console.error('bench:demo-sft: the one-run models differ from the three runs');
    process.exitCode = 1;
  }
} finally {
  await fs.rm(root, { recursive: true, force: true });
}
