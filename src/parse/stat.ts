// `show stat` CSV: `# pxname,svname,...` then one line per object, every line ending in a comma.
// Columns are found by header name: their set and order change between HAProxy versions (2.6.12
// moved column 100 within its own LTS branch), so a position is never trusted.

import { ParseError } from './errors.js';
import { ByteStore, digitsIn, textIs, trimmedRoom } from './lines.js';

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
  /**
   * The cells at `indexes` as numbers times `scales`, NaN where `number` says null, written to
   * `out` from `at`, `stride` apart: many cells of a row read at once.
   */
  numbers(indexes: Int32Array, scales: Float64Array, out: Float64Array, at: number, stride: number): void;
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
 * Parses `show stat` piece by piece as it arrives; each piece holds whole lines. The answer's bytes
 * are kept in one buffer outside the JavaScript heap, and a row keeps where its line and commas
 * are: a cell becomes a string only when it is read, and a number is read from the bytes. 2.6
 * prints 150 columns and nosrv reads a few dozen; at 10,000 servers, 2.4 MB of text kept as
 * strings until the scrape is answered was most of what the garbage collector had to copy.
 */
export class StatParser {
  private columns: Map<string, number> | null = null;
  private typeIndex: number | undefined;
  private readonly rows: StatRow[] = [];
  private readonly bytes: ByteStore;
  /** Every row's comma positions, one after the other: one allocation, not one per row. */
  private readonly commas: CommaStore;
  /** What this answer's rows read their cells from: one object for all of them. */
  private readonly answer: Answer;
  private readonly onRow: ((row: StatRow) => void) | null;
  /** The last row's proxy name: the rows of one proxy share one string. */
  private lastProxy = '';
  /**
   * Row i's proxy and object names at 2i and 2i+1, from the last answer and then this one: a name
   * that did not change is the same string read after read, so it is not made again, and the
   * watcher's maps and the label-set cache, keyed by names, compare and hash it at once.
   */
  private readonly names: string[];

  /**
   * `reuse`: the last answer's buffers, filled again, so that a read allocates nothing the size of
   * the answer (at 10,000 servers, 5 MB a read that brought on a full garbage collection most
   * reads); the last answer's rows throw from then on. `onRow`: told of each row as it is parsed.
   */
  constructor(
    options: {
      readonly reuse?: StatBuffers;
      readonly onRow?: (row: StatRow) => void;
    } = {},
  ) {
    const reused = options.reuse;
    if (reused) {
      reused.bytes.reset();
      reused.commas.length = 0;
    }
    this.bytes = reused?.bytes ?? new ByteStore(64 * 1024);
    this.commas = reused?.commas ?? new CommaStore(4096);
    this.answer = { bytes: this.bytes, commas: this.commas, generation: this.bytes.generation };
    this.names = reused?.names ?? [];
    this.onRow = options.onRow ?? null;
  }

  write(lines: string): void {
    this.writeBytes(Buffer.from(lines, 'utf8'));
  }

  /** Whole lines, as bytes; they are copied, so the caller may reuse `lines` afterwards. */
  writeBytes(lines: Uint8Array): void {
    this.bytes.appendLines(lines, (start, end) => {
      if (end > start) this.line(start, end);
    });
  }

  /**
   * Once the answer has all arrived: its buffers for the next parse to fill again, the room it left
   * unused given back. Only the buffers: the parser's rows and `onRow` are not kept with them.
   */
  buffers(): StatBuffers {
    this.bytes.trim();
    this.commas.trim();
    this.names.length = 2 * this.rows.length;
    return { bytes: this.bytes, commas: this.commas, names: this.names };
  }

  table(): StatTable {
    if (this.columns === null) throw new ParseError('show stat', 'the answer is empty: no header line');
    return { columns: this.columns, rows: this.rows };
  }

  /** The header line is in: `table()` has the columns and the rows so far. */
  get started(): boolean {
    return this.columns !== null;
  }

  private line(start: number, end: number): void {
    if (this.columns === null) {
      this.columns = headerColumns(this.bytes.text(start, end));
      this.typeIndex = this.columns.get('type');
      return;
    }
    const first = this.commas.length;
    const row = this.commas.scan(this.bytes.buffer, start, end)
      ? new LineRow(this.answer, start, first, this.commas.length - first - 1)
      : new SplitRow(splitCsvLine(this.bytes.text(start, end)));
    const at = 2 * this.rows.length;
    const known = this.names;
    const proxy = row.cellIs(0, this.lastProxy) ? this.lastProxy : sameOr(row, 0, known[at]);
    const name = sameOr(row, 1, known[at + 1]);
    this.lastProxy = known[at] = proxy;
    known[at + 1] = name;
    const type = (this.typeIndex === undefined ? undefined : TYPES[row.number(this.typeIndex) ?? -1]) ?? typeFromName(name);
    const typed = row.typed(proxy, name, type);
    this.rows.push(typed);
    this.onRow?.(typed);
  }
}

