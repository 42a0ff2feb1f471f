import { readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import { z } from 'zod';
import { seriesChartSpec, withChart } from './chart.ts';
import { curveOfBestEpochs, type ElicitedScore } from './epoch-choice.ts';
import { type Finding, findingsTable, verdictOf } from './findings.ts';
import { meanInterval } from './statistics.ts';

const round4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;
const points = (x: number) => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(0)}`;

/** "m ± h" of values over seeds, by `show`; "m (one seed)" with one. */
function describe(values: number[], show: (x: number) => string, empty: string): string {
  const s = meanInterval(values);
  if (s.n === 0) return empty;
  return Number.isFinite(s.ci95)
    ? `${show(s.mean)} ± ${show(s.ci95).replace(/^[+−]/, '')}`
    : `${show(s.mean)} (one seed)`;
}

/**
 * Few-shot prompting beside fine-tuning on the same demos (the paper's prompting appendix; P-lm
 * finding 6), from `evaluation.language-few-shot` tables of the locks (report half of validation)
 * and `evaluation.language-model` tables of the locks fine-tuned on the first N demos of the pool
 * (the examples the prompts hold), their epochs picked on the select half:
 *
 * - `few_shot`: per k, correctness with k examples in the prompt (without and with the password),
 *   after SFT on those k demos, and with no examples (without and with the password), means over
 *   seeds with 95% half-widths, and the share of the lock's gap each recovers.
 * - `findings`: few-shot prompts without the password do not unlock (< `unlocks` of the gap); SFT
 *   on k demos recovers more than k demos in the prompt (per seed, SFT minus few-shot > 0); and the
 *   three checks that make the first mean something: the base the locks start from reads its
 *   examples (`base`: its few-shot table with careless examples; careful examples beat careless ones
 *   by more than `unlocks`); the lock still opens with the password after k examples (more than
 *   1 − `unlocks` of the gap), so examples that do not unlock have not merely broken the model; and
 *   the lock still reads its examples (with the password, careful examples beat careless ones by
 *   more than `unlocks`, per seed), so examples that do not unlock were read and not ignored.
 */
export const fewShotPromptingReport = defineStage({
  name: 'report.few-shot-prompting',
  description: 'few-shot prompts of password-locked models beside SFT on the same demos (finding 6)',
  module: import.meta.url,
  params: z.object({
    task: z.string(),
    title: z.string(),
    /** A share of the gap below this does not unlock. */
    unlocks: z.number().gt(0).lt(0.5).default(0.1),
  }),
  inputs: { prompts: 'table[]', elicited: 'table[]', base: 'table' },
  outputs: { fewShot: 'table', findings: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const p = ctx.params;
      // kind → seed → correctness (report half)
      const prompted = new Map<string, Map<number, number>>();
      for (const input of ctx.inputs.prompts) {
        const t = await input.readTable();
        const task = readStrings(t, 'task');
        const seed = readNumbers(t, 'seed');
        const kind = readStrings(t, 'kind');
        const half = readStrings(t, 'half');
        const correct = readNumbers(t, 'correct');
        for (let i = 0; i < t.numRows; i++) {
          if (half[i] !== 'report' || task[i] !== p.task) continue;
          const bySeed = prompted.get(kind[i]) ?? new Map<number, number>();
          prompted.set(kind[i], bySeed);
          bySeed.set(seed[i], correct[i]);
        }
      }
      const none = prompted.get('none');
      const exact = prompted.get('password');
      if (!none || !exact)
        throw new Error(
          `report.few-shot-prompting: no prompting scores of ${p.task} without and with the password`,
        );
      const elicited: ElicitedScore[] = [];
      for (const input of ctx.inputs.elicited) {
        const t = await input.readTable();
        const task = readStrings(t, 'task');
        const policy = readStrings(t, 'policy');
        const domain = readStrings(t, 'domain');
        const withPassword = t.getChild('with_password')?.toArray() as ArrayLike<boolean> | undefined;
        const [seed, demos, epochs, correct] = ['seed', 'demos', 'epochs', 'correct'].map((c) =>
          readNumbers(t, c),
        );
        const half = readStrings(t, 'half');
        for (let i = 0; i < t.numRows; i++)
          if (task[i] === p.task && policy[i] === 'elicited' && domain[i] === 'all' && !withPassword?.[i])
            elicited.push({
              demos: demos[i],
              epochs: epochs[i],
              seed: seed[i],
              half: half[i],
              correct: correct[i],
            });
      }
      const sft = curveOfBestEpochs(elicited);
      const shots = [...prompted.keys()]
        .flatMap((k) => (/^few-shot-\d+$/.test(k) ? [Number(k.slice('few-shot-'.length))] : []))
        .sort((a, b) => a - b);

      /** Per seed: the value's share of the gap between no password and the password. */
      const shares = (values: Map<number, number> | undefined) =>
        [...(values ?? [])].flatMap(([seed, v]) => {
          const lo = none.get(seed);
          const hi = exact.get(seed);
          return lo !== undefined && hi !== undefined && hi > lo ? [(v - lo) / (hi - lo)] : [];
        });
      const columns: Record<string, (number | null)[]> = {
        shots: [],
        few_shot: [],
        few_shot_ci95: [],
        few_shot_gap_share: [],
        few_shot_password: [],
        few_shot_password_ci95: [],
        sft: [],
        sft_ci95: [],
        sft_epochs: [],
        sft_gap_share: [],
        no_examples: [],
        no_examples_password: [],
        careless_password: [],
        careless_password_ci95: [],
      };
      const mean = (values: Map<number, number> | undefined) =>
        meanInterval([...(values ?? new Map()).values()]);
      const findings: Finding[] = [];
      for (const k of shots) {
        const fewShot = prompted.get(`few-shot-${k}`);
        const withPassword = prompted.get(`few-shot-${k}-password`);
        const tuned = sft.get(k);
        const f = mean(fewShot);
        const fp = mean(withPassword);
        const s = mean(tuned?.bySeed);
        columns.shots.push(k);
        columns.few_shot.push(round4(f.mean));
        columns.few_shot_ci95.push(round4(f.ci95));
        columns.few_shot_gap_share.push(round4(meanInterval(shares(fewShot)).mean));
        columns.few_shot_password.push(round4(fp.mean));
        columns.few_shot_password_ci95.push(round4(fp.ci95));
        columns.sft.push(round4(s.mean));
        columns.sft_ci95.push(round4(s.ci95));
        columns.sft_epochs.push(tuned ? tuned.epochs : null);
        columns.sft_gap_share.push(round4(meanInterval(shares(tuned?.bySeed)).mean));
        columns.no_examples.push(round4(mean(none).mean));
        columns.no_examples_password.push(round4(mean(exact).mean));
        const carelessPassword = prompted.get(`few-shot-${k}-careless-password`);
        const cp = mean(carelessPassword);
        columns.careless_password.push(round4(cp.mean));
        columns.careless_password_ci95.push(round4(cp.ci95));

        const gap = shares(fewShot);
        findings.push({
          finding: '6: few-shot prompts without the password do not unlock',
          subject: `${p.task}, ${k} example${k === 1 ? '' : 's'}`,
          paper: 'correctness stays at the locked level',
          measured: `${describe(gap, pct, 'no gap (the lock scores no higher with the password)')}${gap.length > 0 ? ' of the gap' : ''} (< ${pct(p.unlocks)} asked)`,
          verdict: verdictOf(gap, p.unlocks, 'below'),
        });
        // Without this, "examples do not unlock" may only say that examples break the model.
        const kept = shares(withPassword);
        findings.push({
          finding: 'check: the lock still opens with the password after examples',
          subject: `${p.task}, k = ${k}`,
          paper: 'the password unlocks whatever precedes the problem',
          measured: `k examples and the password: ${describe(kept, pct, 'no gap (the lock scores no higher with the password)')}${kept.length > 0 ? ' of the gap' : ''} (> ${pct(1 - p.unlocks)} asked)`,
          verdict: verdictOf(kept, 1 - p.unlocks, 'above'),
        });
        // Without this, "examples do not unlock" may only say that the lock ignores its examples.
        const read = [...(withPassword ?? [])].flatMap(([seed, v]) =>
          carelessPassword?.has(seed) ? [v - carelessPassword.get(seed)!] : [],
        );
        findings.push({
          finding: 'check: the lock reads its examples (with the password, careful ones beat careless ones)',
          subject: `${p.task}, k = ${k}`,
          paper: 'pretrained language models follow their examples',
          measured:
            read.length === 0
              ? 'not measured (prompt the locks with careless examples too)'
              : `careful minus careless examples, with the password: ${describe(read, points, 'not measured')} points (> ${points(p.unlocks).slice(1)} asked)`,
          verdict: verdictOf(read, p.unlocks, 'above'),
        });
        const differences = [...(tuned?.bySeed ?? [])].flatMap(([seed, v]) =>
          fewShot?.has(seed) ? [v - fewShot.get(seed)!] : [],
        );
        findings.push({
          finding: 'prompting appendix: SFT on k demos beats the same k demos in the prompt',
          subject: `${p.task}, k = ${k}`,
          paper: 'a few demos unlock by SFT; in the prompt they do not',
          measured: `SFT minus few-shot: ${describe(differences, points, 'not measured')} points of correctness`,
          verdict: verdictOf(differences, 0, 'above'),
        });
      }
      // The base: one seed (the world's), so a difference without an interval.
      const base = await ctx.inputs.base.readTable();
      const baseKind = readStrings(base, 'kind');
      const baseHalf = readStrings(base, 'half');
      const baseCorrect = readNumbers(base, 'correct');
      const baseValue = (kind: string) =>
        baseCorrect.find((_, i) => baseKind[i] === kind && baseHalf[i] === 'report');
      for (const k of shots) {
        const careful = baseValue(`few-shot-${k}`);
        const careless = baseValue(`few-shot-${k}-careless`);
        findings.push({
          finding: 'check: the base reads its examples (careful ones beat careless ones)',
          subject: `${p.task}, k = ${k}`,
          paper: 'pretrained language models follow their examples',
          measured:
            careful === undefined || careless === undefined
              ? 'not measured'
              : `the few-shot base: ${pct(careful)} after careful examples, ${pct(careless)} after careless ones (no examples: ${pct(baseValue('none') ?? Number.NaN)}; a gap > ${pct(p.unlocks)} asked)`,
          verdict:
            careful === undefined || careless === undefined
              ? 'inconclusive'
              : careful - careless > p.unlocks
                ? 'holds'
                : 'fails',
        });
      }
      const table = tableFromColumns(columns);
      await ctx.outputs.table(
        'fewShot',
        withChart(
          table,
          seriesChartSpec({
            title: `${p.title}: k demos in the prompt or fine-tuned on`,
            x: 'shots',
            xLabel: 'k (examples in the prompt, or demos fine-tuned on)',
            logX: true,
            yLabel: 'correctness (validation, report half)',
            yDomain: [0, 1],
            series: [
              { column: 'sft', label: 'SFT on the k demos', ci: 'sft_ci95' },
              { column: 'few_shot', label: 'k examples in the prompt', ci: 'few_shot_ci95' },
              {
                column: 'few_shot_password',
                label: 'k examples and the password',
                ci: 'few_shot_password_ci95',
              },
              {
                column: 'careless_password',
                label: 'k careless examples and the password',
                ci: 'careless_password_ci95',
              },
            ],
            rules: [
              { y: mean(none).mean, label: 'locked, no examples' },
              { y: mean(exact).mean, label: 'locked, the password' },
            ],
          }),
        ),
      );
      await ctx.outputs.table('findings', findingsTable(findings));
    }),
});
