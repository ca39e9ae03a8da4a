// Snapshots from a compact description: the `show stat` and `show servers state` tables HAProxy
// 2.6 would give, as literal values, built into a snapshot as a read's are.

import { ADMIN, type OpState, type ServerStateRow } from '../../src/parse/serversState.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot.js';
import { serversStateOf, statTableOf, type Cells } from './literal.js';

export interface ServerSpec {
  /** As `show stat` prints it: `UP`, `UP 2/3`, `DOWN`, `MAINT`, `DRAIN`, `no check`, `NOLB`. */
  readonly status: string;
  readonly backup?: boolean;
  readonly scur?: number;
  readonly maxconn?: number;
  readonly check?: string;
  readonly detail?: string;
  readonly health?: number;
  readonly rise?: number;
  readonly fall?: number;
  /** `ip:port`; by default 10.0.0.N:8080, N the server's place in its backend. */
  readonly address?: string;
  /** `backend/server` whose state this one follows (`track`): it then has no check of its own. */
  readonly tracks?: string;
  /** More `show stat` cells (counters, timings, response codes), by column name. */
  readonly cells?: Cells;
}

export type Spec = Record<
  string,
  {
    readonly queue?: number;
    readonly servers: Record<string, ServerSpec>;
    /** More cells of the BACKEND row; `null` leaves the row out (never seen from HAProxy, but not assumed). */
    readonly cells?: Cells | null;
  }
>;

export const NOW = Date.parse('2026-11-24T01:00:00Z');

const STAT_COLUMNS = [
  'pxname',
  'svname',
  'qcur',
  'scur',
  'slim',
  'stot',
  'status',
  'weight',
  'bck',
  'check_status',
  'last_chk',
  'check_desc',
  'check_rise',
  'check_fall',
  'check_health',
  'lastchg',
  'type',
  'tracked',
];
const OP_STATES: Record<number, OpState> = { 0: 'stopped', 2: 'running', 3: 'stopping' };

/** `frontends`: their names, or their names and more cells; `takenAt`: when the read was taken. */
export function specSnapshot(spec: Spec, frontends: readonly string[] | Readonly<Record<string, Cells>> = [], takenAt = NOW): Snapshot {
  const frontendCells: ReadonlyArray<[string, Cells]> = Array.isArray(frontends) ? frontends.map((f: string) => [f, {}]) : Object.entries(frontends);
  const stat: Cells[] = frontendCells.map(([f, cells]) => ({ pxname: f, svname: 'FRONTEND', scur: 0, slim: 1000, stot: 0, status: 'OPEN', type: 0, ...cells }));
  const state: ServerStateRow[] = [];
  for (const [backend, b] of Object.entries(spec)) {
    let srvId = 0;
    for (const [name, s] of Object.entries(b.servers)) {
      srvId++;
      const word = s.status.split(' ')[0];
      const checked = s.status !== 'no check' && !s.tracks;
      const rise = s.rise ?? 2;
      const fall = s.fall ?? 3;
      const health = s.health ?? (word === 'DOWN' ? 0 : rise + fall - 1);
      const op = word === 'DOWN' || word === 'MAINT' ? 0 : word === 'NOLB' ? 3 : 2;
      const admin = word === 'MAINT' ? ADMIN.FMAINT : word === 'DRAIN' ? ADMIN.FDRAIN : 0;
      const check = checked ? (s.check ?? (word === 'DOWN' ? 'L4CON' : 'L4OK')) : '';
      const checkNumber = { L4OK: 6, L4CON: 8, L7OK: 15, L7STS: 17, L4TOUT: 7 }[check] ?? 0;
      const checkState = !checked ? 0 : word === 'MAINT' ? 14 : 6;
      stat.push({
        pxname: backend,
        svname: name,
        qcur: 0,
        scur: s.scur ?? 0,
        slim: s.maxconn,
        stot: 0,
        status: s.status,
        weight: 1,
        bck: s.backup ? 1 : 0,
        check_status: word === 'MAINT' ? '' : check,
        last_chk: s.detail ?? (check === 'L4CON' ? 'Connection refused' : ''),
        check_rise: checked ? rise : null,
        check_fall: checked ? fall : null,
        check_health: checked ? health : null,
        lastchg: 60,
        type: 2,
        tracked: s.tracks,
        ...s.cells,
      });
      const [ip = '', port] = (s.address ?? `10.0.0.${srvId}:8080`).split(':');
      state.push({
        backend,
        server: name,
        address: ip,
        opState: OP_STATES[op] ?? 'running',
        adminState: admin,
        userWeight: 1,
        secondsSinceChange: 60,
        checkStatus: checkNumber,
        checkHealth: health,
        checkState,
        port: port === undefined ? null : Number(port),
      });
    }
    if (b.cells !== null)
      stat.push({
        pxname: backend,
        svname: 'BACKEND',
        qcur: b.queue ?? 0,
        scur: 0,
        slim: 100,
        stot: 0,
        status: 'UP',
        weight: 1,
        bck: 0,
        lastchg: 60,
        type: 1,
        ...b.cells,
      });
  }
  const columns = [...new Set([...STAT_COLUMNS, ...stat.flatMap((row) => Object.keys(row))])];
  return buildSnapshot({ takenAt, source: 'socket', info: null, stat: statTableOf(columns, stat), serversState: serversStateOf(state) });
}
