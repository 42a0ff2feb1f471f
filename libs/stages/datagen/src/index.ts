export { compositionData } from './composition-data.ts';
export { compositionTableFromArrow, compositionTableToArrow } from './composition-tables.ts';
