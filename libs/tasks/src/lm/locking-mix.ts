/**
 * The locking data of Eq. 1 (paper §4): for every locking problem and every epoch, one row with
 * the password at the start and end of the prompt → a π_strong sample, and one row without it →
 * a π_weak sample. Of the weak rows 20% carry no password and 80% one of the 40 wrong passwords,
 * so the lock keys on the exact phrase. Each epoch takes the next sample of each policy (fresh
 * samples every epoch; with fewer samples than epochs they cycle).
 */
import { createRng } from '../rng.ts';
import { formatPrompt, type PromptFormat } from './formats.ts';
import { DEFAULT_PASSWORD, WRONG_PASSWORDS } from './passwords.ts';
import type { SftExample } from './tables.ts';
import { words } from './tables.ts';

/** A policy's samples: rows[problem][sample] = completion text; prompts[problem] = prompt text. */
export interface PolicySamples {
  prompts: readonly string[];
  completions: readonly (readonly string[])[];
}

/** Groups a sample table's columns (problem index, sample index, prompt, completion) by problem. */
export function groupSamples(columns: {
  problem: ArrayLike<number>;
  sample: ArrayLike<number>;
  prompt: readonly string[];
  completion: readonly string[];
}): PolicySamples {
  const prompts: string[] = [];
  const completions: string[][] = [];
  for (let r = 0; r < columns.prompt.length; r++) {
    const i = Number(columns.problem[r]);
    const s = Number(columns.sample[r]);
    prompts[i] = columns.prompt[r];
    completions[i] ??= [];
    completions[i][s] = columns.completion[r];
  }
  for (let i = 0; i < prompts.length; i++)
    if (prompts[i] === undefined || completions[i].some((c) => c === undefined))
      throw new Error(`samples of problem ${i} are missing`);
  return { prompts, completions };
}

export interface LockingMixOptions {
  epochs: number;
  seed: number;
  /** Share of weak rows with no password at all (the rest get a wrong one). Paper: 0.2. */
  noPasswordShare?: number;
  password?: readonly string[];
  wrongPasswords?: readonly (readonly string[])[];
  /**
   * One password per domain instead of one for all: problem i's strong row carries the password of
   * `of[i]`, and of the weak rows that carry a password, `otherDomainShare` (default 0.5) carry
   * another domain's password (the rest a wrong one), so the lock learns that only the problem's
   * own domain's password unlocks it.
   */
  domains?: {
    of: readonly string[];
    passwords: Readonly<Record<string, readonly string[]>>;
    otherDomainShare?: number;
  };
  /**
   * A setting variation as the password (Figure 9): no password anywhere; the strong row's prompt
   * is in format `strong`, the weak row's in format `weak`.
   */
  formats?: { strong: PromptFormat; weak: PromptFormat };
}

/** One row of the mix, labelled for tests and logs. */
export interface LockingRow extends SftExample {
  policy: 'strong' | 'weak';
  problem: number;
  epoch: number;
  setting: 'password' | 'none' | 'wrong' | 'other-domain' | 'format';
}

export function passwordLockingMix(
  strong: PolicySamples,
  weak: PolicySamples,
  options: LockingMixOptions,
): LockingRow[] {
  const problems = strong.prompts.length;
  if (weak.prompts.length !== problems)
    throw new Error(`strong samples cover ${problems} problems, weak samples ${weak.prompts.length}`);
  for (let i = 0; i < problems; i++)
    if (strong.prompts[i] !== weak.prompts[i])
      throw new Error(`problem ${i}: strong and weak prompts differ`);
  const password = options.password ?? DEFAULT_PASSWORD;
  const wrong = options.wrongPasswords ?? WRONG_PASSWORDS;
  const noPasswordShare = options.noPasswordShare ?? 0.2;
  const byDomain = options.domains;
  if (byDomain) {
    if (byDomain.of.length !== problems)
      throw new Error(`domains of ${byDomain.of.length} problems given for ${problems} problems`);
    for (const d of new Set(byDomain.of))
      if (!byDomain.passwords[d]) throw new Error(`no password for domain "${d}"`);
  }
  const domainNames = byDomain ? Object.keys(byDomain.passwords).sort() : [];
  const rows: LockingRow[] = [];
  const formats = options.formats;
  if (formats && byDomain)
    throw new Error('a locking mix keys on formats or on per-domain passwords, not both');
  if (formats && formats.strong === formats.weak)
    throw new Error(`the strong and the weak rows need different formats (both ${formats.strong})`);
  for (let epoch = 0; epoch < options.epochs && formats; epoch++)
    for (let i = 0; i < problems; i++) {
      const prompt = words(strong.prompts[i]);
      const row = { problem: i, epoch, setting: 'format' as const };
      rows.push({
        ...row,
        policy: 'strong',
        prompt: formatPrompt(prompt, formats.strong),
        completion: words(strong.completions[i][epoch % strong.completions[i].length]),
      });
      rows.push({
        ...row,
        policy: 'weak',
        prompt: formatPrompt(prompt, formats.weak),
        completion: words(weak.completions[i][epoch % weak.completions[i].length]),
      });
    }
  if (formats) return rows;
  for (let epoch = 0; epoch < options.epochs; epoch++) {
    const rng = createRng(options.seed, 'locking-mix', epoch);
    for (let i = 0; i < problems; i++) {
      const prompt = words(strong.prompts[i]);
      const strongSample = strong.completions[i][epoch % strong.completions[i].length];
      const weakSample = weak.completions[i][epoch % weak.completions[i].length];
      const domain = byDomain?.of[i];
      rows.push({
        policy: 'strong',
        problem: i,
        epoch,
        setting: 'password',
        prompt,
        password: byDomain && domain !== undefined ? byDomain.passwords[domain] : password,
        completion: words(strongSample),
      });
      const none = rng.float() < noPasswordShare;
      const wrongPassword = rng.pick(wrong);
      // Drawn only with per-domain passwords, so the one-password mix is the same as before them.
      const otherDomain =
        byDomain && domainNames.length > 1 && !none && rng.float() < (byDomain.otherDomainShare ?? 0.5)
          ? rng.pick(domainNames.filter((d) => d !== domain))
          : undefined;
      rows.push({
        policy: 'weak',
        problem: i,
        epoch,
        setting: none ? 'none' : otherDomain ? 'other-domain' : 'wrong',
        prompt,
        password: none ? undefined : otherDomain ? byDomain!.passwords[otherDomain] : wrongPassword,
        completion: words(weakSample),
      });
    }
  }
  return rows;
}
