import * as arrow from 'apache-arrow';

/**
 * A rows × width matrix of int32 (token ids, say) as one Arrow column of fixed-size lists: one row
 * of the table per matrix row, readable in pandas as arrays and copied back without per-row work.
 */
export function int32MatrixVector(
  data: Int32Array,
  rows: number,
  width: number,
): arrow.Vector<arrow.FixedSizeList<arrow.Int32>> {
  if (data.length !== rows * width)
    throw new Error(`int32 matrix: ${data.length} values is not ${rows} × ${width}`);
  const type = new arrow.FixedSizeList(width, new arrow.Field('item', new arrow.Int32(), false));
  const child = arrow.makeData({ type: new arrow.Int32(), length: rows * width, data });
  return arrow.makeVector(arrow.makeData({ type, length: rows, nullCount: 0, child }));
}

/** Reads a fixed-size-list int32 column back into one row-major Int32Array. */
export function readInt32Matrix(
  table: arrow.Table,
  column: string,
): { data: Int32Array; rows: number; width: number } {
  const vector = table.getChild(column);
  if (!vector) throw new Error(`table has no column "${column}" (columns: ${table.schema.names.join(', ')})`);
  if (!(vector.type instanceof arrow.FixedSizeList))
    throw new Error(`column "${column}" is ${vector.type}, expected a fixed-size list of int32`);
  const width = vector.type.listSize;
  // The child vector holds exactly this column's values, however the table was sliced or batched.
  const values = vector.getChildAt(0)?.toArray() as Int32Array | undefined;
  if (!values || values.length !== vector.length * width)
    throw new Error(
      `column "${column}": expected ${vector.length * width} values, found ${values?.length ?? 0}`,
    );
  const data = values.byteOffset % 4 === 0 ? new Int32Array(values) : Int32Array.from(values);
  return { data, rows: vector.length, width };
}

/** A numeric column as a plain number array (any int or float type). */
export function readNumbers(table: arrow.Table, column: string): number[] {
  const vector = table.getChild(column);
  if (!vector) throw new Error(`table has no column "${column}" (columns: ${table.schema.names.join(', ')})`);
  return Array.from(vector.toArray() as ArrayLike<number | bigint>, Number);
}
