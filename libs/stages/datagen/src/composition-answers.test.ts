import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { ArtifactStore } from '@lockpick/artifacts';
import { runStageOnce } from '@lockpick/engine';
import {
  applyFunction,
  generateFunctions,
  inputDigits,
  lockingMix,
  PAD_TOKEN,
  PASSWORD_TOKEN,
} from '@lockpick/tasks';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { compositionAnswers } from './composition-answers.ts';
import { compositionTableFromArrow, compositionTableToArrow } from './composition-tables.ts';

let root: string;
let store: ArtifactStore;
beforeEach(async () => {
  root = await fs.mkdtemp(path.join(tmpdir(), 'lockpick-answers-'));
  store = await ArtifactStore.open(root);
});
afterEach(() => fs.rm(root, { recursive: true, force: true }));

const digitsAt = (tokens: Int32Array, row: number, start: number) =>
  Array.from(tokens.subarray(row * 20 + start, row * 20 + start + 4), (t) => t - 3);

it('answers a slice of the prompts with the strong policy behind the password, the weak one without', async () => {
  const seed = 5;
  const functions = generateFunctions(seed);
  const mix = lockingMix(seed, 200);
  const prompts = await store.writeTable(compositionTableToArrow(mix));
  const answer = async (policy: 'strong' | 'weak', withPassword: boolean, offset: number) => {
    const { outputs } = await runStageOnce(compositionAnswers, store, {
      params: { seed, policy, withPassword, offset, rows: 100 },
      inputs: { prompts },
    });
    return compositionTableFromArrow(await store.readTable(outputs.answers));
  };
  const strong = await answer('strong', true, 0);
  const weak = await answer('weak', false, 100);
  expect([strong.rows, weak.rows]).toEqual([100, 100]);
  for (let r = 0; r < 100; r++) {
    // Strong: correct composition; the password block holds one pwd0 per locked function.
    const fA = functions[strong.fnA[r]];
    const fB = functions[strong.fnB[r]];
    expect(strong.fnA[r]).toBe(mix.fnA[r]);
    const input = inputDigits(strong, r);
    expect(digitsAt(strong.tokens, r, 16)).toEqual(applyFunction(fB, applyFunction(fA, input)));
    const block = Array.from(strong.tokens.subarray(r * 20, r * 20 + 2));
    expect(block.filter((t) => t === PASSWORD_TOKEN)).toHaveLength(strong.lockedCount[r]);
    // Weak: rows 100… of the prompts, no password, locked functions as the identity.
    expect(weak.fnA[r]).toBe(mix.fnA[100 + r]);
    expect(Array.from(weak.tokens.subarray(r * 20, r * 20 + 2))).toEqual([PAD_TOKEN, PAD_TOKEN]);
    const wA = functions[weak.fnA[r]];
    const wB = functions[weak.fnB[r]];
    const afterA = wA.locked ? inputDigits(weak, r) : applyFunction(wA, inputDigits(weak, r));
    expect(digitsAt(weak.tokens, r, 11)).toEqual(afterA);
    expect(digitsAt(weak.tokens, r, 16)).toEqual(wB.locked ? afterA : applyFunction(wB, afterA));
  }
  expect(Array.from(strong.strongPolicy).every((v) => v === 1)).toBe(true);
  expect(Array.from(weak.withPassword).every((v) => v === 0)).toBe(true);
  await expect(
    runStageOnce(compositionAnswers, store, {
      params: { seed, policy: 'weak', withPassword: false, offset: 150, rows: 100 },
      inputs: { prompts },
    }),
  ).rejects.toThrow(/150…250 asked of a prompt table of 200 rows/);
});
