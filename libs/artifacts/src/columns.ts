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

/** A string column as a string array (null entries read as ''). */
export function readStrings(table: arrow.Table, column: string): string[] {
  const vector = table.getChild(column);
  if (!vector) throw new Error(`table has no column "${column}" (columns: ${table.schema.names.join(', ')})`);
  return Array.from({ length: vector.length }, (_, i) => {
    const value: unknown = vector.get(i);
    return value === null || value === undefined ? '' : String(value);
  });
}

/** Column values a table can be built from: strings, booleans, numbers (nulls allowed) or typed arrays. */
export type ColumnValues =
  | readonly (string | number | boolean | null)[]
  | Int32Array
  | Uint8Array
  | Float32Array
  | Float64Array;

/**
 * An Arrow table from named columns with explicit types: typed arrays keep theirs; a plain array
 * takes the type of its first non-null value (strings → Utf8, booleans → Bool, numbers → Float64),
 * so readers see the same schema however many rows; nulls stay nulls.
 */
export function tableFromColumns(columns: Record<string, ColumnValues>): arrow.Table {
  const vectors: Record<string, arrow.Vector> = {};
  for (const [name, values] of Object.entries(columns)) {
    if (ArrayBuffer.isView(values)) {
      vectors[name] = arrow.makeVector(values);
      continue;
    }
    const sample = (values as readonly unknown[]).find((v) => v !== null);
    const type =
      typeof sample === 'string'
        ? new arrow.Utf8()
        : typeof sample === 'boolean'
          ? new arrow.Bool()
          : new arrow.Float64();
    vectors[name] = arrow.vectorFromArray(values as unknown[], type);
  }
  return new arrow.Table(vectors);
}
