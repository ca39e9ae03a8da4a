// `show stat` CSV: `# pxname,svname,...` then one line per object, every line ending in a comma.
// Columns are found by header name: their set and order change between HAProxy versions (2.6.12
// moved column 100 within its own LTS branch), so a position is never trusted.

import { ParseError } from './errors.js';

export type StatObjectType = 'frontend' | 'backend' | 'server' | 'listener';

export interface StatRow {
  readonly proxy: string;
  readonly name: string;
  readonly type: StatObjectType;
  /** The row's cells, addressed through `StatTable.columns`; kept for the counter families. */
  readonly cells: readonly string[];
}

export interface StatTable {
  readonly columns: ReadonlyMap<string, number>;
  readonly rows: readonly StatRow[];
}

const TYPE_CODES: Record<string, StatObjectType> = { '0': 'frontend', '1': 'backend', '2': 'server', '3': 'listener' };

export function parseStat(text: string): StatTable {
  const lines = text.split('\n');
  const headerLine = lines[0] ?? '';
  if (!headerLine.startsWith('# ')) {
    throw new ParseError('show stat', `expected a header line starting with "# ", got ${JSON.stringify(headerLine.slice(0, 80))}`);
  }
  const header = splitCsvLine(headerLine.slice(2));
  const columns = new Map<string, number>();
  header.forEach((name, index) => {
    // Past the static fields HAProxy may repeat a name; the first one is the documented column.
    if (name !== '' && !columns.has(name)) columns.set(name, index);
  });
  for (const required of ['pxname', 'svname']) {
    if (!columns.has(required)) throw new ParseError('show stat', `the header has no "${required}" column`);
  }
  const typeIndex = columns.get('type');
  const rows: StatRow[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i] as string;
    if (line === '') continue;
    const cells = splitCsvLine(line);
    const proxy = cells[0] ?? '';
    const name = cells[1] ?? '';
    const type = (typeIndex === undefined ? undefined : TYPE_CODES[cells[typeIndex] ?? '']) ?? typeFromName(name);
    rows.push({ proxy, name, type, cells });
  }
  return { columns, rows };
}

function typeFromName(name: string): StatObjectType {
  if (name === 'FRONTEND') return 'frontend';
  if (name === 'BACKEND') return 'backend';
  return 'server';
}

/** Splits one CSV line; `"` quotes a field only when needed and doubles inside it. */
export function splitCsvLine(line: string): string[] {
  if (!line.includes('"')) return line.split(',');
  const cells: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] as string;
    if (quoted) {
      if (ch !== '"') cell += ch;
      else if (line[i + 1] === '"') {
        cell += '"';
        i++;
      } else quoted = false;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      cells.push(cell);
      cell = '';
    } else cell += ch;
  }
  cells.push(cell);
  return cells;
}

/** The cell of `column` in `row`, or undefined when this HAProxy has no such column. */
export function cell(table: StatTable, row: StatRow, column: string): string | undefined {
  const index = table.columns.get(column);
  return index === undefined ? undefined : row.cells[index];
}

/** The number in a cell; null when the column is missing or the cell is empty or not a number. */
export function numberCell(table: StatTable, row: StatRow, column: string): number | null {
  const text = cell(table, row, column);
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}
