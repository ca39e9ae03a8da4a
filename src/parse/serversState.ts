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
  const lines = text.split('\n');
  const version = (lines[0] ?? '').trim();
  if (version !== '1') {
    throw new ParseError('show servers state', `expected format version 1, got ${JSON.stringify(version.slice(0, 80))}`);
  }
  const headerLine = lines[1] ?? '';
  if (!headerLine.startsWith('# ')) throw new ParseError('show servers state', 'no "# be_id ..." header line');
  const names = headerLine.slice(2).trim().split(' ');
  const at = new Map(names.map((name, index) => [name, index]));
  const index = {} as Record<(typeof REQUIRED)[number], number>;
  for (const name of REQUIRED) {
    const i = at.get(name);
    if (i === undefined) throw new ParseError('show servers state', `the header has no "${name}" field`);
    index[name] = i;
  }
  const portIndex = at.get('srv_port');

  const rows: ServerStateRow[] = [];
  for (let n = 2; n < lines.length; n++) {
    const line = lines[n] as string;
    if (line === '' || line.startsWith('#')) continue;
    const f = line.split(' ');
    if (f.length < REQUIRED.length) {
      throw new ParseError('show servers state', `line ${n + 1} has ${f.length} fields, expected ${names.length}`);
    }
    const int = (name: (typeof REQUIRED)[number]): number => {
      const value = Number(f[index[name]]);
      if (!Number.isInteger(value)) {
        throw new ParseError('show servers state', `line ${n + 1}: ${name} is ${JSON.stringify(f[index[name]])}, not a number`);
      }
      return value;
    };
    const op = OP_STATES[int('srv_op_state')];
    if (op === undefined) throw new ParseError('show servers state', `line ${n + 1}: unknown srv_op_state ${f[index.srv_op_state]}`);
    const port = portIndex === undefined ? null : Number(f[portIndex]);
    rows.push({
      backendId: int('be_id'),
      backend: f[index.be_name] as string,
      serverId: int('srv_id'),
      server: f[index.srv_name] as string,
      address: f[index.srv_addr] as string,
      opState: op,
      adminState: int('srv_admin_state'),
      userWeight: int('srv_uweight'),
      initialWeight: int('srv_iweight'),
      secondsSinceChange: int('srv_time_since_last_change'),
      checkStatus: int('srv_check_status'),
      checkResult: int('srv_check_result'),
      checkHealth: int('srv_check_health'),
      checkState: int('srv_check_state'),
      agentState: int('srv_agent_state'),
      port: port !== null && Number.isInteger(port) ? port : null,
    });
  }
  return rows;
}
