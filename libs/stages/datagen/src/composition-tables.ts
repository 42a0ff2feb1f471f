import { int32MatrixVector, readInt32Matrix, readNumbers } from '@lockpick/artifacts';
import { type CompositionTable, detokenizeComposition } from '@lockpick/tasks';
import * as arrow from 'apache-arrow';

/**
 * A function-composition table as Arrow: token ids (fixed-size lists) for training, the same rows as
 * text for people, and per-row metadata. Column names are snake_case for pandas and DuckDB users.
 */
export function compositionTableToArrow(table: CompositionTable): arrow.Table {
  const text: string[] = [];
  for (let row = 0; row < table.rows; row++)
    text.push(detokenizeComposition(table.tokens.subarray(row * table.seqLen, (row + 1) * table.seqLen)));
  return new arrow.Table({
    tokens: int32MatrixVector(table.tokens, table.rows, table.seqLen),
    text: arrow.vectorFromArray(text, new arrow.Utf8()),
    fn_a: arrow.makeVector(table.fnA),
    fn_b: arrow.makeVector(table.fnB),
    locked_count: arrow.makeVector(table.lockedCount),
    with_password: arrow.makeVector(table.withPassword),
    strong_policy: arrow.makeVector(table.strongPolicy),
  });
}

/** The reverse of compositionTableToArrow. */
export function compositionTableFromArrow(table: arrow.Table): CompositionTable {
  const tokens = readInt32Matrix(table, 'tokens');
  const lockedCount = Uint8Array.from(readNumbers(table, 'locked_count'));
  return {
    rows: tokens.rows,
    seqLen: tokens.width,
    tokens: tokens.data,
    fnA: Int32Array.from(readNumbers(table, 'fn_a')),
    fnB: Int32Array.from(readNumbers(table, 'fn_b')),
    lockedCount,
    hasLockedFn: lockedCount.map((c) => (c > 0 ? 1 : 0)),
    withPassword: Uint8Array.from(readNumbers(table, 'with_password')),
    strongPolicy: Uint8Array.from(readNumbers(table, 'strong_policy')),
  };
}
