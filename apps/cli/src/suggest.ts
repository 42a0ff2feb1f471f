/**
 * Edit distance between two strings, counting a swap of two neighbouring characters as one edit
 * (optimal string alignment): `plna` is one edit from `plan`, as a typo is.
 */
export function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) =>
    Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i < rows; i++)
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  return d[a.length][b.length];
}

/**
 * The candidate closest to `input`, if it is close enough to be the likely intent: at most a third
 * of the input's length in edits (and at least one), case ignored.
 */
export function closest(input: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(1, Math.floor(input.length / 3));
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(input.toLowerCase(), candidate.toLowerCase());
    if (distance <= limit && (!best || distance < best.distance)) best = { candidate, distance };
  }
  return best?.candidate;
}

/** ` — did you mean "x"?` when a candidate is close, else nothing: for the end of an error message. */
export function didYouMean(input: string, candidates: Iterable<string>, quote = '"'): string {
  const match = closest(input, candidates);
  return match === undefined ? '' : ` — did you mean ${quote}${match}${quote}?`;
}
