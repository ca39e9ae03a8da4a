// `show servers state`, format 1: a line `1`, a `# be_id be_name ...` header, then one
// space-separated line per server. Fields are read by header name: newer versions append fields.

import { ParseError } from './errors.js';
import { digitsAt, eachLine } from './lines.js';

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

/** The fields nosrv reads; at 10,000 servers each one more is 10,000 numbers a read. */
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
  'be_name', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight', 'srv_time_since_last_change',
  'srv_check_status', 'srv_check_health', 'srv_check_state',
] as const;

export function parseServersState(text: string): ServerStateRow[] {
  const parser = new ServersStateParser();
  parser.write(text);
  return parser.rows();
}

type Field = (typeof REQUIRED)[number];

/** Parses `show servers state` piece by piece as it arrives; each piece holds whole lines. */
export class ServersStateParser {
  private lineNumber = 0;
  private index: Record<Field, number> | null = null;
  private portIndex: number | undefined;
  private fieldCount = 0;
  /** A line must reach the last field read. */
  private fieldsNeeded = 0;
  private readonly parsed: ServerStateRow[] = [];
  private readonly fields = new Fields();

  write(lines: string): void {
    eachLine(lines, (line) => this.line(line));
  }

  rows(): ServerStateRow[] {
    if (this.index === null) throw new ParseError('show servers state', this.lineNumber === 0 ? 'the answer is empty' : 'no "# be_id ..." header line');
    return this.parsed;
  }

  private integer(line: string, lineNumber: number, name: Field): number {
    const at = (this.index as Record<Field, number>)[name];
    const value = this.fields.integer(line, at);
    if (value === null) throw new ParseError('show servers state', `line ${lineNumber}: ${name} is ${JSON.stringify(this.fields.text(line, at))}, not a number`);
    return value;
  }

  private line(line: string): void {
    const n = ++this.lineNumber;
    if (n === 1) {
      const version = line.trim();
      if (version !== '1') throw new ParseError('show servers state', `expected format version 1, got ${JSON.stringify(version.slice(0, 80))}`);
      return;
    }
    if (n === 2) {
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
      this.portIndex = at.get('srv_port');
      this.fieldCount = names.length;
      this.fieldsNeeded = Math.max(...Object.values(index)) + 1;
      return;
    }
    if (line === '' || line.startsWith('#')) return;
    const index = this.index as Record<Field, number>;
    // Where each field starts, found without splitting: only the three names become strings.
    const count = this.fields.scan(line);
    if (count < this.fieldsNeeded) {
      throw new ParseError('show servers state', `line ${n} has ${count} fields, expected ${this.fieldCount}`);
    }
    const f = this.fields;
    const opNumber = this.integer(line, n, 'srv_op_state');
    const op = OP_STATES[opNumber];
    if (op === undefined) throw new ParseError('show servers state', `line ${n}: unknown srv_op_state ${opNumber}`);
    this.parsed.push({
      backend: f.text(line, index.be_name),
      server: f.text(line, index.srv_name),
      address: f.text(line, index.srv_addr),
      opState: op,
      adminState: this.integer(line, n, 'srv_admin_state'),
      userWeight: this.integer(line, n, 'srv_uweight'),
      secondsSinceChange: this.integer(line, n, 'srv_time_since_last_change'),
      checkStatus: this.integer(line, n, 'srv_check_status'),
      checkHealth: this.integer(line, n, 'srv_check_health'),
      checkState: this.integer(line, n, 'srv_check_state'),
      port: this.portIndex === undefined || this.portIndex >= count ? null : f.integer(line, this.portIndex),
    });
  }
}

/** The fields of one space-separated line, by position, kept as offsets (reused line after line). */
class Fields {
  private starts = new Int32Array(64);
  private count = 0;
  private length = 0;

  scan(line: string): number {
    this.length = line.length;
    this.count = 0;
    this.push(0);
    for (let i = line.indexOf(' '); i >= 0; i = line.indexOf(' ', i + 1)) this.push(i + 1);
    return this.count;
  }

  text(line: string, field: number): string {
    return field < this.count ? line.slice(this.starts[field], this.end(field)) : '';
  }

  /** The field as an integer, or null when it is not one. */
  integer(line: string, field: number): number | null {
    if (field >= this.count) return null;
    const start = this.starts[field] as number;
    const negative = line.charCodeAt(start) === 45;
    const value = digitsAt(line, negative ? start + 1 : start, this.end(field));
    return value === null || !negative ? value : -value;
  }

  private end(field: number): number {
    return field + 1 < this.count ? (this.starts[field + 1] as number) - 1 : this.length;
  }

  private push(start: number): void {
    if (this.count === this.starts.length) {
      const grown = new Int32Array(this.count * 2);
      grown.set(this.starts);
      this.starts = grown;
    }
    this.starts[this.count++] = start;
  }
}
