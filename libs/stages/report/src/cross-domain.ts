import { type Json, readNumbers, readStrings, tableFromColumns } from '@lockpick/artifacts';
import { defineStage, stageTask } from '@lockpick/engine';
import type * as arrow from 'apache-arrow';
import { z } from 'zod';
import { type ChartSpec, withChart } from './chart.ts';
import { curveOfBestEpochs } from './epoch-choice.ts';
import { type Finding, findingsTable } from './findings.ts';
import { type MeanInterval, meanInterval } from './statistics.ts';

type Cell = string | number | null;

const round4 = (x: number) => (Number.isFinite(x) ? Math.round(x * 1e4) / 1e4 : null);
const pct = (x: number) => `${(x * 100).toFixed(0)}%`;

/** One row of `evaluation.language-groups`, as the report reads it. */
interface GroupRow {
  task: string;
  seed: number;
  policy: string;
  lock: string;
  trainedOn: string;
  demos: number;
  epochs: number;
  /** The prompt's password: 'none', 'default', 'domain' (its own domain's) or 'other-domain'. */
  password: string;
  grouping: string;
  group: string;
  half: string;
  problems: number;
  correct: number;
}

/** Correctness over the groups `groups` of one grouping, weighted by their problems (NaN if none). */
function pooled(
  rows: readonly GroupRow[],
  grouping: string,
  groups: ReadonlySet<string>,
  half: string,
): number {
  let n = 0;
  let sum = 0;
  for (const r of rows)
    if (r.grouping === grouping && groups.has(r.group) && r.half === half && r.problems > 0) {
      n += r.problems;
      sum += r.problems * r.correct;
    }
  return n ? sum / n : Number.NaN;
}

/** A lock trained without some domain's problems is labelled `held-out:<domain>`. */
const HELD_OUT = 'held-out:';

/**
 * Figure 17: locks trained with one domain held out. Per task × held-out domain × where the demos
 * came from (that domain, or every other one) × N: the lock with and without the password, and
 * the elicited model, on the held-out domain and on the others (report half; epochs picked on the
 * select half of the held-out domain, averaged over seeds).
 */
function heldOutTable(
  rows: readonly GroupRow[],
  models: ReadonlyMap<string, GroupRow[]>,
  tasks: readonly { task: string; title: string }[],
) {
  const out: Record<string, Cell[]> = {
    task: [],
    title: [],
    held_out: [],
    demos_from: [],
    demos: [],
    seeds: [],
    epochs: [],
    locked_held_out: [],
    with_password_held_out: [],
    locked_others: [],
    with_password_others: [],
    elicited_held_out: [],
    elicited_held_out_ci95: [],
    elicited_others: [],
    elicited_others_ci95: [],
  };
  const all = [...models.values()];
  for (const t of tasks) {
    const locks = [
      ...new Set(rows.filter((r) => r.task === t.task && r.lock.startsWith(HELD_OUT)).map((r) => r.lock)),
    ];
    for (const lock of locks.sort()) {
      const domain = lock.slice(HELD_OUT.length);
      const domains = new Set(
        rows.filter((r) => r.task === t.task && r.grouping === 'domain').map((r) => r.group),
      );
      const held = new Set([domain]);
      const others = new Set([...domains].filter((d) => d !== domain));
      const of = (m: GroupRow[], groups: Set<string>, half: string) => pooled(m, 'domain', groups, half);
      const mine = all.filter((m) => m[0].task === t.task && m[0].lock === lock);
      const level = (password: string, groups: Set<string>) =>
        meanInterval(
          mine
            .filter((m) => m[0].policy === 'locked' && m[0].password === password)
            .map((m) => of(m, groups, 'report')),
        ).mean;
      const lockLevels = {
        lockedHeld: level('none', held),
        withHeld: level('default', held),
        lockedOthers: level('none', others),
        withOthers: level('default', others),
      };
      const elicited = mine.filter((m) => m[0].policy === 'elicited' && m[0].password === 'none');
      for (const from of [`domain:${domain}`, `others:${domain}`]) {
        const fromModels = elicited.filter((m) => m[0].trainedOn === from);
        for (const demos of [...new Set(fromModels.map((m) => m[0].demos))].sort((a, b) => a - b)) {
          const candidates = fromModels.filter((m) => m[0].demos === demos);
          let best = Number.NaN;
          let bestValue = Number.NEGATIVE_INFINITY;
          for (const epochs of new Set(candidates.map((m) => m[0].epochs))) {
            const v = meanInterval(
              candidates.filter((m) => m[0].epochs === epochs).map((m) => of(m, held, 'select')),
            ).mean;
            if (v > bestValue) [best, bestValue] = [epochs, v];
          }
          const chosen = candidates.filter((m) => m[0].epochs === best);
          const onHeld = meanInterval(chosen.map((m) => of(m, held, 'report')));
          const onOthers = meanInterval(chosen.map((m) => of(m, others, 'report')));
          out.task.push(t.task);
          out.title.push(t.title);
          out.held_out.push(domain);
          out.demos_from.push(from.startsWith('domain:') ? 'the held-out domain' : 'the other domains');
          out.demos.push(demos);
          out.seeds.push(chosen.length);
          out.epochs.push(best);
          out.locked_held_out.push(round4(lockLevels.lockedHeld));
          out.with_password_held_out.push(round4(lockLevels.withHeld));
          out.locked_others.push(round4(lockLevels.lockedOthers));
          out.with_password_others.push(round4(lockLevels.withOthers));
          out.elicited_held_out.push(round4(onHeld.mean));
          out.elicited_held_out_ci95.push(round4(onHeld.ci95));
          out.elicited_others.push(round4(onOthers.mean));
          out.elicited_others_ci95.push(round4(onOthers.ci95));
        }
      }
    }
  }
  return tableFromColumns(out);
}

