// Readings from literal values: the tables a source returns, made from plain records rather than
// from text that a parser reads back.

import type { ServersStateTable, ServerStateRow } from '../../src/parse/serversState.js';
import type { StatObjectType, StatRow, StatTable } from '../../src/parse/stat.js';

export type Cells = Readonly<Record<string, string | number | null | undefined>>;

const TYPES: readonly StatObjectType[] = ['frontend', 'backend', 'server', 'listener'];

/** `show stat` with these columns, a row per record (`pxname`, `svname` and `type` name the object; a missing cell is empty). */
export function statTableOf(columns: readonly string[], records: readonly Cells[]): StatTable {
  const rows = records.map((record): StatRow => {
    const cells = columns.map((name) => {
      const value = record[name];
      return value === null || value === undefined ? '' : String(value);
    });
    const cell = (i: number): string | undefined => cells[i];
    const name = record.svname === undefined || record.svname === null ? '' : String(record.svname);
    const type = TYPES[Number(record.type)] ?? (name === 'FRONTEND' ? 'frontend' : name === 'BACKEND' ? 'backend' : 'server');
    return {
      proxy: String(record.pxname ?? ''),
      name,
      type,
      cell,
      number: (i) => {
        const text = cell(i);
        return text === undefined || text === '' || !Number.isFinite(Number(text)) ? null : Number(text);
      },
    };
  });
  const at = (row: number): StatRow => {
    const found = rows[row];
    if (found === undefined) throw new RangeError(`no row ${row} in show stat`);
    return found;
  };
  return {
    columns: new Map(columns.map((name, i) => [name, i])),
    length: rows.length,
    proxy: (row) => at(row).proxy,
    name: (row) => at(row).name,
    type: (row) => at(row).type,
    cell: (row, index) => at(row).cell(index),
    number: (row, index) => at(row).number(index),
    cellIs: (row, index, text) => at(row).cell(index) === text,
    numbers(row, indexes, out, first, stride) {
      let notNumber = -1;
      indexes.forEach((index, j) => {
        const value = at(row).number(index);
        if (value === null && notNumber < 0 && (at(row).cell(index) ?? '') !== '') notNumber = j;
        out[first + j * stride] = value ?? NaN;
      });
      return notNumber;
    },
    rows: () => [...rows],
  };
}

/** `show servers state` from plain rows. */
export function serversStateOf(rows: readonly ServerStateRow[]): ServersStateTable {
  const at = (i: number): ServerStateRow => {
    const row = rows[i];
    if (row === undefined) throw new RangeError(`no server ${i} in show servers state`);
    return row;
  };
  return {
    length: rows.length,
    opState: (i) => at(i).opState,
    number: (i, field) => at(i)[field],
    port: (i) => at(i).port,
    backend: (i) => at(i).backend,
    server: (i) => at(i).server,
    address: (i) => at(i).address,
    is: (i, backend, server) => at(i).backend === backend && at(i).server === server,
    rows: () => [...rows],
  };
}
