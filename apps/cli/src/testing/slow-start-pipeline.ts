// A pipeline whose module takes long to load, as one importing TensorFlow.js does: for the test of a
// signal that arrives while the CLI is still starting up. It says when loading begins, so the test
// knows the CLI is past its own imports.
import { fixturePipeline } from '../../../../libs/engine/src/testing/fixture-pipeline.ts';

process.stderr.write('loading the slow-start pipeline\n');
await new Promise((resolve) => setTimeout(resolve, 30_000));

export default fixturePipeline;