/** The cell, as `known` where it is that text. */
function sameOr(row: Row, index: number, known: string | undefined): string {
  return known !== undefined && row.cellIs(index, known) ? known : (row.cell(index) ?? '');
}

/** A parse's buffers, handed to the next parse of `show stat`. */
export interface StatBuffers {
  readonly bytes: ByteStore;
  readonly commas: CommaStore;
  /** The answer's names by row (see `StatParser.names`). */
  readonly names: string[];
}

/** The longest line whose comma positions are kept (positions are 16-bit); a longer one is split. */
const MAX_LINE = 0xffff;

/** Comma positions of many lines in one growing array (a line is far shorter than MAX_LINE bytes). */
class CommaStore {
  positions: Uint16Array;
  length = 0;

  /** Room for a line more than `capacity`: the scan asks room for a comma at every byte of a line and its length, and an answer the size of the last must not grow. */
  constructor(capacity: number) {
    this.positions = new Uint16Array(capacity + MAX_LINE + 1);
  }

  trim(): void {
    const room = trimmedRoom(this.positions.length, this.length + MAX_LINE + 1);
    if (room !== null) this.positions = this.positions.slice(0, room);
  }

  /**
   * Appends the positions (from the line's start) of bytes[start, end)'s commas, then the line's
   * length, where its last cell ends; false (and nothing kept) when the line has quotes or is too long.
   */
  scan(bytes: Buffer, start: number, end: number): boolean {
    if (end - start > MAX_LINE) return false;
    // Room for a comma at every byte, so the loop keeps its state in locals: the hot loop of a read.
    if (this.length + (end - start) + 1 > this.positions.length) {
      const grown = new Uint16Array(Math.max(this.positions.length * 2, this.length + (end - start) + 1));
      grown.set(this.positions.subarray(0, this.length));
      this.positions = grown;
    }
    const positions = this.positions;
    let length = this.length;
    for (let i = start; i < end; i++) {
      const byte = bytes[i] as number;
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

  numbers(indexes: Int32Array, scales: Float64Array, out: Float64Array, at: number, stride: number): void {
    for (let c = 0; c < indexes.length; c++, at += stride) {
      const v = this.number(indexes[c] as number);
      out[at] = v === null ? NaN : v * (scales[c] as number);
    }
  }

  /** The cell is `text`, told without cutting it out. */
  cellIs(index: number, text: string): boolean {
    return this.cell(index) === text;
  }

  typed(proxy: string, name: string, type: StatObjectType): this {
    this.proxy = proxy;
    this.name = name;
    this.type = type;
    return this;
  }
}

/** An answer's bytes and comma positions, and which answer of the buffers it is. */
interface Answer {
  readonly bytes: ByteStore;
  readonly commas: CommaStore;
  readonly generation: number;
}

/**
 * A line without quotes: the cells stay in the answer's bytes. Seven fields: at 10,000 servers the
 * rows live until the scrape is answered, and every young collection of a read copies them.
 */
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

  private get bytes(): ByteStore {
    const answer = this.answer;
    answer.bytes.checkGeneration(answer.generation);
    return answer.bytes;
  }

  cell(index: number): string | undefined {
    const bytes = this.bytes;
    if (index > this.count) return undefined;
    const start = this.cellStart(index);
    const end = this.cellEnd(index);
    // Most cells a server's row is read for are empty (tracked, addr on a user socket, check_status without checks).
    return start === end ? '' : bytes.text(start, end);
  }

  override number(index: number): number | null {
    return this.numberAt(this.bytes, index);
  }

  /** The answer checked once for all the cells: the gatherer reads 45 cells of each of 10,000 rows a read. */
  override numbers(indexes: Int32Array, scales: Float64Array, out: Float64Array, at: number, stride: number): void {
    const bytes = this.bytes;
    for (let c = 0; c < indexes.length; c++, at += stride) {
      const v = this.numberAt(bytes, indexes[c] as number);
      out[at] = v === null ? NaN : v * (scales[c] as number);
    }
  }

  override cellIs(index: number, text: string): boolean {
    const bytes = this.bytes;
    return index <= this.count && textIs(bytes.buffer, this.cellStart(index), this.cellEnd(index), text);
  }

  /** Read from the bytes where it is a plain integer (almost every numeric cell), without making a string. */
  private numberAt(bytes: ByteStore, index: number): number | null {
    if (index > this.count) return null;
    const start = this.cellStart(index);
    const end = this.cellEnd(index);
    return start === end ? null : (digitsIn(bytes.buffer, start, end) ?? cellNumber(bytes.text(start, end)));
  }

  private cellStart(index: number): number {
    return this.start + (index === 0 ? 0 : (this.answer.commas.positions[this.first + index - 1] as number) + 1);
  }

  /** `index` at most `count`: the last cell ends where the line does. */
  private cellEnd(index: number): number {
    return this.start + (this.answer.commas.positions[this.first + index] as number);
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
