// `show stat` CSV: `# pxname,svname,...` then one line per object, every line ending in a comma.
// Columns are found by header name: their set and order change between HAProxy versions (2.6.12
// moved column 100 within its own LTS branch), so a position is never trusted.

import { ParseError } from './errors.js';
import { digitsAt, eachLine } from './lines.js';

export type StatObjectType = 'frontend' | 'backend' | 'server' | 'listener';

export interface StatRow {
  readonly proxy: string;
  readonly name: string;
  readonly type: StatObjectType;
  /** The cell at a position from `StatTable.columns`; undefined past the end of a short line. */
  cell(index: number): string | undefined;
  /** The cell as a number; null when it is missing, empty or not a number. */
  number(index: number): number | null;
}

export interface StatTable {
  readonly columns: ReadonlyMap<string, number>;
  readonly rows: readonly StatRow[];
}

/** The `type` column's numbers. */
const TYPES: readonly StatObjectType[] = ['frontend', 'backend', 'server', 'listener'];

export function parseStat(text: string): StatTable {
  const parser = new StatParser();
  parser.write(text);
  return parser.table();
}

/**
 * Parses `show stat` piece by piece as it arrives; each piece holds whole lines. A row keeps its
 * line and where its commas are, and cuts a cell out only when it is read: 2.6 prints 150 columns,
 * nosrv reads a few dozen, and at 10,000 servers a string per cell is a million strings per read
 * that would all live until the scrape is answered.
 */
export class StatParser {
  private columns: Map<string, number> | null = null;
  private typeIndex: number | undefined;
  private readonly rows: StatRow[] = [];
  /** Every row's comma positions, one after the other: one allocation, not one per row. */
  private readonly commas: CommaStore;
  private readonly onRow: ((row: StatRow, columns: ReadonlyMap<string, number>) => void) | null;

  /**
   * `expectedCommas`: room to start with, such as the previous answer's count, so the store need
   * not grow. `onRow`: told of each row as it is parsed.
   */
  constructor(options: { readonly expectedCommas?: number; readonly onRow?: (row: StatRow, columns: ReadonlyMap<string, number>) => void } = {}) {
    this.commas = new CommaStore(Math.max(1, options.expectedCommas ?? 4096));
    this.onRow = options.onRow ?? null;
  }

  write(lines: string): void {
    eachLine(lines, (line) => {
      if (line !== '') this.line(line);
    });
  }

  table(): StatTable {
    if (this.columns === null) throw new ParseError('show stat', 'the answer is empty: no header line');
    return { columns: this.columns, rows: this.rows };
  }

  /** Commas seen in the rows so far. */
  get commaCount(): number {
    return this.commas.length;
  }

  private line(line: string): void {
    if (this.columns === null) {
      this.columns = headerColumns(line);
      this.typeIndex = this.columns.get('type');
      return;
    }
    const first = this.commas.length;
    const row = this.commas.scan(line) ? new LineRow(line, this.commas, first, this.commas.length - first) : new SplitRow(splitCsvLine(line));
    const name = row.cell(1) ?? '';
    const type = (this.typeIndex === undefined ? undefined : TYPES[row.number(this.typeIndex) ?? -1]) ?? typeFromName(name);
    const typed = row.typed(row.cell(0) ?? '', name, type);
    this.rows.push(typed);
    this.onRow?.(typed, this.columns);
  }
}

/** Comma positions of many lines in one growing array (a line is far shorter than 65,536 characters). */
class CommaStore {
  positions: Uint16Array;
  length = 0;

  constructor(capacity: number) {
    this.positions = new Uint16Array(capacity);
  }

  /** Appends the line's comma positions; false (and nothing kept) when the line has quotes or is too long. */
  scan(line: string): boolean {
    if (line.length > 0xffff) return false;
    const start = this.length;
    for (let i = 0; i < line.length; i++) {
      const code = line.charCodeAt(i);
      if (code === 44) {
        if (this.length === this.positions.length) {
          const grown = new Uint16Array(this.length * 2);
          grown.set(this.positions);
          this.positions = grown;
        }
        this.positions[this.length++] = i;
      } else if (code === 34) {
        this.length = start;
        return false;
      }
    }
    return true;
  }
}

abstract class Row implements StatRow {
  proxy = '';
  name = '';
  type: StatObjectType = 'server';
  abstract cell(index: number): string | undefined;

  number(index: number): number | null {
    return cellNumber(this.cell(index));
  }

  typed(proxy: string, name: string, type: StatObjectType): this {
    this.proxy = proxy;
    this.name = name;
    this.type = type;
    return this;
  }
}

/** A line without quotes: the cells stay in it. */
class LineRow extends Row {
  constructor(
    private readonly line: string,
    private readonly commas: CommaStore,
    private readonly first: number,
    private readonly count: number,
  ) {
    super();
  }

  cell(index: number): string | undefined {
    return index > this.count ? undefined : this.line.slice(this.start(index), this.end(index));
  }

  /** Read from the line where it is a plain integer (almost every numeric cell), without cutting a string out. */
  override number(index: number): number | null {
    if (index > this.count) return null;
    const start = this.start(index);
    const end = this.end(index);
    return start === end ? null : (digitsAt(this.line, start, end) ?? cellNumber(this.line.slice(start, end)));
  }

  private start(index: number): number {
    return index === 0 ? 0 : (this.commas.positions[this.first + index - 1] as number) + 1;
  }

  private end(index: number): number {
    return index < this.count ? (this.commas.positions[this.first + index] as number) : this.line.length;
  }
}

function cellNumber(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

/** A line with quoted cells, split whole. */
class SplitRow extends Row {
  constructor(private readonly cells: readonly string[]) {
    super();
  }

  cell(index: number): string | undefined {
    return this.cells[index];
  }
}

function headerColumns(headerLine: string): Map<string, number> {
  if (!headerLine.startsWith('# ')) {
    throw new ParseError('show stat', `expected a header line starting with "# ", got ${JSON.stringify(headerLine.slice(0, 80))}`);
  }
  const columns = new Map<string, number>();
  splitCsvLine(headerLine.slice(2)).forEach((name, index) => {
    // Past the static fields HAProxy may repeat a name; the first one is the documented column.
    if (name !== '' && !columns.has(name)) columns.set(name, index);
  });
  for (const required of ['pxname', 'svname']) {
    if (!columns.has(required)) throw new ParseError('show stat', `the header has no "${required}" column`);
  }
  return columns;
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
  return index === undefined ? undefined : row.cell(index);
}

/** The number in a cell; null when the column is missing or the cell is empty or not a number. */
export function numberCell(table: StatTable, row: StatRow, column: string): number | null {
  const index = table.columns.get(column);
  return index === undefined ? null : row.number(index);
}
