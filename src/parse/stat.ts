// `show stat` CSV: `# pxname,svname,...` then one line per object, every line ending in a comma.
// Columns are found by header name: their set and order change between HAProxy versions (2.6.12
// moved column 100 within its own LTS branch), so a position is never trusted.

import { ParseError } from './errors.js';
import { withRoom } from '../room.js';
import { bytePieces, Pieces, digitsIn, forEachLine, textIs } from './lines.js';
import { itemAt } from '../itemAt.js';

export type StatObjectType = 'frontend' | 'backend' | 'server' | 'listener';

/**
 * `show stat`, row by row: a row is its number, from 0 in HAProxy's order, and a cell is read at a
 * position from `columns`.
 */
export interface StatTable {
  readonly columns: ReadonlyMap<string, number>;
  readonly length: number;
  proxy(row: number): string;
  name(row: number): string;
  type(row: number): StatObjectType;
  /** The cell; undefined past the end of a short line. */
  cell(row: number, index: number): string | undefined;
  /** The cell as a number; null when it is missing, empty or not a number. */
  number(row: number, index: number): number | null;
  /** The cell is `text`, told without making a string of it. */
  cellIs(row: number, index: number, text: string): boolean;
  /**
   * The cells at `indexes` as numbers, NaN where `number` says null, into out[at], out[at + stride], ...;
   * returns -1, or where in `indexes` the first cell is that holds something other than a number.
   */
  numbers(row: number, indexes: Int32Array, out: Float64Array, at: number, stride: number): number;
  /** Every row as an object of its own, for tests. */
  rows(): StatRow[];
}

/** One row of a `StatTable`, as `rows()` gives it. */
export interface StatRow {
  readonly proxy: string;
  readonly name: string;
  readonly type: StatObjectType;
  cell(index: number): string | undefined;
  number(index: number): number | null;
}

/** The `type` column's numbers. */
const TYPES: readonly StatObjectType[] = ['frontend', 'backend', 'server', 'listener'];

export function parseStat(text: string): StatTable {
  const parser = new StatParser();
  parser.write(text);
  return parser.finish();
}

/** What the table keeps of each row, in `ParsedStat.lines`: */
const PIECE = 0; // the piece its line is in; -1 for a line split whole (it has quotes)
const START = 1; // where the line starts in the piece's bytes
const FIRST = 2; // where its comma positions start in the piece's, the line's length after them
const COMMAS = 3; // its commas: cells 0 to this
const TYPE = 4; // its type, an index of TYPES
const PER_LINE = 5;

/**
 * Parses `show stat` piece by piece as it arrives; each piece holds whole lines. A row is where its
 * line and commas are in the piece's bytes, kept in one array of numbers rather than an object per
 * row: a cell becomes a string only when it is read. 2.6 prints 150 columns and nosrv reads a few
 * dozen, so most cells never become strings. The table owns its bytes: it stays valid for good.
 */
export class StatParser {
  private columns: Map<string, number> | null = null;
  /** Cells in the header: every line has as many (each ends in a comma, the header too). */
  private width = 0;
  private typeIndex: number | undefined;
  private lineNumber = 0;
  private readonly table: ParsedStat;
  private readonly bytes = bytePieces();
  private readonly commaPositions = new Pieces(2, (memory, length) => new Uint16Array(memory.buffer, memory.byteOffset, length));

  /** `expectedRows`: room made at once, so a table as long as the last one read never grows. */
  constructor(expectedRows = 1024) {
    this.table = new ParsedStat(expectedRows);
  }

  write(lines: string): void {
    this.writeBytes(Buffer.from(lines, 'utf8'));
  }

  /** Whole lines, as bytes; they are copied, so the caller may reuse `lines` afterwards. */
  writeBytes(lines: Uint8Array): void {
    const piece: Piece = { bytes: this.bytes.keep(lines), commas: EMPTY_COMMAS };
    const index = this.table.pieces.push(piece) - 1;
    const commas = new CommaScan();
    forEachLine(piece.bytes, (start, end) => {
      if (end > start) this.line(piece, index, commas, start, end);
    });
    piece.commas = this.commaPositions.keep(commas.positions.subarray(0, commas.length));
  }

  /** The table, once the whole answer has arrived. */
  finish(): StatTable {
    if (this.columns === null) throw new ParseError('show stat', 'the answer is empty: no header line');
    this.table.columns = this.columns;
    return this.table;
  }

