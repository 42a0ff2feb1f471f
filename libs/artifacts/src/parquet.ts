import { openAsBlob } from 'node:fs';
import { ReadableStream } from 'node:stream/web';
import * as arrow from 'apache-arrow';
import * as parquet from 'parquet-wasm';

/** Arrow tables go to disk as Parquet with zstd: compact, and readable by DuckDB, pandas and polars. */
function writerProperties(metadata?: Map<string, string>): parquet.WriterProperties {
  let builder = new parquet.WriterPropertiesBuilder()
    .setCompression(parquet.Compression.ZSTD)
    .setCreatedBy('lockpick (parquet-wasm 0.8.0)');
  if (metadata && metadata.size > 0) builder = builder.setKeyValueMetadata(metadata);
  return builder.build();
}

function toWasmTable(table: arrow.Table): parquet.Table {
  return parquet.Table.fromIPCStream(arrow.tableToIPC(table, 'stream'));
}

/** Serialises an Arrow table to Parquet bytes. `metadata` lands in the file's key-value metadata. */
export function tableToParquet(table: arrow.Table, metadata?: Map<string, string>): Uint8Array {
  return parquet.writeParquet(toWasmTable(table), writerProperties(metadata));
}

/** Parses Parquet bytes into an Arrow table. */
export function parquetToTable(bytes: Uint8Array): arrow.Table {
  return arrow.tableFromIPC(parquet.readParquet(bytes).intoIPCStream());
}

/** Key-value metadata of a Parquet file, read without decoding the data pages. */
export function parquetMetadata(bytes: Uint8Array): Map<string, string> {
  const meta = parquet.readSchema(bytes).metadata();
  return new Map(meta);
}

/**
 * Streams a Parquet file as Arrow record batches, reading from disk as it goes, so tables larger
 * than memory can be processed batch by batch.
 */
export async function* readParquetBatches(
  path: string,
  batchSize = 65_536,
): AsyncGenerator<arrow.RecordBatch> {
  const file = await parquet.ParquetFile.fromFile(await openAsBlob(path));
  const stream = (await file.stream({ batchSize })) as ReadableStream<parquet.RecordBatch>;
  for await (const wasmBatch of stream as unknown as AsyncIterable<parquet.RecordBatch>) {
    const table = arrow.tableFromIPC(wasmBatch.intoIPCStream());
    for (const batch of table.batches) yield batch;
  }
}

/**
 * Encodes Arrow record batches into a Parquet byte stream without holding the whole table: each
 * incoming batch becomes (at least) one row group.
 */
export async function* writeParquetBatches(
  batches: AsyncIterable<arrow.RecordBatch>,
  metadata?: Map<string, string>,
): AsyncGenerator<Uint8Array> {
  const iterator = batches[Symbol.asyncIterator]();
  const source = new ReadableStream<parquet.RecordBatch>({
    async pull(controller) {
      const next = await iterator.next();
      if (next.done) {
        controller.close();
        return;
      }
      for (const wasmBatch of toWasmTable(new arrow.Table(next.value)).recordBatches())
        controller.enqueue(wasmBatch);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  const encoded = await parquet.transformParquetStream(source, writerProperties(metadata));
  for await (const chunk of encoded as unknown as AsyncIterable<Uint8Array>) yield chunk;
}
