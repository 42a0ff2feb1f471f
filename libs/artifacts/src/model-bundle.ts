import * as arrow from 'apache-arrow';
import { parquetMetadata, parquetToTable, tableToParquet } from './parquet.ts';

/** A named tensor: what a model bundle stores for each weight or optimizer slot. */
export interface NamedTensor {
  name: string;
  shape: number[];
  dtype: 'float32' | 'int32';
  data: Float32Array | Int32Array;
}

/** JSON value, for model configs and metadata. */
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/**
 * Everything needed to rebuild a model: its config (architecture, hyper-parameters) and its tensors.
 * Optimizer state rides along as more tensors (by convention named `optimizer/...`).
 */
export interface ModelBundle {
  config: { [key: string]: Json };
  tensors: NamedTensor[];
}

const CONFIG_KEY = 'lockpick.model_config';

/**
 * A model bundle as Parquet: one row per tensor (name, dtype, shape, raw little-endian bytes), the
 * config as JSON in the file's key-value metadata. Any Parquet reader can list the tensors.
 */
export function modelBundleToParquet(bundle: ModelBundle): Uint8Array {
  const names = new Set<string>();
  for (const t of bundle.tensors) {
    if (names.has(t.name)) throw new Error(`model bundle: tensor "${t.name}" appears twice`);
    names.add(t.name);
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length)
      throw new Error(`model bundle: tensor "${t.name}" has shape [${t.shape}] but ${t.data.length} values`);
  }
  const table = new arrow.Table({
    name: arrow.vectorFromArray(
      bundle.tensors.map((t) => t.name),
      new arrow.Utf8(),
    ),
    dtype: arrow.vectorFromArray(
      bundle.tensors.map((t) => t.dtype),
      new arrow.Utf8(),
    ),
    shape: arrow.vectorFromArray(
      bundle.tensors.map((t) => t.shape),
      new arrow.List(new arrow.Field('item', new arrow.Int32(), false)),
    ),
    data: arrow.vectorFromArray(
      bundle.tensors.map((t) => new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice()),
      new arrow.Binary(),
    ),
  });
  return tableToParquet(table, new Map([[CONFIG_KEY, JSON.stringify(bundle.config)]]));
}

export function parquetToModelBundle(bytes: Uint8Array): ModelBundle {
  const configJson = parquetMetadata(bytes).get(CONFIG_KEY);
  if (configJson === undefined)
    throw new Error(`not a model bundle: Parquet metadata has no "${CONFIG_KEY}"`);
  const table = parquetToTable(bytes);
  const tensors: NamedTensor[] = [];
  for (let i = 0; i < table.numRows; i++) {
    const row = table.get(i);
    if (row === null) continue;
    const dtype = String(row.dtype);
    if (dtype !== 'float32' && dtype !== 'int32') throw new Error(`model bundle: unknown dtype "${dtype}"`);
    const raw = (row.data as Uint8Array).slice(); // copy: aligned, and detached from the Arrow buffer
    const data = dtype === 'float32' ? new Float32Array(raw.buffer) : new Int32Array(raw.buffer);
    const shape = Array.from(row.shape as Iterable<number>, Number);
    tensors.push({ name: String(row.name), dtype, shape, data });
  }
  return { config: JSON.parse(configJson) as ModelBundle['config'], tensors };
}
