// Runs the fixture pipeline in its own process: `node --import tsx run-fixture.ts STORE [scale]`.
// Used by the tests that kill a run or run two at once.
import { ArtifactStore } from '@lockpick/artifacts';
import { lastValueFrom, tap } from 'rxjs';
import { resolvePipeline } from '../pipeline.ts';
import { runPipeline } from '../run.ts';
import { fixturePipeline } from './fixture-pipeline.ts';

const [storeRoot, scale = 'slow'] = process.argv.slice(2);
const store = await ArtifactStore.open(storeRoot);
const pipeline = resolvePipeline(fixturePipeline, { scale });
const abort = new AbortController();
process.on('SIGTERM', () => abort.abort());
const done = await lastValueFrom(
  runPipeline(pipeline, store, { jobs: 2, signal: abort.signal }).pipe(
    tap((e) => {
      if (e.type === 'node-done' || e.type === 'node-start' || e.type === 'node-failed')
        process.stdout.write(`${e.type} ${e.node}${e.type === 'node-done' ? ` ${e.status}` : ''}\n`);
    }),
  ),
);
if (done.type !== 'run-done') throw new Error('no summary');
process.stdout.write(`summary ${JSON.stringify(done.summary)}\n`);
process.exitCode = done.summary.failed.length > 0 || done.summary.cancelled ? 1 : 0;
