// Entry of a stage worker thread. Registers tsx first so the TypeScript sources load as they are,
// whatever launched the engine (the CLI, vitest, a benchmark).
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
