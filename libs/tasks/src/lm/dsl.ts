/**
 * A tiny list-processing language for the code task (the paper's APPS/MBPP analogue). A program is
 * a pipeline of stages over a list of integers 0–99, written as words:
 *
 *   program  := pipeline
 *   pipeline := stage ( '|' stage )*
 *   stage    := 'map' ( '+' | '-' | '*' ) N        elementwise x+N, x-N, x*N
 *             | 'filter' ( 'even' | 'odd' )         keep the even / odd values
 *             | 'take' N | 'drop' N                 the first N values / all but the first N
 *             | 'reverse' | 'sort'                  reverse / sort ascending
 *             | 'rotate' N                          move the first N values (mod length) to the end
 *             | 'dup'                               the list twice: 1 2 -> 1 2 1 2
 *             | 'repeat' N '(' pipeline ')'         run the pipeline N times
 *   N        := '0' … '99'
 *
 * Running is bounded: every primitive application and every loop iteration is one step, and every
 * intermediate list must stay within `maxOutput` values, each in 0–99. Parsing and running never
 * throw; every failure is an `{ ok: false, error }`.
 */

export type MapOp = '+' | '-' | '*';

export type Stage =
  | { op: 'map'; fn: MapOp; k: number }
  | { op: 'filter'; parity: 'even' | 'odd' }
  | { op: 'take' | 'drop' | 'rotate'; k: number }
  | { op: 'reverse' | 'sort' | 'dup' }
  | { op: 'repeat'; k: number; body: Stage[] };

/** The language's own words; '+', '-', '*', '(', ')' and the numbers are core words. */
export const DSL_WORDS: readonly string[] = [
  'map',
  'filter',
  'even',
  'odd',
  'take',
  'drop',
  'reverse',
  'sort',
  'rotate',
  'dup',
  'repeat',
  '|',
];

export const MAX_VALUE = 99;

export interface RunLimits {
  /** Primitive applications plus loop iterations. */
  maxSteps: number;
  /** Longest list allowed at any point of the run (so `dup` in a loop cannot exhaust memory). */
  maxOutput: number;
}

export const DEFAULT_LIMITS: RunLimits = { maxSteps: 100, maxOutput: 64 };

export type ParseResult = { ok: true; program: Stage[] } | { ok: false; error: string };
export type RunResult = { ok: true; output: number[]; steps: number } | { ok: false; error: string };

// Deeper nesting than any sensible program; the bound keeps recursion off the stack limit.
const MAX_NESTING = 16;

class ParseError extends Error {}

/** A constant word: canonical decimal 0–99 ('007' and '100' are not constants). */
function parseConstant(word: string | undefined, after: string): number {
  if (word === undefined) throw new ParseError(`missing number after ${after}`);
  if (!/^(0|[1-9][0-9]*)$/.test(word))
    throw new ParseError(`expected a number after ${after}, got "${word}"`);
  const k = Number(word);
  if (k > MAX_VALUE) throw new ParseError(`number ${word} after ${after} is outside 0..${MAX_VALUE}`);
  return k;
}

class Parser {
  private pos = 0;
  constructor(private readonly words: readonly string[]) {}

  program(): Stage[] {
    if (this.words.length === 0) throw new ParseError('empty program');
    const stages = this.pipeline(0);
    if (this.pos < this.words.length) throw new ParseError(`unexpected "${this.words[this.pos]}"`);
    return stages;
  }

  private next(): string | undefined {
    return this.words[this.pos++];
  }

  private pipeline(depth: number): Stage[] {
    const stages = [this.stage(depth)];
    while (this.words[this.pos] === '|') {
      this.pos++;
      stages.push(this.stage(depth));
    }
    return stages;
  }

  private stage(depth: number): Stage {
    const word = this.next();
    switch (word) {
      case 'map': {
        const fn = this.next();
        if (fn !== '+' && fn !== '-' && fn !== '*')
          throw new ParseError(
            `expected + - or * after map, got ${fn === undefined ? 'the end' : `"${fn}"`}`,
          );
        return { op: 'map', fn, k: parseConstant(this.next(), `map ${fn}`) };
      }
      case 'filter': {
        const parity = this.next();
        if (parity !== 'even' && parity !== 'odd')
          throw new ParseError(`expected even or odd after filter, got ${parity ?? 'the end'}`);
        return { op: 'filter', parity };
      }
      case 'take':
      case 'drop':
      case 'rotate':
        return { op: word, k: parseConstant(this.next(), word) };
      case 'reverse':
      case 'sort':
      case 'dup':
        return { op: word };
      case 'repeat': {
        const k = parseConstant(this.next(), 'repeat');
        if (this.next() !== '(') throw new ParseError('expected ( after repeat N');
        if (depth + 1 > MAX_NESTING) throw new ParseError(`repeats nested deeper than ${MAX_NESTING}`);
        const body = this.pipeline(depth + 1);
        if (this.next() !== ')') throw new ParseError('missing ) after repeat body');
        return { op: 'repeat', k, body };
      }
      case undefined:
        throw new ParseError('program ends where a stage should start');
      default:
        throw new ParseError(`unknown word "${word}" where a stage should start`);
    }
  }
}