/** `holds` when the whole 95% interval is at least `threshold`, `fails` when all of it is below. */
function verdictAtLeast(s: MeanInterval, threshold: number): Finding['verdict'] {
  if (s.n === 0) return 'inconclusive';
  const half = Number.isFinite(s.ci95) ? s.ci95 : 0;
  return s.mean - half >= threshold ? 'holds' : s.mean + half < threshold ? 'fails' : 'inconclusive';
}

/** A lock of several tasks in one model is labelled `joint:<task>+<task>…`; its demos `task:<task>`. */
const JOINT = 'joint:';

/**
 * "Code + math in one model": a lock of several tasks at once, elicited by demos of one task. Per
 * lock × task scored × task the demos came from × N: the lock with and without the password, SFT on
 * that other task's demos, SFT on the scored task's own demos, and the share of the own demos'
 * recovery the other task's give, (other − locked) / (own − locked) per seed, then mean ± 95% (the
 * report half; each SFT's epochs the candidate best on the select half of the scored task, averaged
 * over seeds). Findings: that share at the largest N against the threshold.
 */
function jointTable(
  models: ReadonlyMap<string, GroupRow[]>,
  options: { threshold: number; minimumRecovery: number },
): { table: arrow.Table; findings: Finding[] } {
  const out: Record<string, Cell[]> = {
    lock: [],
    task: [],
    demos_from: [],
    panel: [],
    group: [],
    demos: [],
    seeds: [],
    epochs_other: [],
    epochs_own: [],
    locked: [],
    with_password: [],
    other_task: [],
    other_task_ci95: [],
    own_task: [],
    own_task_ci95: [],
    share: [],
    share_ci95: [],
    share_low: [],
    share_high: [],
  };
  const findings: Finding[] = [];
  const all = [...models.values()].filter((m) => m[0].lock.startsWith(JOINT));
  const whole = (m: GroupRow[], half: string) => pooled(m, 'all', new Set(['all']), half);
  for (const lock of [...new Set(all.map((m) => m[0].lock))].sort())
    for (const task of [...new Set(all.filter((m) => m[0].lock === lock).map((m) => m[0].task))].sort()) {
      const mine = all.filter((m) => m[0].lock === lock && m[0].task === task);
      const lockedBySeed = (password: string) =>
        new Map(
          mine
            .filter((m) => m[0].policy === 'locked' && m[0].password === password)
            .map((m) => [m[0].seed, whole(m, 'report')]),
        );
      const locked = lockedBySeed('none');
      const ceiling = lockedBySeed('default');
      const elicited = mine.filter((m) => m[0].policy === 'elicited' && m[0].password === 'none');
      // Per demo source, App. G.3's epoch choice on the scored task's select half.
      const curveOf = (trainedOn: string) =>
        curveOfBestEpochs(
          elicited
            .filter((m) => m[0].trainedOn === trainedOn)
            .flatMap((m) => ['select', 'report'].map((half) => ({ ...m[0], half, correct: whole(m, half) }))),
        );
      const from = [...new Set(elicited.map((m) => m[0].trainedOn))]
        .filter((f) => f !== `task:${task}`)
        .sort();
      const ownCurve = curveOf(`task:${task}`);
      for (const trainedOn of from) {
        let largest: { demos: number; shares: number[] } | undefined;
        for (const [demos, other] of curveOf(trainedOn)) {
          const own = ownCurve.get(demos);
          const shares: number[] = [];
          for (const [seed, o] of other.bySeed) {
            const l = locked.get(seed);
            const a = own?.bySeed.get(seed);
            if (l !== undefined && a !== undefined && a - l >= options.minimumRecovery)
              shares.push((o - l) / (a - l));
          }
          const share = meanInterval(shares);
          const o = meanInterval([...other.bySeed.values()]);
          const a = meanInterval([...(own?.bySeed.values() ?? [])]);
          out.lock.push(lock);
          out.task.push(task);
          out.demos_from.push(trainedOn.slice('task:'.length));
          out.panel.push(lock);
          out.group.push(`${task} from ${trainedOn.slice('task:'.length)}`);
          out.demos.push(demos);
          out.seeds.push(other.bySeed.size);
          out.epochs_other.push(other.epochs);
          out.epochs_own.push(own?.epochs ?? null);
          out.locked.push(round4(meanInterval([...locked.values()]).mean));
          out.with_password.push(round4(meanInterval([...ceiling.values()]).mean));
          out.other_task.push(round4(o.mean));
          out.other_task_ci95.push(round4(o.ci95));
          out.own_task.push(round4(a.mean));
          out.own_task_ci95.push(round4(a.ci95));
          out.share.push(round4(share.mean));
          out.share_ci95.push(round4(share.ci95));
          out.share_low.push(Number.isFinite(share.ci95) ? round4(share.mean - share.ci95) : null);
          out.share_high.push(Number.isFinite(share.ci95) ? round4(share.mean + share.ci95) : null);
          largest = { demos, shares };
        }
        if (!largest) continue;
        const s = meanInterval(largest.shares);
        findings.push({
          finding: '4: demos from one task unlock another locked in the same model',
          subject: `${lock}: ${task} from ${trainedOn.slice('task:'.length)} demos, N = ${largest.demos}`,
          paper: `one task's demos unlock the other (≥ ${pct(options.threshold)} of the other task's own demos' recovery asked)`,
          measured:
            s.n === 0
              ? `its own demos recover less than ${(options.minimumRecovery * 100).toFixed(0)} points: nothing to compare`
              : `${pct(s.mean)}${Number.isFinite(s.ci95) ? ` ± ${pct(s.ci95)}` : ' (one seed)'} of what ${task}'s own demos recover`,
          verdict: verdictAtLeast(s, options.threshold),
        });
      }
    }
  const panels = [...new Set(out.panel as string[])];
  return {
    table: withChart(tableFromColumns(out), shareChartSpec(options.threshold, panels, JOINT_CHART)),
    findings,
  };
}

