// The compute slots: never more than n at once, and a freed slot goes to the highest priority.
import { expect, it } from 'vitest';
import { concurrencyLimit } from './limit.ts';

const tick = () => new Promise((resolve) => setTimeout(resolve, 5));

it('hands a freed slot to the waiting call of highest priority, then to the earliest of equals', async () => {
  const limit = concurrencyLimit(1);
  const order: string[] = [];
  let release!: () => void;
  const first = limit(() => new Promise<void>((resolve) => (release = resolve)));
  const waiting = [
    limit(async () => void order.push('low'), 0),
    limit(async () => void order.push('high, first'), 5),
    limit(async () => void order.push('high, second'), 5),
    limit(async () => void order.push('middle'), 2),
  ];
  await tick();
  expect(order).toEqual([]);
  release();
  await Promise.all([first, ...waiting]);
  expect(order).toEqual(['high, first', 'high, second', 'middle', 'low']);
});

it('never runs more than n at once, even when a newcomer arrives as a slot is freed', async () => {
  const limit = concurrencyLimit(1);
  let running = 0;
  let most = 0;
  const job = async () => {
    running++;
    most = Math.max(most, running);
    await tick();
    running--;
  };
  let release!: () => void;
  const first = limit(
    () =>
      new Promise<void>((resolve) => {
        release = resolve;
      }),
  );
  const waiter = limit(job);
  await tick();
  // The newcomer comes in the microtask right after the first call's slot is given up, before the
  // waiter it was given to has resumed: a limiter that frees the slot and lets the waiter take it
  // later would run both at once.
  let newcomer!: Promise<void>;
  release();
  queueMicrotask(() => {
    newcomer = limit(job);
  });
  await first;
  await Promise.all([waiter, newcomer]);
  expect(most).toBe(1);
});
