/**
 * At most `n` calls of the returned wrapper run at once; the rest wait, the highest `priority`
 * first and, among equals, in the order they came. A finishing call hands its slot straight to the
 * next waiter, so a newcomer cannot slip in between and make it n + 1.
 */
export function concurrencyLimit(n: number): <T>(fn: () => Promise<T>, priority?: number) => Promise<T> {
  let active = 0;
  let arrivals = 0;
  const waiting: { priority: number; order: number; start: () => void }[] = [];
  const next = () => {
    let best = -1;
    for (let i = 0; i < waiting.length; i++) {
      const w = waiting[i];
      const b = waiting[best];
      if (best < 0 || w.priority > b.priority || (w.priority === b.priority && w.order < b.order)) best = i;
    }
    return best < 0 ? undefined : waiting.splice(best, 1)[0];
  };
  return async <T>(fn: () => Promise<T>, priority = 0): Promise<T> => {
    if (active < n) active++;
    else await new Promise<void>((start) => waiting.push({ priority, order: arrivals++, start }));
    try {
      return await fn();
    } finally {
      const waiter = next();
      if (waiter) waiter.start();
      else active--;
    }
  };
}