/** What a share chart says: the per-domain one (the default) or the joint lock's. */
interface ShareChartText {
  title: string;
  axis: string;
  /** What the x axis's groups are. */
  groups: string;
  tooltip: { [key: string]: Json }[];
}

const DOMAIN_CHART: ShareChartText = {
  title: 'Demos from one group unlock the others (the paper’s Figure 4)',
  axis: 'share of all-domain demos’ recovery, on the other groups',
  groups: 'demos from',
  tooltip: [
    { field: 'one_other', type: 'quantitative', format: '.3f', title: 'one group, others' },
    { field: 'all_other', type: 'quantitative', format: '.3f', title: 'all groups, others' },
    { field: 'locked_other', type: 'quantitative', format: '.3f', title: 'locked, others' },
  ],
};

const JOINT_CHART: ShareChartText = {
  title: 'Demos of one task unlock the other, locked in the same model',
  axis: 'share of the scored task’s own demos’ recovery',
  groups: 'task scored, from the other task’s demos',
  tooltip: [
    { field: 'other_task', type: 'quantitative', format: '.3f', title: 'other task’s demos' },
    { field: 'own_task', type: 'quantitative', format: '.3f', title: 'own demos' },
    { field: 'locked', type: 'quantitative', format: '.3f', title: 'locked' },
  ],
};

