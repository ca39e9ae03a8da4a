// `show servers state`, format 1: a line `1`, a `# be_id be_name ...` header, then one
// space-separated line per server. Fields are read by header name: newer versions append fields.

import { ParseError } from './errors.js';
import { withRoom } from '../room.js';
import { bytePieces, digitsIn, forEachLine, textIs } from './lines.js';
import { itemAt } from '../itemAt.js';

/** srv_op_state (include/haproxy/server-t.h). */
export type OpState = 'stopped' | 'starting' | 'running' | 'stopping';
const OP_STATES: readonly OpState[] = ['stopped', 'starting', 'running', 'stopping'];

/** srv_admin_state bits (include/haproxy/server-t.h, enum srv_admin). */
export const ADMIN = {
  FMAINT: 0x01, // forced by `set server ... state maint`
  IMAINT: 0x02, // inherited from a tracked server
  CMAINT: 0x04, // `disabled` in the configuration
  FDRAIN: 0x08, // forced by `set server ... state drain`
  IDRAIN: 0x10, // inherited from a tracked server
  RMAINT: 0x20, // the server's name failed to resolve
} as const;

/** srv_check_state / srv_agent_state bits (include/haproxy/check-t.h). */
export const CHECK_STATE = { INPROGRESS: 0x01, CONFIGURED: 0x02, ENABLED: 0x04, PAUSED: 0x08 } as const;

/** The fields nosrv reads of one server, as `ServersStateTable.rows()` gives them. */
export interface ServerStateRow {
  readonly backend: string;
  readonly server: string;
  readonly address: string;
  readonly opState: OpState;
  readonly adminState: number;
  readonly userWeight: number;
  readonly secondsSinceChange: number;
  readonly checkStatus: number;
  readonly checkHealth: number;
  readonly checkState: number;
  readonly port: number | null;
}

const REQUIRED = [
  'be_name',
  'srv_name',
  'srv_addr',
  'srv_op_state',
  'srv_admin_state',
  'srv_uweight',
  'srv_time_since_last_change',
  'srv_check_status',
  'srv_check_health',
  'srv_check_state',
] as const;

type Field = (typeof REQUIRED)[number];

/** The integer fields, in the order a server's numbers are kept, by the names they are read by. */
const NUMBER_FIELDS = [
  ['opState', 'srv_op_state'],
  ['adminState', 'srv_admin_state'],
  ['userWeight', 'srv_uweight'],
  ['secondsSinceChange', 'srv_time_since_last_change'],
  ['checkStatus', 'srv_check_status'],
  ['checkHealth', 'srv_check_health'],
  ['checkState', 'srv_check_state'],
] as const;
type NumberName = (typeof NUMBER_FIELDS)[number][0];
/** The numbers `ServersStateTable.number` reads; the op state has its own reader. */
export type StateNumber = Exclude<NumberName, 'opState'>;
const NUMBER_AT = Object.fromEntries(NUMBER_FIELDS.map(([name], i) => [name, i])) as Record<NumberName, number>;
const PORT = NUMBER_FIELDS.length;
/** Numbers kept per server: the integer fields, then the port (NaN for none). */
const NUMBERS = PORT + 1;
/** Text kept per server: where be_name, srv_name and srv_addr start and end in its piece's texts, and that piece. */
const TEXTS = 7;
const [BACKEND_AT, SERVER_AT, ADDRESS_AT, PIECE_AT] = [0, 2, 4, 6] as const;
const EMPTY_BYTES = Buffer.alloc(0);

/** `show servers state`, server by server: as parsed (`ParsedServersState`), or from plain rows (the tests'). */
export interface ServersStateTable {
  readonly length: number;
  opState(i: number): OpState;
  number(i: number, field: StateNumber): number;
  port(i: number): number | null;
  backend(i: number): string;
  server(i: number): string;
  address(i: number): string;
  /** Server `i` is `backend`/`server`. */
  is(i: number, backend: string, server: string): boolean;
  rows(): ServerStateRow[];
}

export function parseServersState(text: string): ServersStateTable {
  const parser = new ServersStateParser();
  parser.write(text);
  return parser.finish();
}

/**
 * `show servers state` as read, by columns: each server's numbers in one array and its names as
 * bytes (outside the JavaScript heap, one block per piece of the answer), made into strings only
 * when asked; the snapshot matches servers by name without making any.
 */
export class ParsedServersState implements ServersStateTable {
  constructor(
    readonly length: number,
    private readonly pieces: readonly Buffer[],
    private readonly numbers: Float64Array,
    private readonly texts: Int32Array,
  ) {}

  opState(i: number): OpState {
    return OP_STATES[this.numbers[i * NUMBERS + NUMBER_AT.opState] ?? 0] ?? 'stopped';
  }

  number(i: number, field: StateNumber): number {
    return this.numbers[i * NUMBERS + NUMBER_AT[field]] ?? NaN;
  }

  port(i: number): number | null {
    const port = this.numbers[i * NUMBERS + PORT] ?? NaN;
    return Number.isNaN(port) ? null : port;
  }

