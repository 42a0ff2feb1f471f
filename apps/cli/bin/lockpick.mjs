#!/usr/bin/env node
// Runs the TypeScript sources directly (no build step): tsx compiles them on the fly. Stage worker
// threads register tsx themselves.

// Loading the CLI takes a second or more: a signal meanwhile ends it with 130 ("interrupted"), as
// it would later, instead of by the signal. main() takes over signals (and stdout errors) itself.
const exitInterrupted = () => process.exit(130);
process.on('SIGINT', exitInterrupted);
process.on('SIGTERM', exitInterrupted);
const { register } = await import('tsx/esm/api');
register();
const { exitWhenFlushed, main } = await import('../src/main.ts');
process.off('SIGINT', exitInterrupted);
process.off('SIGTERM', exitInterrupted);
const code = await main(process.argv.slice(2));
// Exit explicitly once output is flushed: a backend's thread pool must not keep the process alive.
exitWhenFlushed(code);
