// The master CLI's `show proc` (haproxy -W -S):
//   #<PID>          <type>          <reloads>       <uptime>        <version>
//   27070           master          2 [failed: 1]   0d00h00m05s     2.6.12-1+deb12u4
//   # workers
//   27103           worker          1               0d00h00m03s     2.6.12-1+deb12u4
//   # old workers
//   27285           worker          1               0d00h00m04s     2.6.12-1+deb12u4
//   # programs
// A worker's reload count is how many reloads it has lived through: a fresh worker has 0, so a
// current worker above 0 means the last reload produced no new worker: it failed.

import { ParseError } from './errors.js';

export interface ProcEntry {
  readonly pid: number;
  readonly type: string;
  readonly reloads: number;
  readonly uptimeSeconds: number;
  readonly version: string;
}

export interface ProcList {
  readonly master: ProcEntry & { readonly failedReloads: number | null };
  readonly workers: readonly ProcEntry[];
  readonly oldWorkers: readonly ProcEntry[];
}

const LINE = /^(\d+)\s+(\S+)\s+(\d+)(?:\s+\[failed:\s*(\d+)\])?\s+(\S+)(?:\s+(\S+))?\s*$/;

export function parseShowProc(text: string): ProcList {
  let section: 'master' | 'workers' | 'old workers' | 'other' = 'master';
  let master: ProcList['master'] | null = null;
  const workers: ProcEntry[] = [];
  const oldWorkers: ProcEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '' || line.startsWith('#<PID>')) continue;
    if (line.startsWith('#')) {
      const name = line.slice(1).trim();
      section = name === 'workers' ? 'workers' : name === 'old workers' ? 'old workers' : 'other';
      continue;
    }
    if (section === 'other') continue;
    const m = LINE.exec(line);
    if (!m) throw new ParseError('show proc', `unexpected line ${JSON.stringify(line.slice(0, 100))}`);
    const entry: ProcEntry = { pid: Number(m[1]), type: m[2] as string, reloads: Number(m[3]), uptimeSeconds: parseUptime(m[5] as string), version: m[6] ?? '' };
    if (section === 'master') master = { ...entry, failedReloads: m[4] === undefined ? null : Number(m[4]) };
    else if (section === 'workers') workers.push(entry);
    else oldWorkers.push(entry);
  }
  if (master === null) throw new ParseError('show proc', 'no master line: is this the master CLI (haproxy -W -S)?');
  return { master, workers, oldWorkers };
}

/** `0d00h00m04s` */
export function parseUptime(text: string): number {
  const m = /^(\d+)d(\d+)h(\d+)m(\d+)s$/.exec(text);
  if (!m) throw new ParseError('show proc', `unexpected uptime ${JSON.stringify(text)}`);
  return Number(m[1]) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}
