import { definePipeline, type OutputRef, type PipelineBuilder } from '@lockpick/engine';
import { languageSubset } from '@lockpick/stage-datagen';
import {
  demoEpochCandidates,
  epochCandidateModels,
  languageDemoSftEpochs,
} from '@lockpick/stage-elicitation';
import { languageGroupScore } from '@lockpick/stage-evaluation';
import { jointLanguageLock } from '@lockpick/stage-locking';
import { crossDomainReport } from '@lockpick/stage-report';
import { domainPasswords, languageTask } from '@lockpick/tasks';
import {
  buildLanguageWorld,
  CLASSIFICATION,
  type PasswordLockingScale,
  passwordLockingScales,
  taskTitle,
} from './password-locking.ts';

/**
 * Cross-domain generalisation of SFT elicitation (EXPERIMENTS.md P-lm finding 4; the paper's
 * Figures 4, 10 and 11), on the `password-locking` world and its locks (the same nodes, so a store
 * that ran it reuses them):
 *
 * 1. per task and run seed, the lock (one password for every domain) and, where the scale asks,
 *    a lock with one password per domain (the strong behaviour only with the problem's domain's);
 * 2. SFT without the password on N reference demos from one group of problems only (a domain, or a
 *    difficulty level), each App. G.3 epoch candidate a node, and on N demos from every group (for
 *    the one-password lock, the `password-locking` nodes themselves);
 * 3. every model scored per domain and per difficulty; the report reads, on the groups the demos
 *    did *not* come from, how much of the all-group recovery one group's demos give;
 * 4. "code + math in one model": one lock of several tasks at once (one password), elicited by SFT
 *    on one task's demos and scored on every task of the lock.
 */
export interface CrossDomainScale {
  /** The world (policies and locks), as `password-locking` builds it. */
  world: PasswordLockingScale;
  /** Tasks and how their problems are grouped (the paper: MATH by category and by difficulty, MMLU by category). */
  groupings: Record<string, ('domain' | 'difficulty')[]>;
  /** Tasks that also get a lock with one password per domain (elicited by domain groups only). */
  perDomainPasswords: string[];
  /**
   * Figure 17: per task, domains each held out of a lock of its own; each such lock is elicited by
   * demos of the held-out domain and by demos of every other domain.
   */
  heldOut: Record<string, string[]>;
  /** Sets of tasks locked together in one model, each elicited by one task's demos at a time. */
  joint: string[][];
  /** N for generation tasks and for the classification task (the paper's 4/64/512 and 16/128/512). */
  demos: number[];
  classificationDemos: number[];
}

type ScaleName = 'default' | 'small' | 'smoke';

const GROUPINGS: CrossDomainScale['groupings'] = { math: ['domain', 'difficulty'], mmlu: ['domain'] };

export const crossDomainScales: Record<ScaleName, CrossDomainScale> = {
  default: {
    world: { ...passwordLockingScales.default, experimentTasks: ['math', 'mmlu'] },
    groupings: GROUPINGS,
    perDomainPasswords: ['math', 'mmlu'],
    // One domain each (the task's last), to keep to three more locks a task.
    heldOut: { math: ['modular'], mmlu: ['metal'] },
    joint: [['code', 'math']],
    demos: [4, 64, 512],
    classificationDemos: [16, 128, 512],
  },
  // A group of the small world's demo pool holds about 225–300 problems.
  small: {
    world: passwordLockingScales.small,
    groupings: GROUPINGS,
    perDomainPasswords: ['math'],
    heldOut: { math: ['modular'] },
    // The small world has no code task, and its math and mmlu locks train for different epochs.
    joint: [],
    demos: [4, 64],
    classificationDemos: [16, 128],
  },
  smoke: {
    world: { ...passwordLockingScales.smoke, experimentTasks: ['math'] },
    groupings: { math: ['domain'] },
    perDomainPasswords: ['math'],
    heldOut: { math: ['modular'] },
    // The smoke world has no code task: math and mmlu stand in for code and math.
    joint: [['math', 'mmlu']],
    demos: [4],
    classificationDemos: [4],
  },
};

/**
 * Difficulty levels fine-tuned on together. Math's level 1 holds 21 of the default pool's 1,800
 * problems (levels 2 and 3: 683 and 1,096), too few for N = 64, so math's groups are levels 1–2
 * and level 3; any other task's levels go one by one.
 */
const DIFFICULTY_GROUPS: Record<string, string[][]> = { math: [['1', '2'], ['3']] };

