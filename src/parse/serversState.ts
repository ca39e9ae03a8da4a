// `show servers state`, format 1: a line `1`, a `# be_id be_name ...` header, then one
// space-separated line per server. Fields are read by header name: newer versions append fields.

import { ParseError } from './errors.js';

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

export interface ServerStateRow {
  readonly backendId: number;
  readonly backend: string;
  readonly serverId: number;
  readonly server: string;
  readonly address: string;
  readonly opState: OpState;
  readonly adminState: number;
  readonly userWeight: number;
  readonly initialWeight: number;
  readonly secondsSinceChange: number;
  readonly checkStatus: number;
  readonly checkResult: number;
  readonly checkHealth: number;
  readonly checkState: number;
  readonly agentState: number;
  readonly port: number | null;
}

const REQUIRED = [
  'be_id', 'be_name', 'srv_id', 'srv_name', 'srv_addr', 'srv_op_state', 'srv_admin_state', 'srv_uweight',
  'srv_iweight', 'srv_time_since_last_change', 'srv_check_status', 'srv_check_result', 'srv_check_health',
  'srv_check_state', 'srv_agent_state',
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
  private readonly parsed: ServerStateRow[] = [];

  write(lines: string): void {
    let start = 0;
    while (start < lines.length) {
      let end = lines.indexOf('\n', start);
      if (end < 0) end = lines.length;
      this.line(lines.slice(start, end));
      start = end + 1;
    }
  }

  rows(): ServerStateRow[] {
    if (this.index === null) throw new ParseError('show servers state', this.lineNumber === 0 ? 'the answer is empty' : 'no "# be_id ..." header line');
    return this.parsed;
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
      return;
    }
    if (line === '' || line.startsWith('#')) return;
    const index = this.index as Record<Field, number>;
    const f = line.split(' ');
    if (f.length < REQUIRED.length) {
      throw new ParseError('show servers state', `line ${n} has ${f.length} fields, expected ${this.fieldCount}`);
    }
    const op = OP_STATES[integer(f, index, 'srv_op_state', n)];
    if (op === undefined) throw new ParseError('show servers state', `line ${n}: unknown srv_op_state ${f[index.srv_op_state]}`);
    const port = this.portIndex === undefined ? null : Number(f[this.portIndex]);
    this.parsed.push({
      backendId: integer(f, index, 'be_id', n),
      backend: f[index.be_name] as string,
      serverId: integer(f, index, 'srv_id', n),
      server: f[index.srv_name] as string,
      address: f[index.srv_addr] as string,
      opState: op,
      adminState: integer(f, index, 'srv_admin_state', n),
      userWeight: integer(f, index, 'srv_uweight', n),
      initialWeight: integer(f, index, 'srv_iweight', n),
      secondsSinceChange: integer(f, index, 'srv_time_since_last_change', n),
      checkStatus: integer(f, index, 'srv_check_status', n),
      checkResult: integer(f, index, 'srv_check_result', n),
      checkHealth: integer(f, index, 'srv_check_health', n),
      checkState: integer(f, index, 'srv_check_state', n),
      agentState: integer(f, index, 'srv_agent_state', n),
      port: port !== null && Number.isInteger(port) ? port : null,
    });
  }
}

function integer(fields: readonly string[], index: Record<Field, number>, name: Field, lineNumber: number): number {
  const text = fields[index[name]];
  const value = Number(text);
  if (!Number.isInteger(value)) throw new ParseError('show servers state', `line ${lineNumber}: ${name} is ${JSON.stringify(text)}, not a number`);
  return value;
}
