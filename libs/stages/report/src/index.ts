export { aggregateRuns } from './aggregate.ts';
export { type MeanInterval, meanInterval } from './statistics.ts';