  private line(piece: Piece, pieceIndex: number, commas: CommaScan, start: number, end: number): void {
    const bytes = piece.bytes;
    const n = ++this.lineNumber;
    if (this.columns === null) {
      const header = headerOf(bytes.toString('utf8', start, end));
      this.columns = header.columns;
      this.width = header.width;
      this.typeIndex = this.columns.get('type');
      return;
    }
    const table = this.table;
    const first = commas.length;
    const scanned = commas.scan(bytes, start, end);
    // Until the piece's end its rows read their commas from the shared room.
    piece.commas = commas.positions;
    const row = scanned ? table.addLine(pieceIndex, start, first, commas.length - first - 1) : table.addSplit(splitCsvLine(bytes.toString('utf8', start, end)));
    // A line cut short or run together with another must not become a row: the answer is refused whole.
    const width = table.width(row);
    if (width !== this.width) throw new ParseError('show stat', `line ${n} has ${width} cells, the header ${this.width}`);
    if (!table.cellIs(row, this.width - 1, '')) throw new ParseError('show stat', `line ${n} does not end in a comma`);
    const name = table.cell(row, 1) ?? '';
    if (name === '' || table.cellIs(row, 0, '')) throw new ParseError('show stat', `line ${n} has no proxy or object name`);
    const type = this.typeIndex === undefined ? typeFromName(name) : (table.number(row, this.typeIndex) ?? -1);
    if (TYPES[type] === undefined)
      throw new ParseError('show stat', `line ${n}: type ${JSON.stringify(table.cell(row, this.typeIndex ?? 0))} is none of 0 to 3`);
    table.named(row, name, type);
  }
}

/** The longest line whose comma positions are kept (positions are 16-bit); a longer one is split. */
const MAX_LINE = 0xffff;

/** A piece of the answer: its bytes, and the comma positions of its lines, each line's after the previous line's. */
interface Piece {
  readonly bytes: Buffer;
  commas: Uint16Array;
}
const EMPTY_COMMAS = new Uint16Array(0);

/**
 * The comma positions of one piece's lines while it is read, in room shared by every parser (a
 * piece is read whole, synchronously) and copied out at the piece's end at its exact size.
 */
class CommaScan {
  private static room = new Uint16Array(MAX_LINE + 1);
  positions = CommaScan.room;
  length = 0;

