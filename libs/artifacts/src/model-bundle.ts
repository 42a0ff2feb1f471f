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