/** The stages of a program, or why it is malformed. Never throws. */
export function parseProgram(words: readonly string[]): ParseResult {
  try {
    return { ok: true, program: new Parser(words).program() };
  } catch (e) {
    if (e instanceof ParseError) return { ok: false, error: e.message };
    // The parser raises only ParseError; anything else (a stack overflow) is still no program.
    return { ok: false, error: `parse failed: ${String(e)}` };
  }
}

/** A program as words (the inverse of parseProgram). */
export function programWords(stages: readonly Stage[]): string[] {
  const words: string[] = [];
  stages.forEach((stage, i) => {
    if (i > 0) words.push('|');
    switch (stage.op) {
      case 'map':
        words.push('map', stage.fn, String(stage.k));
        break;
      case 'filter':
        words.push('filter', stage.parity);
        break;
      case 'take':
      case 'drop':
      case 'rotate':
        words.push(stage.op, String(stage.k));
        break;
      case 'reverse':
      case 'sort':
      case 'dup':
        words.push(stage.op);
        break;
      case 'repeat':
        words.push('repeat', String(stage.k), '(', ...programWords(stage.body), ')');
        break;
    }
  });
  return words;
}

function applyPrimitive(stage: Exclude<Stage, { op: 'repeat' }>, xs: number[]): number[] {
  switch (stage.op) {
    case 'map': {
      const { fn, k } = stage;
      return xs.map((x) => (fn === '+' ? x + k : fn === '-' ? x - k : x * k));
    }
    case 'filter': {
      const rest = stage.parity === 'even' ? 0 : 1;
      return xs.filter((x) => x % 2 === rest);
    }
    case 'take':
      return xs.slice(0, stage.k);
    case 'drop':
      return xs.slice(stage.k);
    case 'rotate': {
      if (xs.length === 0) return xs;
      const k = stage.k % xs.length;
      return [...xs.slice(k), ...xs.slice(0, k)];
    }
    case 'reverse':
      return [...xs].reverse();
    case 'sort':
      return [...xs].sort((a, b) => a - b);
    case 'dup':
      return [...xs, ...xs];
  }
}

/** Why a list breaks the limits, or null when it keeps them. */
function listError(xs: readonly number[], limits: RunLimits, after: string): string | null {
  if (xs.length > limits.maxOutput)
    return `list of ${xs.length} values after ${after} exceeds ${limits.maxOutput}`;
  for (const x of xs)
    if (!Number.isInteger(x) || x < 0 || x > MAX_VALUE)
      return `value ${x} after ${after} is outside the integers 0..${MAX_VALUE}`;
  return null;
}

/** A run in progress. Failures are returned, not thrown: the generator runs millions of them. */
class Machine {
  steps = 0;
  constructor(private readonly limits: RunLimits) {}

  /** The list after the stages, or the error that stopped the run. */
  run(stages: readonly Stage[], input: number[]): { list: number[] } | { error: string } {
    let xs = input;
    for (const stage of stages) {
      if (stage.op === 'repeat') {
        for (let i = 0; i < stage.k; i++) {
          if (++this.steps > this.limits.maxSteps)
            return { error: `step limit of ${this.limits.maxSteps} exceeded` };
          const body = this.run(stage.body, xs);
          if ('error' in body) return body;
          xs = body.list;
        }
      } else {
        if (++this.steps > this.limits.maxSteps)
          return { error: `step limit of ${this.limits.maxSteps} exceeded` };
        xs = applyPrimitive(stage, xs);
        const error = listError(xs, this.limits, stage.op);
        if (error) return { error };
      }
    }
    return { list: xs };
  }
}

/** Runs parsed stages on a list within the limits. Never throws. */
export function runStages(
  stages: readonly Stage[],
  input: readonly number[],
  limits: RunLimits = DEFAULT_LIMITS,
): RunResult {
  const inputError = listError(input, limits, 'input');
  if (inputError) return { ok: false, error: inputError };
  const machine = new Machine(limits);
  const result = machine.run(stages, [...input]);
  return 'error' in result
    ? { ok: false, error: result.error }
    : { ok: true, output: result.list, steps: machine.steps };
}

/** Parses and runs a program given as words. Never throws, whatever the words. */
export function runProgram(
  words: readonly string[],
  input: readonly number[],
  limits: RunLimits = DEFAULT_LIMITS,
): RunResult {
  const parsed = parseProgram(words);
  if (!parsed.ok) return parsed;
  return runStages(parsed.program, input, limits);
}
