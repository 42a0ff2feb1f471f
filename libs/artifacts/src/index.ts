export {
  type ColumnValues,
  int32MatrixVector,
  readInt32Matrix,
  readNumbers,
  readStrings,
  tableFromColumns,
} from './columns.ts';
export { canonicalJson, sha256, sha256File } from './hash.ts';
export type { Json, ModelBundle, NamedTensor } from './model-bundle.ts';
export { modelBundleToParquet, parquetToModelBundle } from './model-bundle.ts';
export {
  parquetMetadata,
  parquetToTable,
  readParquetBatches,
  tableToParquet,
  writeParquetBatches,
} from './parquet.ts';
export type {
  ArtifactKind,
  ArtifactRef,
  LockHolder,
  LockOptions,
  Manifest,
  ObjectState,
  RunHolder,
  RunRecord,
  RunSettings,
  StoreUser,
} from './store.ts';
export { ArtifactStore, CorruptArtifactError, NoStoreError, StoreBusyError } from './store.ts';