  /**
   * Appends the positions (from the line's start) of bytes[start, end)'s commas, then the line's
   * length, where its last cell ends; false (and nothing kept) when the line has quotes or is too long.
   */
  scan(bytes: Buffer, start: number, end: number): boolean {
    if (end - start > MAX_LINE) return false;
    // Room for a comma at every byte, so the loop over every byte of the answer needs no checks.
    if (this.length + (end - start) + 1 > this.positions.length) {
      this.positions = CommaScan.room = withRoom(this.positions, this.length + (end - start) + 1, this.length);
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

/** The table `StatParser` builds: rows as numbers in one array, their cells in the pieces' bytes until read. */
class ParsedStat implements StatTable {
  columns: ReadonlyMap<string, number> = new Map();
  length = 0;
  readonly pieces: Piece[] = [];
  private lines: Int32Array;
  private readonly proxies: string[] = [];
  private readonly names: string[] = [];
  /** The cells of lines with quotes, split whole, by row. */
  private readonly split = new Map<number, readonly string[]>();

  constructor(expectedRows: number) {
    this.lines = new Int32Array(expectedRows * PER_LINE);
  }

  addLine(piece: number, start: number, first: number, commas: number): number {
    const row = this.length++;
    this.lines = withRoom(this.lines, this.length * PER_LINE);
    const at = row * PER_LINE;
    this.lines[at + PIECE] = piece;
    this.lines[at + START] = start;
    this.lines[at + FIRST] = first;
    this.lines[at + COMMAS] = commas;
    return row;
  }

  addSplit(cells: readonly string[]): number {
    const row = this.addLine(-1, 0, 0, cells.length - 1);
    this.split.set(row, cells);
    return row;
  }

  /** The row's name and type, once its line is found sound. */
  named(row: number, name: string, type: number): void {
    // A proxy's rows follow each other: they share one string of its name.
    const previous = this.proxies[row - 1];
    this.proxies.push(previous !== undefined && this.cellIs(row, 0, previous) ? previous : (this.cell(row, 0) ?? ''));
    this.names.push(name);
    this.lines[row * PER_LINE + TYPE] = type;
  }

  width(row: number): number {
    return this.at(row, COMMAS) + 1;
  }

  proxy(row: number): string {
    return itemAt(this.proxies, row);
  }

  name(row: number): string {
    return itemAt(this.names, row);
  }

  type(row: number): StatObjectType {
    return itemAt(TYPES, this.at(row, TYPE));
  }

  cell(row: number, index: number): string | undefined {
    const piece = this.pieceOf(row);
    if (piece === null) return this.split.get(row)?.[index];
    if (index > this.at(row, COMMAS)) return undefined;
    const start = this.cellStart(piece, row, index);
    const end = this.cellEnd(piece, row, index);
    return start === end ? '' : piece.bytes.toString('utf8', start, end);
  }

  /** Read from the bytes where it is a plain integer (almost every numeric cell), without making a string. */
  number(row: number, index: number): number | null {
    const piece = this.pieceOf(row);
    if (piece === null) return cellNumber(this.cell(row, index));
    if (index > this.at(row, COMMAS)) return null;
    const start = this.cellStart(piece, row, index);
    const end = this.cellEnd(piece, row, index);
    return start === end ? null : (digitsIn(piece.bytes, start, end) ?? cellNumber(piece.bytes.toString('utf8', start, end)));
  }

  /** One loop over the row's comma positions: a server's few dozen numbers are read on every scrape. */
  numbers(row: number, indexes: Int32Array, out: Float64Array, at: number, stride: number): number {
    let notNumber = -1;
    const piece = this.pieceOf(row);
    if (piece === null) {
      for (let j = 0; j < indexes.length; j++) {
        const index = indexes[j] ?? 0;
        const value = this.number(row, index);
        if (value === null && notNumber < 0 && (this.cell(row, index) ?? '') !== '') notNumber = j;
        out[at] = value ?? NaN;
        at += stride;
      }
      return notNumber;
    }
    const { bytes, commas } = piece;
    const base = row * PER_LINE;
    const start = this.lines[base + START] ?? 0;
    const first = this.lines[base + FIRST] ?? 0;
    const count = this.lines[base + COMMAS] ?? 0;
    // Indexed, not for-of: a typed array's iterator is slower on this path, run for every server.
    for (let j = 0; j < indexes.length; j++) {
      const index = indexes[j] ?? 0;
      let value = NaN;
      if (index <= count) {
        const cellStart = start + (index === 0 ? 0 : (commas[first + index - 1] ?? 0) + 1);
        const cellEnd = start + (commas[first + index] ?? 0);
        if (cellEnd > cellStart) {
          value = digitsIn(bytes, cellStart, cellEnd) ?? cellNumber(bytes.toString('utf8', cellStart, cellEnd)) ?? NaN;
          if (value !== value && notNumber < 0) notNumber = j;
        }
      }
      out[at] = value;
      at += stride;
    }
    return notNumber;
  }

  cellIs(row: number, index: number, text: string): boolean {
    const piece = this.pieceOf(row);
    if (piece === null) return this.split.get(row)?.[index] === text;
    return index <= this.at(row, COMMAS) && textIs(piece.bytes, this.cellStart(piece, row, index), this.cellEnd(piece, row, index), text);
  }

  rows(): StatRow[] {
    return Array.from({ length: this.length }, (_, row) => ({
      proxy: this.proxy(row),
      name: this.name(row),
      type: this.type(row),
      cell: (index: number) => this.cell(row, index),
      number: (index: number) => this.number(row, index),
    }));
  }

  private at(row: number, field: number): number {
    if (row < 0 || row >= this.length) throw new RangeError(`no row ${row} in show stat`);
    return this.lines[row * PER_LINE + field] ?? 0;
  }

  private pieceOf(row: number): Piece | null {
    const piece = this.at(row, PIECE);
    return piece < 0 ? null : itemAt(this.pieces, piece);
  }

  private cellStart(piece: Piece, row: number, index: number): number {
    const base = row * PER_LINE;
    return (this.lines[base + START] ?? 0) + (index === 0 ? 0 : (piece.commas[(this.lines[base + FIRST] ?? 0) + index - 1] ?? 0) + 1);
  }

  /** `index` at most the row's commas: the last cell ends where the line does. */
  private cellEnd(piece: Piece, row: number, index: number): number {
    const base = row * PER_LINE;
    return (this.lines[base + START] ?? 0) + (piece.commas[(this.lines[base + FIRST] ?? 0) + index] ?? 0);
  }
}

function cellNumber(text: string | undefined): number | null {
  if (text === undefined || text === '') return null;
  const value = Number(text);
  return Number.isFinite(value) ? value : null;
}

function headerOf(headerLine: string): { columns: Map<string, number>; width: number } {
  if (!headerLine.startsWith('# ')) {
    throw new ParseError('show stat', `expected a header line starting with "# ", got ${JSON.stringify(headerLine.slice(0, 80))}`);
  }
  const names = splitCsvLine(headerLine.slice(2));
  const columns = new Map<string, number>();
  names.forEach((name, index) => {
    // Past the static fields HAProxy may repeat a name; the first one is the documented column.
    if (name !== '' && !columns.has(name)) columns.set(name, index);
  });
  // Every version starts with these two: a row's proxy and name are read from there.
  if (columns.get('pxname') !== 0 || columns.get('svname') !== 1) throw new ParseError('show stat', 'the header does not start with "pxname,svname"');
  return { columns, width: names.length };
}

/** The type, as an index of TYPES, of an object named as versions without the `type` column name it. */
function typeFromName(name: string): number {
  if (name === 'FRONTEND') return TYPES.indexOf('frontend');
  if (name === 'BACKEND') return TYPES.indexOf('backend');
  return TYPES.indexOf('server');
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
export function cell(table: StatTable, row: number, column: string): string | undefined {
  const index = table.columns.get(column);
  return index === undefined ? undefined : table.cell(row, index);
}

/** The number in a cell; null when the column is missing or the cell is empty or not a number. */
export function numberCell(table: StatTable, row: number, column: string): number | null {
  const index = table.columns.get(column);
  return index === undefined ? null : table.number(row, index);
}
