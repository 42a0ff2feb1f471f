// A slow pipeline for the CLI's interruption test, built from the engine's fixture stages.
import { fixturePipeline } from '../../../../libs/engine/src/testing/fixture-pipeline.ts';

export default fixturePipeline;
