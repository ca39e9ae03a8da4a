// `show stat` CSV: `# pxname,svname,...` then one line per object, every line ending in a comma.
// Columns are found by header name: their set and order change between HAProxy versions (2.6.12
// moved column 100 within its own LTS branch), so a position is never trusted.

import { ParseError } from './errors.js';
import { withRoom } from '../room.js';
import { ByteStore, digitsIn, roomFor, trimmedRoom } from './lines.js';

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
  return parser.finish();
}

/**
 * Parses `show stat` piece by piece as it arrives; each piece holds whole lines. The answer's bytes
 * are kept in one buffer outside the JavaScript heap, and a row keeps where its line and commas
 * are: a cell becomes a string only when it is read. 2.6 prints 150 columns and nosrv reads a few
 * dozen, so most cells never become strings. The table owns its bytes: it stays valid for good.
 */
export class StatParser {
  private columns: Map<string, number> | null = null;
  private typeIndex: number | undefined;
  private readonly rows: StatRow[] = [];
  private readonly answer: Answer;

  /** `expected`: the size of the last answer, so that one of about the same size is stored without growing. */
  constructor(expected: StatSize = { bytes: 0, cells: 0 }) {
    this.answer = { bytes: new ByteStore(roomFor(expected.bytes)), commas: new CommaStore(roomFor(expected.cells)) };
  }

  /** How large the answer so far is, for the next parser's `expected`. */
  size(): StatSize {
    return { bytes: this.answer.bytes.length, cells: this.answer.commas.length };
  }

  write(lines: string): void {
    this.writeBytes(Buffer.from(lines, 'utf8'));
  }

  /** Whole lines, as bytes; they are copied, so the caller may reuse `lines` afterwards. */
  writeBytes(lines: Uint8Array): void {
    this.answer.bytes.appendLines(lines, (start, end) => {
      if (end > start) this.line(start, end);
    });
  }

  /** The table, once the whole answer has arrived; the room its buffers left unused is given back. */
  finish(): StatTable {
    this.answer.bytes.trim();
    this.answer.commas.trim();
    return this.table();
  }

  private table(): StatTable {
    if (this.columns === null) throw new ParseError('show stat', 'the answer is empty: no header line');
    return { columns: this.columns, rows: this.rows };
  }

  private line(start: number, end: number): void {
    const { bytes, commas } = this.answer;
    if (this.columns === null) {
      this.columns = headerColumns(bytes.text(start, end));
      this.typeIndex = this.columns.get('type');
      return;
    }
    const first = commas.length;
    const row = commas.scan(bytes.buffer, start, end)
      ? new LineRow(this.answer, start, first, commas.length - first - 1)
      : new SplitRow(splitCsvLine(bytes.text(start, end)));
    const name = row.cell(1) ?? '';
    const type = (this.typeIndex === undefined ? undefined : TYPES[row.number(this.typeIndex) ?? -1]) ?? typeFromName(name);
    this.rows.push(row.typed(row.cell(0) ?? '', name, type));
  }
}

/** An answer's bytes, and its cells kept by position. */
export interface StatSize {
  readonly bytes: number;
  readonly cells: number;
}

/** The longest line whose comma positions are kept (positions are 16-bit); a longer one is split. */
const MAX_LINE = 0xffff;

/** Comma positions of many lines in one growing array (a line is far shorter than MAX_LINE bytes). */
class CommaStore {
  positions: Uint16Array;
  length = 0;

  constructor(capacity: number) {
    this.positions = new Uint16Array(capacity);
  }

  trim(): void {
    const room = trimmedRoom(this.positions.length, this.length);
    if (room !== null) this.positions = this.positions.slice(0, room);
  }

  /**
   * Appends the positions (from the line's start) of bytes[start, end)'s commas, then the line's
   * length, where its last cell ends; false (and nothing kept) when the line has quotes or is too long.
   */
  scan(bytes: Buffer, start: number, end: number): boolean {
    if (end - start > MAX_LINE) return false;
    // Room for a comma at every byte, so the loop over every byte of the answer needs no checks.
    if (this.length + (end - start) + 1 > this.positions.length) {
      this.positions = withRoom(this.positions, this.length + (end - start) + 1, this.length);
    }
    const positions = this.positions;
    let length = this.length;
    for (let i = start; i < end; i++) {
      const byte = bytes[i];
      if (byte === 44) positions[length++] = i - start;
      else if (byte === 34) return false;
    }
    positions[length++] = end - start;
    this.length = length;
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

/** An answer's bytes and comma positions. */
interface Answer {
  readonly bytes: ByteStore;
  readonly commas: CommaStore;
}

/** A line without quotes: its cells stay in the answer's bytes until read. */
class LineRow extends Row {
  constructor(
    private readonly answer: Answer,
    private readonly start: number,
    /** Where its comma positions start in the answer's, the line's length after them. */
    private readonly first: number,
    /** Its commas: cells 0 to `count`. */
    private readonly count: number,
  ) {
    super();
  }

  cell(index: number): string | undefined {
    if (index > this.count) return undefined;
    const start = this.cellStart(index);
    const end = this.cellEnd(index);
    return start === end ? '' : this.answer.bytes.text(start, end);
  }

  /** Read from the bytes where it is a plain integer (almost every numeric cell), without making a string. */
  override number(index: number): number | null {
    if (index > this.count) return null;
    const start = this.cellStart(index);
    const end = this.cellEnd(index);
    const bytes = this.answer.bytes;
    return start === end ? null : (digitsIn(bytes.buffer, start, end) ?? cellNumber(bytes.text(start, end)));
  }

  private cellStart(index: number): number {
    return this.start + (index === 0 ? 0 : (this.answer.commas.positions[this.first + index - 1] ?? 0) + 1);
  }

  /** `index` at most `count`: the last cell ends where the line does. */
  private cellEnd(index: number): number {
    return this.start + (this.answer.commas.positions[this.first + index] ?? 0);
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
    const ch = line[i] ?? '';
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
