// `show stat` CSV: `# pxname,svname,...` then one line per object, every line ending in a comma.
// Columns are found by header name: their set and order change between HAProxy versions (2.6.12
// moved column 100 within its own LTS branch), so a position is never trusted.

import { ParseError } from './errors.js';
import { withRoom } from '../room.js';
import { bytePieces, Pieces, digitsIn, forEachLine, textIs } from './lines.js';

export type StatObjectType = 'frontend' | 'backend' | 'server' | 'listener';

export interface StatRow {
  readonly proxy: string;
  readonly name: string;
  readonly type: StatObjectType;
  /** The cell at a position from `StatTable.columns`; undefined past the end of a short line. */
  cell(index: number): string | undefined;
  /** The cell as a number; null when it is missing, empty or not a number. */
  number(index: number): number | null;
  /** The cell is `text`, told without making a string of it. */
  cellIs(index: number, text: string): boolean;
  /** The cells at `indexes` as numbers, NaN where `number` says null, into out[at], out[at + stride], ... */
  numbers(indexes: Int32Array, out: Float64Array, at: number, stride: number): void;
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
 * Parses `show stat` piece by piece as it arrives; each piece holds whole lines. A row keeps where
 * its line and commas are in the piece's bytes: a cell becomes a string only when it is read. 2.6
 * prints 150 columns and nosrv reads a few dozen, so most cells never become strings. The table
 * owns its bytes: it stays valid for good.
 */
export class StatParser {
  private columns: Map<string, number> | null = null;
  /** Cells in the header: every line has as many (each ends in a comma, the header too). */
  private width = 0;
  private typeIndex: number | undefined;
  private lineNumber = 0;
  private readonly rows: StatRow[] = [];
  /** The last row's proxy. */
  private proxy = '';
  private readonly bytes = bytePieces();
  private readonly commaPositions = new Pieces(2, (memory, length) => new Uint16Array(memory.buffer, memory.byteOffset, length));

  write(lines: string): void {
    this.writeBytes(Buffer.from(lines, 'utf8'));
  }

  /** Whole lines, as bytes; they are copied, so the caller may reuse `lines` afterwards. */
  writeBytes(lines: Uint8Array): void {
    const piece: Piece = { bytes: this.bytes.keep(lines), commas: EMPTY_COMMAS };
    const commas = new CommaScan();
    forEachLine(piece.bytes, (start, end) => {
      if (end > start) this.line(piece, commas, start, end);
    });
    piece.commas = this.commaPositions.keep(commas.positions.subarray(0, commas.length));
  }

  /** The table, once the whole answer has arrived. */
  finish(): StatTable {
    if (this.columns === null) throw new ParseError('show stat', 'the answer is empty: no header line');
    return { columns: this.columns, rows: this.rows };
  }

  private line(piece: Piece, commas: CommaScan, start: number, end: number): void {
    const bytes = piece.bytes;
    const n = ++this.lineNumber;
    if (this.columns === null) {
      const header = headerOf(bytes.toString('utf8', start, end));
      this.columns = header.columns;
      this.width = header.width;
      this.typeIndex = this.columns.get('type');
      return;
    }
    const first = commas.length;
    const scanned = commas.scan(bytes, start, end);
    // Until the piece's end its rows read their commas from the shared room.
    piece.commas = commas.positions;
    const row = scanned ? new LineRow(piece, start, first, commas.length - first - 1) : new SplitRow(splitCsvLine(bytes.toString('utf8', start, end)));
    // A line cut short or run together with another must not become an object: the answer is refused whole.
    if (row.width !== this.width) throw new ParseError('show stat', `line ${n} has ${row.width} cells, the header ${this.width}`);
    if (!row.cellIs(this.width - 1, '')) throw new ParseError('show stat', `line ${n} does not end in a comma`);
    const name = row.cell(1) ?? '';
    if (name === '' || row.cellIs(0, '')) throw new ParseError('show stat', `line ${n} has no proxy or object name`);
    const type = this.typeIndex === undefined ? typeFromName(name) : TYPES[row.number(this.typeIndex) ?? -1];
    if (type === undefined) throw new ParseError('show stat', `line ${n}: type ${JSON.stringify(row.cell(this.typeIndex ?? 0))} is none of 0 to 3`);
    // A proxy's rows follow each other: they share one string of its name.
    if (!row.cellIs(0, this.proxy)) this.proxy = row.cell(0) ?? '';
    this.rows.push(row.typed(this.proxy, name, type));
  }
}

/** The longest line whose comma positions are kept (positions are 16-bit); a longer one is split. */
const MAX_LINE = 0xffff;

/** A piece of the answer: its bytes, and the comma positions of its lines, each line's after the previous line's. */
interface Piece {
  bytes: Buffer;
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

abstract class Row implements StatRow {
  proxy = '';
  name = '';
  type: StatObjectType = 'server';
  abstract readonly width: number;
  abstract cell(index: number): string | undefined;

