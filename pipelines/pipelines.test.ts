// Every pipeline must resolve (valid wiring and parameters) at each of its scales, before anyone runs it.
import { readdirSync } from 'node:fs';
import { type PipelineDefinition, resolvePipeline } from '@lockpick/engine';
import { describe, expect, it } from 'vitest';

const files = readdirSync(new URL('.', import.meta.url)).filter(
  (f) => f.endsWith('.ts') && !/\.(test|config)\.ts$/.test(f),
);

describe.each(files)('%s', (file) => {
  it('resolves at every scale, with its default seeds and with others', async () => {
    const definition = ((await import(`./${file}`)) as { default: PipelineDefinition }).default;
    expect(definition.name).toBe(file.replace(/\.ts$/, ''));
    for (const scale of definition.scales) {
      const resolved = resolvePipeline(definition, { scale });
      expect(resolved.nodes.length).toBeGreaterThan(0);
      expect(resolved.results.length).toBeGreaterThan(0);
      const more = resolvePipeline(definition, { scale, seeds: [...definition.defaultSeeds, 1000] });
      expect(more.nodes.length).toBeGreaterThan(resolved.nodes.length);
    }
  });
});