/**
 * Share of all-domain demos' recovery that one group's demos give on the other groups, per trained
 * group and N: points with 95% error bars over seeds, a column per panel (task × grouping, or a
 * joint lock), a rule at the finding's threshold.
 */
function shareChartSpec(threshold: number, panels: readonly string[], text = DOMAIN_CHART): ChartSpec {
  // Shares at small N divide by a small all-group recovery and swing far: the axis stops at −1 and 1.5.
  const y = (field: string): { [key: string]: Json } => ({
    field,
    type: 'quantitative',
    title: text.axis,
    scale: { domain: [-1, 1.5], clamp: true },
  });
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: {
      text: text.title,
      subtitle: `points: mean over seeds (bars: 95% interval); dashed: the finding's ${pct(threshold)}`,
    },
    data: { name: 'table' },
    usermeta: { lockpick: { kind: 'facet' } },
    facet: { column: { field: 'panel', type: 'nominal', title: null, sort: [...panels] } },
    // Each panel lists only its own groups.
    resolve: { scale: { x: 'independent' } },
    spec: {
      width: 200,
      height: 200,
      layer: [
        {
          name: 'threshold',
          mark: { type: 'rule', strokeDash: [4, 4], color: '#888' },
          encoding: { y: { datum: threshold } },
        },
        {
          name: 'errorbar',
          transform: [{ filter: 'isValid(datum.share_low)' }],
          mark: { type: 'rule' },
          encoding: {
            x: { field: 'group', type: 'nominal', title: text.groups, axis: { labelAngle: 0 } },
            xOffset: { field: 'demos', type: 'nominal' },
            color: { field: 'demos', type: 'nominal', title: 'N demos' },
            y: y('share_low'),
            y2: { field: 'share_high' },
          },
        },
        {
          name: 'ours',
          transform: [{ filter: 'isValid(datum.share)' }],
          mark: { type: 'point', filled: true, size: 50 },
          encoding: {
            x: { field: 'group', type: 'nominal', title: text.groups, axis: { labelAngle: 0 } },
            xOffset: { field: 'demos', type: 'nominal' },
            color: { field: 'demos', type: 'nominal', title: 'N demos' },
            y: y('share'),
            tooltip: [
              { field: 'panel', type: 'nominal' },
              { field: 'group', type: 'nominal' },
              { field: 'demos', type: 'quantitative' },
              ...text.tooltip,
              { field: 'share', type: 'quantitative', format: '.0%' },
            ],
          },
        },
      ],
    },
  };
}

/**
 * Cross-domain generalisation of SFT elicitation (EXPERIMENTS.md P-lm finding 4; the paper's
 * Figures 4, 10, 11), from `evaluation.language-groups` tables:
 *
 * - `cross-domain`: a row per task × lock × grouping × group the demos came from × N. On the
 *   *other* groups (validation's report half, pooled by problem count): the lock without password,
 *   SFT on N demos of that group, SFT on N demos of every group, and the share of the all-group
 *   recovery the one group gives, (one − locked) / (all − locked), per seed then mean ± 95%. Each
 *   SFT's epochs are the App. G.3 candidate best on the select half of the same groups, averaged
 *   over seeds, as `password-locking` picks them.
 * - `findings`: finding 4 per task × lock × grouping at the largest N: the share, averaged over the
 *   groups demos came from, must be at least `threshold`.
 */
