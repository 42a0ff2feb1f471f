import { tableFromColumns } from '@lockpick/artifacts';
import type * as arrow from 'apache-arrow';
import { meanInterval } from './statistics.ts';

/**
 * One published claim judged on our numbers. Report stages write these as a `findings` output with
 * the columns below; `lockpick report` shows every table with `finding` and `verdict` columns as its
 * findings panel, so verdicts are always computed from the data, never typed into the page.
 */
export interface Finding {
  /** The claim, in words. */
  finding: string;
  /** What it is about (a lock kind, a removal method), when the claim is tested more than once. */
  subject: string;
  /** What the published work reports. */
  paper: string;
  /** Our numbers behind the verdict, with the thresholds they were held to. */
  measured: string;
  /** holds: reproduced; fails: not reproduced; inconclusive: the data cannot tell (e.g. no lock). */
  verdict: 'holds' | 'fails' | 'inconclusive';
}

export function findingsTable(findings: readonly Finding[]): arrow.Table {
  return tableFromColumns({
    finding: findings.map((f) => f.finding),
    subject: findings.map((f) => f.subject),
    paper: findings.map((f) => f.paper),
    measured: findings.map((f) => f.measured),
    verdict: findings.map((f) => f.verdict),
  });
}

/**
 * A claim's verdict from per-seed values: holds / fails when the 95% interval of their mean lies on
 * one side of `threshold` (`above` or `below` it), inconclusive otherwise or with no values.
 * `within`: the interval inside (−threshold, threshold), as "stays near" asks of a difference.
 */
export function verdictOf(
  values: number[],
  threshold: number,
  direction: 'above' | 'below' | 'within',
): Finding['verdict'] {
  const s = meanInterval(values);
  if (s.n === 0) return 'inconclusive';
  const half = Number.isFinite(s.ci95) ? s.ci95 : 0;
  const low = s.mean - half;
  const high = s.mean + half;
  if (direction === 'above') return low >= threshold ? 'holds' : high < threshold ? 'fails' : 'inconclusive';
  if (direction === 'within')
    return low > -threshold && high < threshold
      ? 'holds'
      : low >= threshold || high <= -threshold
        ? 'fails'
        : 'inconclusive';
  return high < threshold ? 'holds' : low >= threshold ? 'fails' : 'inconclusive';
}
