// Snapshots from a compact description, written out as the `show stat` and `show servers state`
// text HAProxy 2.6 prints and read back through the real parsers, so counting stays in one place.

import { ADMIN } from '../../src/parse/serversState.js';
import { parseServersState } from '../../src/parse/serversState.js';
import { parseStat } from '../../src/parse/stat.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot.js';

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
}

export type Spec = Record<string, { readonly queue?: number; readonly servers: Record<string, ServerSpec> }>;

export const NOW = Date.parse('2026-11-24T01:00:00Z');

export function specSnapshot(spec: Spec, frontends: readonly string[] = []): Snapshot {
  const stat = ['# pxname,svname,qcur,scur,slim,stot,status,weight,bck,check_status,last_chk,check_desc,check_rise,check_fall,check_health,lastchg,type,tracked,'];
  const state = [
    '1',
    '# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port',
  ];
  for (const f of frontends) stat.push(`${f},FRONTEND,,0,1000,0,OPEN,,,,,,,,,,0,`);
  let beId = 0;
  for (const [backend, b] of Object.entries(spec)) {
    beId++;
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
      stat.push(
        `${backend},${name},0,${s.scur ?? 0},${s.maxconn ?? ''},0,${s.status},1,${s.backup ? 1 : 0},${word === 'MAINT' ? '' : check},${s.detail ?? (check === 'L4CON' ? 'Connection refused' : '')},,${checked ? rise : ''},${checked ? fall : ''},${checked ? health : ''},60,2,${s.tracks ?? ''},`,
      );
      const [ip, port] = (s.address ?? `10.0.0.${srvId}:8080`).split(':');
      state.push(`${beId} ${backend} ${srvId} ${name} ${ip} ${op} ${admin} 1 1 60 ${checkNumber} 2 ${health} ${checkState} 0 0 0 - ${port} - 0 0 - - 0`);
    }
    stat.push(`${backend},BACKEND,${b.queue ?? 0},0,100,0,UP,1,0,,,,,,,60,1,`);
  }
  return buildSnapshot({ takenAt: NOW, source: 'socket', info: null, stat: parseStat(`${stat.join('\n')}\n`), serversState: parseServersState(`${state.join('\n')}\n`) });
}