  backend(i: number): string {
    return this.text(i, BACKEND_AT);
  }

  server(i: number): string {
    return this.text(i, SERVER_AT);
  }

  address(i: number): string {
    return this.text(i, ADDRESS_AT);
  }

  /** Server `i` is `backend`/`server`, told without making strings. */
  is(i: number, backend: string, server: string): boolean {
    return this.textIs(i, SERVER_AT, server) && this.textIs(i, BACKEND_AT, backend);
  }

  rows(): ServerStateRow[] {
    return Array.from({ length: this.length }, (_, i) => ({
      backend: this.backend(i),
      server: this.server(i),
      address: this.address(i),
      opState: this.opState(i),
      adminState: this.number(i, 'adminState'),
      userWeight: this.number(i, 'userWeight'),
      secondsSinceChange: this.number(i, 'secondsSinceChange'),
      checkStatus: this.number(i, 'checkStatus'),
      checkHealth: this.number(i, 'checkHealth'),
      checkState: this.number(i, 'checkState'),
      port: this.port(i),
    }));
  }

  private text(i: number, at: number): string {
    const base = i * TEXTS + at;
    return this.piece(i).toString('utf8', this.texts[base] ?? 0, this.texts[base + 1] ?? 0);
  }

  private textIs(i: number, at: number, text: string): boolean {
    const base = i * TEXTS + at;
    return textIs(this.piece(i), this.texts[base] ?? 0, this.texts[base + 1] ?? 0, text);
  }

  private piece(i: number): Buffer {
    return this.pieces[this.texts[i * TEXTS + PIECE_AT] ?? 0] ?? EMPTY_BYTES;
  }
}

/** Parses `show servers state` piece by piece as it arrives; each piece holds whole lines. */
export class ServersStateParser {
  private lineNumber = 0;
  private index: Record<Field, number> | null = null;
  /** Where each of NUMBER_FIELDS is in a line: read by position, not by name, for every server. */
  private numberFields = new Int32Array(NUMBER_FIELDS.length);
  private portIndex: number | undefined;
  private fieldCount = 0;
  /** A line must reach the last field read. */
  private fieldsNeeded = 0;
  /** Where a line's fields are looked for: up to the port when there is one. */
  private fieldsRead = 0;
  /** Each piece's texts, side by side: a read keeps its servers' names, not their whole lines. */
  private readonly pieces: Buffer[] = [];
  private readonly kept = bytePieces();
  private readonly pieceTexts = new PieceTexts();
  private numbers: Float64Array;
  private texts: Int32Array;
  private count = 0;
  private readonly fields = new Fields();

  /** `expectedServers`: room made at once, so a table as long as the last one read never grows. */
  constructor(expectedServers = 64) {
    this.numbers = new Float64Array(expectedServers * NUMBERS);
    this.texts = new Int32Array(expectedServers * TEXTS);
  }

  write(lines: string): void {
    this.writeBytes(Buffer.from(lines, 'utf8'));
  }

  /** Whole lines, as bytes; what is kept of them is copied, so the caller may reuse `lines` afterwards. */
  writeBytes(lines: Uint8Array): void {
    const piece = this.pieces.length;
    const bytes = Buffer.from(lines.buffer, lines.byteOffset, lines.length);
    this.pieceTexts.length = 0;
    forEachLine(bytes, (start, end) => {
      this.line(bytes, piece, start, end);
    });
    this.pieces.push(this.kept.keep(this.pieceTexts.bytes()));
  }

  private table(): ParsedServersState {
    if (this.index === null) throw new ParseError('show servers state', this.lineNumber === 0 ? 'the answer is empty' : 'no "# be_id ..." header line');
    return new ParsedServersState(this.count, this.pieces, this.numbers, this.texts);
  }

  private integer(bytes: Buffer, lineNumber: number, name: Field, at: number): number {
    const value = this.fields.integer(bytes, at);
    if (value === null)
      throw new ParseError('show servers state', `line ${lineNumber}: ${name} is ${JSON.stringify(this.fields.text(bytes, at))}, not a number`);
    return value;
  }