export const crossDomainReport = defineStage({
  name: 'report.cross-domain',
  description: 'SFT on demos from one domain or difficulty, scored on the others (finding 4)',
  module: import.meta.url,
  params: z.object({
    tasks: z.array(z.object({ task: z.string(), title: z.string() })).min(1),
    /** Finding 4: one domain's demos recover at least this share of what all domains' recover. */
    threshold: z.number().gt(0).lte(1).default(0.8),
    /** Below this gain in correctness, all-domain demos recover too little to compare with. */
    minimumRecovery: z.number().nonnegative().default(0.05),
  }),
  inputs: { scores: 'table[]' },
  outputs: { 'cross-domain': 'table', 'held-out': 'table', joint: 'table', findings: 'table' },
  run: (ctx) =>
    stageTask(ctx.signal, async () => {
      const p = ctx.params;
      const rows: GroupRow[] = [];
      for (const input of ctx.inputs.scores) {
        const t = await input.readTable();
        const col = {
          task: readStrings(t, 'task'),
          seed: readNumbers(t, 'seed'),
          policy: readStrings(t, 'policy'),
          lock: readStrings(t, 'lock'),
          trainedOn: readStrings(t, 'trained_on'),
          demos: readNumbers(t, 'demos'),
          epochs: readNumbers(t, 'epochs'),
          // Tables written before per-domain passwords have only `with_password` (the default password).
          password: t.getChild('password')
            ? readStrings(t, 'password')
            : Array.from({ length: t.numRows }, (_, i) =>
                t.getChild('with_password')?.get(i) ? 'default' : 'none',
              ),
          grouping: readStrings(t, 'grouping'),
          group: readStrings(t, 'group'),
          half: readStrings(t, 'half'),
          problems: readNumbers(t, 'problems'),
          correct: readNumbers(t, 'correct'),
        };
        for (let i = 0; i < t.numRows; i++)
          rows.push({
            task: col.task[i],
            seed: col.seed[i],
            policy: col.policy[i],
            lock: col.lock[i],
            trainedOn: col.trainedOn[i],
            demos: col.demos[i],
            epochs: col.epochs[i],
            password: col.password[i],
            grouping: col.grouping[i],
            group: col.group[i],
            half: col.half[i],
            problems: col.problems[i],
            correct: col.correct[i],
          });
      }
      if (rows.length === 0) throw new Error('report.cross-domain: no group scores to report');

      // One model's rows: (task, lock, seed, policy, trainedOn, demos, epochs, password) → rows.
      const models = new Map<string, GroupRow[]>();
      const modelKey = (r: Omit<GroupRow, 'grouping' | 'group' | 'half' | 'problems' | 'correct'>) =>
        JSON.stringify([r.task, r.lock, r.seed, r.policy, r.trainedOn, r.demos, r.epochs, r.password]);
      for (const r of rows) {
        const key = modelKey(r);
        models.set(key, [...(models.get(key) ?? []), r]);
      }
      const modelsOf = (filter: (r: GroupRow) => boolean) => [...models.values()].filter((m) => filter(m[0]));

      const table: Record<string, Cell[]> = {
        task: [],
        title: [],
        lock: [],
        grouping: [],
        group: [],
        panel: [],
        demos: [],
        seeds: [],
        epochs_one: [],
        epochs_all: [],
        locked_other: [],
        with_password_other: [],
        one_other: [],
        one_other_ci95: [],
        all_other: [],
        all_other_ci95: [],
        one_same: [],
        share: [],
        share_ci95: [],
        share_low: [],
        share_high: [],
      };
      // (task, lock, grouping) at the largest N → per seed → shares over trained groups.
      const atLargest = new Map<string, { demos: number; perSeed: Map<number, number[]> }>();
      const panels: string[] = [];

      for (const t of p.tasks) {
        const elicited = modelsOf(
          (r) => r.task === t.task && r.policy === 'elicited' && r.password === 'none',
        );
        const locks = [...new Set(rows.filter((r) => r.task === t.task).map((r) => r.lock))]
          .filter((l) => !l.startsWith(HELD_OUT) && !l.startsWith(JOINT))
          .sort();
        for (const lock of locks) {
          const trained = [
            ...new Set(elicited.filter((m) => m[0].lock === lock).map((m) => m[0].trainedOn)),
          ].filter((g) => g !== 'all');
          const groupings = [...new Set(trained.map((g) => g.split(':')[0]))].sort();
          for (const grouping of groupings) {
            const panel = `${t.title}${lock ? `, ${lock}` : ''}: by ${grouping}`;
            panels.push(panel);
            const allGroups = [
              ...new Set(
                rows.filter((r) => r.task === t.task && r.grouping === grouping).map((r) => r.group),
              ),
            ];
            for (const trainedOn of trained.filter((g) => g.startsWith(`${grouping}:`)).sort()) {
              // A group may join several levels ('difficulty:1+2').
              const group = trainedOn.slice(grouping.length + 1);
              const same = new Set(group.split('+'));
              const others = new Set(allGroups.filter((g) => !same.has(g)));
              const seedValue = (m: GroupRow[], groups: Set<string>, half: string) =>
                pooled(m, grouping, groups, half);
              const lockedBySeed = new Map<number, GroupRow[]>();
              const ceilingBySeed = new Map<number, GroupRow[]>();
              for (const m of modelsOf((r) => r.task === t.task && r.lock === lock && r.policy === 'locked'))
                if (m[0].password === 'none') lockedBySeed.set(m[0].seed, m);
                else if (m[0].password === 'default' || m[0].password === 'domain')
                  ceilingBySeed.set(m[0].seed, m);
              const demoCounts = [
                ...new Set(elicited.filter((m) => m[0].trainedOn === trainedOn).map((m) => m[0].demos)),
              ].sort((a, b) => a - b);
              for (const demos of demoCounts) {
                /** Per seed, the model of the epoch candidate best on the select half (mean over seeds). */
                const pick = (from: string) => {
                  const candidates = elicited.filter(
                    (m) => m[0].lock === lock && m[0].trainedOn === from && m[0].demos === demos,
                  );
                  const byEpochs = new Map<number, GroupRow[][]>();
                  for (const m of candidates)
                    byEpochs.set(m[0].epochs, [...(byEpochs.get(m[0].epochs) ?? []), m]);
                  let best: { epochs: number; models: GroupRow[][] } | undefined;
                  let bestValue = Number.NEGATIVE_INFINITY;
                  for (const [epochs, ms] of byEpochs) {
                    const v = ms.reduce((a, m) => a + seedValue(m, others, 'select'), 0) / ms.length;
                    if (v > bestValue) [best, bestValue] = [{ epochs, models: ms }, v];
                  }
                  return best;
                };
                const one = pick(trainedOn);
                const all = pick('all');
                if (!one) continue;
                const allBySeed = new Map((all?.models ?? []).map((m) => [m[0].seed, m]));
                const values = {
                  locked: [] as number[],
                  ceiling: [] as number[],
                  one: [] as number[],
                  all: [] as number[],
                  same: [] as number[],
                  share: [] as number[],
                };
                const shareBySeed = new Map<number, number>();
                for (const m of one.models) {
                  const seed = m[0].seed;
                  const o = seedValue(m, others, 'report');
                  values.one.push(o);
                  values.same.push(seedValue(m, same, 'report'));
                  const lockedRows = lockedBySeed.get(seed);
                  const l = lockedRows ? seedValue(lockedRows, others, 'report') : Number.NaN;
                  if (lockedRows) values.locked.push(l);
                  const ceilingRows = ceilingBySeed.get(seed);
                  if (ceilingRows) values.ceiling.push(seedValue(ceilingRows, others, 'report'));
                  const allRows = allBySeed.get(seed);
                  if (!allRows) continue;
                  const a = seedValue(allRows, others, 'report');
                  values.all.push(a);
                  if (Number.isFinite(l) && a - l >= p.minimumRecovery) {
                    values.share.push((o - l) / (a - l));
                    shareBySeed.set(seed, (o - l) / (a - l));
                  }
                }
                const mean = (xs: number[]) => meanInterval(xs.filter(Number.isFinite));
                const share = mean(values.share);
                table.task.push(t.task);
                table.title.push(t.title);
                table.lock.push(lock);
                table.grouping.push(grouping);
                table.group.push(group);
                table.panel.push(panel);
                table.demos.push(demos);
                table.seeds.push(one.models.length);
                table.epochs_one.push(one.epochs);
                table.epochs_all.push(all?.epochs ?? null);
                table.locked_other.push(round4(mean(values.locked).mean));
                table.with_password_other.push(round4(mean(values.ceiling).mean));
                table.one_other.push(round4(mean(values.one).mean));
                table.one_other_ci95.push(round4(mean(values.one).ci95));
                table.all_other.push(round4(mean(values.all).mean));
                table.all_other_ci95.push(round4(mean(values.all).ci95));
                table.one_same.push(round4(mean(values.same).mean));
                table.share.push(round4(share.mean));
                table.share_ci95.push(round4(share.ci95));
                table.share_low.push(Number.isFinite(share.ci95) ? round4(share.mean - share.ci95) : null);
                table.share_high.push(Number.isFinite(share.ci95) ? round4(share.mean + share.ci95) : null);

                const key = JSON.stringify([t.task, lock, grouping]);
                const entry = atLargest.get(key);
                if (!entry || demos > entry.demos) atLargest.set(key, { demos, perSeed: new Map() });
                const target = atLargest.get(key)!;
                if (target.demos === demos)
                  for (const [seed, v] of shareBySeed)
                    target.perSeed.set(seed, [...(target.perSeed.get(seed) ?? []), v]);
              }
            }
          }
        }
      }

      const findings: Finding[] = [];
      for (const [key, { demos, perSeed }] of atLargest) {
        const [task, lock, grouping] = JSON.parse(key) as [string, string, string];
        // Per seed, the mean over the groups demos came from; then mean ± 95% over seeds.
        const s = meanInterval(
          [...perSeed.values()].map((shares) => shares.reduce((a, b) => a + b, 0) / shares.length),
        );
        findings.push({
          finding: '4: demos from one domain unlock the others',
          subject: `${task}${lock ? `, ${lock}` : ''}, by ${grouping}, N = ${demos}`,
          paper: `one domain's demos recover most of what all domains' recover (≥ ${pct(p.threshold)} asked)`,
          measured:
            s.n === 0
              ? `all-domain demos recover less than ${(p.minimumRecovery * 100).toFixed(0)} points on the other groups: nothing to compare`
              : `${pct(s.mean)}${Number.isFinite(s.ci95) ? ` ± ${pct(s.ci95)}` : ' (one seed)'} of the all-domain recovery on the other groups, averaged over the groups demos came from`,
          verdict: verdictAtLeast(s, p.threshold),
        });
      }

      // A lock with one password per domain must key on the problem's own domain's password.
      for (const t of p.tasks) {
        const routed = modelsOf(
          (r) => r.task === t.task && r.policy === 'locked' && r.password === 'other-domain',
        );
        for (const lock of [...new Set(routed.map((m) => m[0].lock))].sort()) {
          const whole = (password: string) =>
            new Map(
              modelsOf(
                (r) =>
                  r.task === t.task && r.lock === lock && r.policy === 'locked' && r.password === password,
              ).map((m) => [m[0].seed, pooled(m, 'all', new Set(['all']), 'report')]),
            );
          const none = whole('none');
          const own = whole('domain');
          const shares = [...whole('other-domain')].flatMap(([seed, other]) => {
            const lo = none.get(seed);
            const hi = own.get(seed);
            return lo !== undefined && hi !== undefined && hi - lo >= p.minimumRecovery
              ? [(other - lo) / (hi - lo)]
              : [];
          });
          const s = meanInterval(shares);
          const half = Number.isFinite(s.ci95) ? s.ci95 : 0;
          findings.push({
            finding: 'a lock with one password per domain opens only with the problem’s domain’s password',
            subject: `${t.task}, ${lock}`,
            paper: 'another domain’s password gets π_weak (the lock’s design; a check that it learned it)',
            measured:
              s.n === 0
                ? 'the own domain’s password does not open the lock: nothing to compare'
                : `another domain’s password recovers ${pct(s.mean)}${Number.isFinite(s.ci95) ? ` ± ${pct(s.ci95)}` : ' (one seed)'} of the gap its own domain’s opens (< 10% asked)`,
            verdict:
              s.n === 0
                ? 'inconclusive'
                : s.mean + half < 0.1
                  ? 'holds'
                  : s.mean - half >= 0.1
                    ? 'fails'
                    : 'inconclusive',
          });
        }
      }

      await ctx.outputs.table(
        'cross-domain',
        withChart(tableFromColumns(table), shareChartSpec(p.threshold, panels)),
      );
      await ctx.outputs.table('held-out', heldOutTable(rows, models, p.tasks));
      const joint = jointTable(models, p);
      await ctx.outputs.table('joint', joint.table);
      await ctx.outputs.table('findings', findingsTable([...findings, ...joint.findings]));
    }),
});
