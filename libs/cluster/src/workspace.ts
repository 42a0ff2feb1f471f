import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { AnyStage } from '@lockpick/engine';

/** The checkout this code runs from: runs name stage files relative to it, workers load them from theirs. */
export const WORKSPACE_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** A stage's file relative to the workspace root, as a job carries it to workers on other machines. */
export function stageModulePath(stage: AnyStage, root = WORKSPACE_ROOT): string {
  const file = fileURLToPath(stage.module);
  const relative = path.relative(root, file);
  if (relative.startsWith('..') || path.isAbsolute(relative))
    throw new Error(
      `stage ${stage.name} is defined in ${file}, outside the workspace ${root}: workers on other machines could not load it`,
    );
  return relative.split(path.sep).join('/');
}

function isStage(value: unknown): value is AnyStage {
  return (
    typeof value === 'object' && value !== null && 'run' in value && 'module' in value && 'name' in value
  );
}

/** Loads a stage from this checkout by its file (relative to the workspace root) and name. */
export async function loadStage(modulePath: string, name: string, root = WORKSPACE_ROOT): Promise<AnyStage> {
  const file = path.resolve(root, modulePath);
  if (path.relative(root, file).startsWith('..'))
    throw new Error(`stage file ${modulePath} is outside ${root}`);
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (error) {
    throw new Error(`this checkout cannot load ${modulePath}: ${(error as Error).message}`);
  }
  const stage = Object.values(module).find((v): v is AnyStage => isStage(v) && v.name === name);
  if (!stage) throw new Error(`${modulePath} in this checkout exports no stage named ${name}`);
  return stage;
}