  private line(bytes: Buffer, piece: number, start: number, end: number): void {
    const n = ++this.lineNumber;
    if (n === 1) {
      const version = bytes.toString('utf8', start, end).trim();
      if (version !== '1') throw new ParseError('show servers state', `expected format version 1, got ${JSON.stringify(version.slice(0, 80))}`);
      return;
    }
    if (n === 2) {
      const line = bytes.toString('utf8', start, end);
      if (!line.startsWith('# ')) throw new ParseError('show servers state', 'no "# be_id ..." header line');
      const names = line.slice(2).trim().split(' ');
      const at = new Map(names.map((name, i) => [name, i]));
      const index = {} as Record<Field, number>;
      for (const name of REQUIRED) {
        const i = at.get(name);
        if (i === undefined) throw new ParseError('show servers state', `the header has no "${name}" field`);
        index[name] = i;
      }
      this.index = index;
      this.numberFields = Int32Array.from(NUMBER_FIELDS, ([, field]) => index[field]);
      this.portIndex = at.get('srv_port');
      this.fieldCount = names.length;
      this.fieldsNeeded = Math.max(...Object.values(index)) + 1;
      this.fieldsRead = Math.max(this.fieldsNeeded, (this.portIndex ?? -1) + 1);
      return;
    }
    if (start === end || bytes[start] === 35) return; // empty, or a `#` comment
    const index = this.index;
    if (index === null) throw new ParseError('show servers state', `line ${n} comes before the "# be_id ..." header line`);
    // Where each field starts, found without splitting: no string is made.
    const count = this.fields.scan(bytes, start, end, this.fieldsRead);
    if (count < this.fieldsNeeded) {
      throw new ParseError('show servers state', `line ${n} has ${count} fields, expected ${this.fieldCount}`);
    }
    this.grow();
    const numbers = this.numbers;
    const at = this.count * NUMBERS;
    const numberFields = this.numberFields;
    for (let f = 0; f < NUMBER_FIELDS.length; f++) numbers[at + f] = this.integer(bytes, n, itemAt(NUMBER_FIELDS, f)[1], numberFields[f] ?? 0);
    const opNumber = numbers[at + NUMBER_AT.opState] ?? 0;
    if (OP_STATES[opNumber] === undefined) throw new ParseError('show servers state', `line ${n}: unknown srv_op_state ${opNumber}`);
    const port = this.portIndex === undefined || this.portIndex >= count ? null : this.fields.integer(bytes, this.portIndex);
    numbers[at + PORT] = port ?? NaN;
    const texts = this.texts;
    const t = this.count * TEXTS;
    this.fields.copy(bytes, index.be_name, this.pieceTexts, texts, t + BACKEND_AT);
    this.fields.copy(bytes, index.srv_name, this.pieceTexts, texts, t + SERVER_AT);
    this.fields.copy(bytes, index.srv_addr, this.pieceTexts, texts, t + ADDRESS_AT);
    texts[t + PIECE_AT] = piece;
    this.count++;
  }

  /** The table, once the whole answer has arrived. */
  finish(): ParsedServersState {
    return this.table();
  }

  private grow(): void {
    this.numbers = withRoom(this.numbers, (this.count + 1) * NUMBERS);
    this.texts = withRoom(this.texts, (this.count + 1) * TEXTS);
  }
}

/** The fields of one space-separated line, by position, kept as offsets (reused line after line). */
class Fields {
  private starts = new Int32Array(64);
  private count = 0;
  private end = 0;

  /** Finds up to `most` fields of bytes[start, end); returns how many it found. */
  scan(bytes: Buffer, start: number, end: number, most: number): number {
    if (this.starts.length < most) this.starts = new Int32Array(most);
    // State in locals: the loop runs over every byte of the answer.
    const starts = this.starts;
    starts[0] = start;
    let count = 1;
    let i = start;
    for (; i < end; i++) {
      if (bytes[i] !== 32) continue;
      if (count === most) break;
      starts[count++] = i + 1;
    }
    this.count = count;
    // The last field found ends at the space after it, or at the line's end.
    this.end = i;
    return count;
  }

  text(bytes: Buffer, field: number): string {
    return field < this.count ? bytes.toString('utf8', this.starts[field] ?? 0, this.fieldEnd(field)) : '';
  }

  /** Appends `field` to `texts`, and writes where it starts and ends there into out[at], out[at + 1]. */
  copy(bytes: Buffer, field: number, texts: PieceTexts, out: Int32Array, at: number): void {
    out[at] = texts.length;
    out[at + 1] = texts.add(bytes, this.starts[field] ?? 0, this.fieldEnd(field));
  }

  /** The field as an integer, or null when it is not one. */
  integer(bytes: Buffer, field: number): number | null {
    if (field >= this.count) return null;
    const start = this.starts[field] ?? 0;
    const negative = bytes[start] === 45;
    const value = digitsIn(bytes, negative ? start + 1 : start, this.fieldEnd(field));
    return value === null || !negative ? value : -value;
  }

  private fieldEnd(field: number): number {
    return field + 1 < this.count ? (this.starts[field + 1] ?? 0) - 1 : this.end;
  }
}

/** One piece's texts while it is read, in room shared by every parser (a piece is read whole, synchronously). */
class PieceTexts {
  private static room = new Uint8Array(64 * 1024);
  length = 0;

  /** Appends bytes[start, end); returns where it ends. */
  add(bytes: Buffer, start: number, end: number): number {
    const length = this.length + (end - start);
    const room = (PieceTexts.room = withRoom(PieceTexts.room, length, this.length));
    // A name is a few bytes: a loop beats a call into Buffer.copy.
    for (let i = start, to = this.length; i < end; i++, to++) room[to] = bytes[i] ?? 0;
    this.length = length;
    return length;
  }

  bytes(): Uint8Array {
    return PieceTexts.room.subarray(0, this.length);
  }
}