  number(index: number): number | null {
    return cellNumber(this.cell(index));
  }

  cellIs(index: number, text: string): boolean {
    return this.cell(index) === text;
  }

  numbers(indexes: Int32Array, out: Float64Array, at: number, stride: number): void {
    for (const index of indexes) {
      out[at] = this.number(index) ?? NaN;
      at += stride;
    }
  }

  typed(proxy: string, name: string, type: StatObjectType): this {
    this.proxy = proxy;
    this.name = name;
    this.type = type;
    return this;
  }
}

/** A line without quotes: its cells stay in the piece's bytes until read. */
class LineRow extends Row {
  constructor(
    private readonly piece: Piece,
    private readonly start: number,
    /** Where its comma positions start in the piece's, the line's length after them. */
    private readonly first: number,
    /** Its commas: cells 0 to `count`. */
    private readonly count: number,
  ) {
    super();
  }

  get width(): number {
    return this.count + 1;
  }

  cell(index: number): string | undefined {
    if (index > this.count) return undefined;
    const start = this.cellStart(index);
    const end = this.cellEnd(index);
    return start === end ? '' : this.piece.bytes.toString('utf8', start, end);
  }

  /** Read from the bytes where it is a plain integer (almost every numeric cell), without making a string. */
  override number(index: number): number | null {
    if (index > this.count) return null;
    const start = this.cellStart(index);
    const end = this.cellEnd(index);
    const bytes = this.piece.bytes;
    return start === end ? null : (digitsIn(bytes, start, end) ?? cellNumber(bytes.toString('utf8', start, end)));
  }

  /** One loop over the row's comma positions: a server's few dozen numbers are read on every scrape. */
  override numbers(indexes: Int32Array, out: Float64Array, at: number, stride: number): void {
    const { bytes, commas } = this.piece;
    for (const index of indexes) {
      let value = NaN;
      if (index <= this.count) {
        const start = this.start + (index === 0 ? 0 : (commas[this.first + index - 1] ?? 0) + 1);
        const end = this.start + (commas[this.first + index] ?? 0);
        if (end > start) value = digitsIn(bytes, start, end) ?? cellNumber(bytes.toString('utf8', start, end)) ?? NaN;
      }
      out[at] = value;
      at += stride;
    }
  }

  override cellIs(index: number, text: string): boolean {
    return index <= this.count && textIs(this.piece.bytes, this.cellStart(index), this.cellEnd(index), text);
  }

  private cellStart(index: number): number {
    return this.start + (index === 0 ? 0 : (this.piece.commas[this.first + index - 1] ?? 0) + 1);
  }

  /** `index` at most `count`: the last cell ends where the line does. */
  private cellEnd(index: number): number {
    return this.start + (this.piece.commas[this.first + index] ?? 0);
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

  get width(): number {
    return this.cells.length;
  }

  cell(index: number): string | undefined {
    return this.cells[index];
  }
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
