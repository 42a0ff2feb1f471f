#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): tsx compiles them on the fly. Stage worker
// threads register tsx themselves.
import { register } from 'tsx/esm/api';

register();
// `lockpick show … | head` closes the pipe early: that is not an error.
process.stdout.on('error', (error) => {
  if (error.code === 'EPIPE') process.exit(0);
  throw error;
});
const { main } = await import('../src/main.ts');
const code = await main(process.argv.slice(2));
// Exit explicitly once output is flushed: a backend's thread pool must not keep the process alive.
process.stdout.write('', () => process.exit(code));