/** The groups of a task under a grouping: its domains, or its difficulty levels, each as the values it joins. */
function groupsOf(task: string, grouping: 'domain' | 'difficulty'): string[][] {
  const t = languageTask(task);
  if (grouping === 'domain') return t.domains.map((d) => [d]);
  return DIFFICULTY_GROUPS[task] ?? Array.from({ length: t.difficulties }, (_, k) => [String(k + 1)]);
}

export function buildCrossDomain(
  p: PipelineBuilder,
  options: { seeds: readonly number[]; scale: CrossDomainScale; prefix?: string },
): {
  crossDomain: OutputRef<'table'>;
  heldOut: OutputRef<'table'>;
  joint: OutputRef<'table'>;
  findings: OutputRef<'table'>;
} {
  const { seeds, scale: s } = options;
  const prefix = options.prefix ?? '';
  const experimentTasks = Object.keys(s.groupings);
  const { tasks, strongBase, evalRows } = buildLanguageWorld(p, {
    scale: { ...s.world, experimentTasks: [...new Set([...experimentTasks, ...s.joint.flat()])] },
    prefix,
  });
  const scores: OutputRef<'table'>[] = [];
  const score = (
    name: string,
    model: OutputRef<'model'>,
    task: string,
    params: {
      seed: number;
      policy: string;
      lock?: string;
      trainedOn?: string;
      demos?: number;
      epochs?: number;
      passwords?: ('none' | 'default' | 'domain' | 'other-domain')[];
      domainPasswords?: Record<string, string[]>;
    },
  ) =>
    scores.push(
      p.node(`${prefix}groups-${name}`, languageGroupScore, {
        params: { task, rows: evalRows, ...params },
        inputs: { model, problems: tasks.get(task)!.data.validation },
      }).out.scores,
    );
  for (const task of experimentTasks) {
    const w = tasks.get(task)!;
    const demoCounts = CLASSIFICATION.has(task) ? s.classificationDemos : s.demos;
    // Demos of one group: the elicitation pool's rows of that group, reference solutions.
    const pools: { trainedOn: string; name: string; table: OutputRef<'table'> }[] = [
      { trainedOn: 'all', name: '', table: w.data.elicit },
    ];
    for (const grouping of s.groupings[task])
      for (const values of groupsOf(task, grouping)) {
        const group = values.join('+');
        // Node names take letters, digits, '_' and '-': levels 1+2 are `1_2` there.
        const named = values.join('_');
        pools.push({
          trainedOn: `${grouping}:${group}`,
          name: `${grouping}-${named}-`,
          table: p.node(`${prefix}demos-${task}-${grouping}-${named}`, languageSubset, {
            params: { by: grouping, values },
            inputs: { table: w.data.elicit },
          }).out.table,
        });
      }
    const elicitFrom = (
      locked: OutputRef<'model'>,
      tag: string,
      seed: number,
      groups: typeof pools,
      lock = tag,
    ) => {
      const named = tag ? `${tag}-` : '';
      for (const pool of groups)
        for (const n of demoCounts) {
          // One-password, all-group demos keep password-locking's node names and parameters: the
          // same nodes.
          const name = `${task}-reference-${named}${pool.name}${seed}-n${n}`;
          // A group smaller than N gives all its problems (math's modular domain: 461 of 1,800).
          const whole = pool.trainedOn === 'all' ? {} : { wholePoolIfSmaller: true };
          const candidates = demoEpochCandidates(n);
          const sft = p.node(`${prefix}elicit-${name}`, languageDemoSftEpochs, {
            params: {
              task,
              seed,
              demos: n,
              epochs: candidates,
              column: 'reference',
              ...s.world.elicit,
              ...whole,
            },
            inputs: { model: locked, demos: pool.table },
          });
          for (const { epochs, model } of epochCandidateModels(sft.out, candidates))
            score(`elicited-${name}-e${epochs}`, model, task, {
              seed,
              policy: 'elicited',
              ...(lock ? { lock } : {}),
              trainedOn: pool.trainedOn,
              demos: n,
              epochs,
            });
        }
    };
    for (const seed of seeds) {
      const locked = w.locked(seed);
      score(`locked-${task}-${seed}`, locked, task, {
        seed,
        policy: 'locked',
        passwords: ['none', 'default'],
      });
      elicitFrom(locked, '', seed, pools);
      if (!s.perDomainPasswords.includes(task)) continue;
      const perDomain = w.domainLocked(seed);
      score(`locked-per-domain-${task}-${seed}`, perDomain, task, {
        seed,
        policy: 'locked',
        lock: 'per-domain',
        passwords: ['none', 'domain', 'other-domain'],
        domainPasswords: domainPasswords(languageTask(task).domains),
      });
      elicitFrom(
        perDomain,
        'per-domain',
        seed,
        pools.filter((x) => x.trainedOn === 'all' || x.trainedOn.startsWith('domain:')),
      );
    }
    for (const domain of s.heldOut[task] ?? []) {
      const domains = groupsOf(task, 'domain').flat();
      const others = domains.filter((d) => d !== domain);
      if (others.length === domains.length)
        throw new Error(
          `cross-domain: held-out domain "${domain}" is not one of ${task}'s (${others.join(', ')})`,
        );
      const heldPools = [
        pools.find((x) => x.trainedOn === `domain:${domain}`) ?? {
          trainedOn: `domain:${domain}`,
          name: `domain-${domain}-`,
          table: p.node(`${prefix}demos-${task}-domain-${domain}`, languageSubset, {
            params: { by: 'domain', values: [domain] },
            inputs: { table: w.data.elicit },
          }).out.table,
        },
        {
          trainedOn: `others:${domain}`,
          name: `others-${domain}-`,
          table: p.node(`${prefix}demos-${task}-others-${domain}`, languageSubset, {
            params: { by: 'domain', values: others },
            inputs: { table: w.data.elicit },
          }).out.table,
        },
      ];
      for (const seed of seeds) {
        const held = w.heldOutLocked(seed, domain);
        const lock = `held-out:${domain}`;
        score(`locked-held-out-${domain}-${task}-${seed}`, held, task, {
          seed,
          policy: 'locked',
          lock,
          passwords: ['none', 'default'],
        });
        elicitFrom(held, `held-out-${domain}`, seed, heldPools, lock);
      }
    }
  }
  for (const together of s.joint) {
    const worlds = together.map((task) => tasks.get(task)!);
    const [epochs, ...others] = worlds.map((w) => w.lockEpochs);
    if (others.some((e) => e !== epochs))
      throw new Error(
        `cross-domain: a joint lock of ${together.join(' + ')} needs one lock budget, but their locks train for ${worlds.map((w) => w.lockEpochs).join(' and ')} epochs`,
      );
    const lock = `joint:${together.join('+')}`;
    const named = together.join('-');
    for (const seed of seeds) {
      // Each task's single lock reads the same sample tables: its π_strong's and π_weak's samples
      // on the lock split, one per epoch.
      const locked = p.node(`${prefix}lock-joint-${named}-${seed}`, jointLanguageLock, {
        params: {
          tasks: together,
          seed,
          epochs,
          batchSize: s.world.lock.batchSize,
          learningRate: s.world.lock.learningRate,
        },
        inputs: {
          base: strongBase,
          strong: worlds.map((w) => w.samples('strong-on-lock', w.strong, w.data.lock, 'strong', epochs)),
          weak: worlds.map((w) => w.weakSamples(w.weakBase, 'lock', epochs)),
        },
      }).out.model;
      for (const task of together)
        score(`locked-joint-${named}-${task}-${seed}`, locked, task, {
          seed,
          policy: 'locked',
          lock,
          passwords: ['none', 'default'],
        });
      for (const from of worlds)
        for (const n of from.classification ? s.classificationDemos : s.demos) {
          const name = `joint-${named}-from-${from.task}-${seed}-n${n}`;
          const candidates = demoEpochCandidates(n);
          const sft = p.node(`${prefix}elicit-${name}`, languageDemoSftEpochs, {
            params: {
              task: from.task,
              seed,
              demos: n,
              epochs: candidates,
              column: 'reference',
              ...s.world.elicit,
            },
            inputs: { model: locked, demos: from.data.elicit },
          });
          for (const { epochs: e, model } of epochCandidateModels(sft.out, candidates))
            for (const task of together)
              score(`elicited-${name}-e${e}-on-${task}`, model, task, {
                seed,
                policy: 'elicited',
                lock,
                trainedOn: `task:${from.task}`,
                demos: n,
                epochs: e,
              });
        }
    }
  }
  const report = p.node(`${prefix}cross-domain-report`, crossDomainReport, {
    params: { tasks: experimentTasks.map((task) => ({ task, title: taskTitle(task) })) },
    inputs: { scores },
  });
  return {
    crossDomain: report.out['cross-domain'],
    heldOut: report.out['held-out'],
    joint: report.out.joint,
    findings: report.out.findings,
  };
}

export default definePipeline({
  name: 'cross-domain',
  description:
    'SFT elicitation on demos from one domain or difficulty of a password-locked model, scored on the others (finding 4)',
  defaultSeeds: [1, 2, 3],
  scales: ['default', 'small', 'smoke'],
  build: (p, { seeds, scale }) => {
    const { crossDomain, heldOut, joint, findings } = buildCrossDomain(p, {
      seeds,
      scale: crossDomainScales[scale as ScaleName],
    });
    p.results(crossDomain, heldOut, joint, findings);
  },
});
