// The master CLI's `show proc` (haproxy -W -S), read by its header's column names:
//   #<PID>          <type>          <reloads>       <uptime>        <version>
//   27070           master          2 [failed: 1]   0d00h00m05s     2.6.12-1+deb12u4
//   # workers
//   27103           worker          1               0d00h00m03s     2.6.12-1+deb12u4
//   # old workers
//   27285           worker          1               0d00h00m04s     2.6.12-1+deb12u4
//   # programs
// HAProxy 2.2 has a <relative PID> column (`[was: 1]` for an old worker) and no failed count.
// A worker's reload count is how many reloads it has lived through: a fresh worker has 0.

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

const REQUIRED = ['<PID>', '<type>', '<reloads>', '<uptime>'];

export function parseShowProc(text: string): ProcList {
  let section: 'master' | 'workers' | 'old workers' | 'other' = 'master';
  let columns: string[] | null = null;
  let master: ProcList['master'] | null = null;
  const workers: ProcEntry[] = [];
  const oldWorkers: ProcEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    if (line.startsWith('#<PID>')) {
      columns = line.match(/<[^>]+>/g) ?? [];
      const lacking = REQUIRED.filter((c) => !columns?.includes(c));
      if (lacking.length > 0) throw new ParseError('show proc', `no ${lacking.join(', ')} column`);
      continue;
    }
    if (line.startsWith('#')) {
      const name = line.slice(1).trim();
      section = name === 'workers' ? 'workers' : name === 'old workers' ? 'old workers' : 'other';
      continue;
    }
    if (section === 'other') continue;
    if (columns === null)
      throw new ParseError('show proc', `unexpected line ${JSON.stringify(line.slice(0, 100))} before any header: is this the master CLI (haproxy -W -S)?`);
    const cells = rowCells(line, columns);
    // Digits only: Number() would read "2e070" as a pid.
    const pidText = cells.get('<PID>') ?? '';
    const pid = /^\d{1,10}$/.test(pidText) ? Number(pidText) : NaN;
    const reloads = /^(\d+)(?: \[failed:(\d+)\])?$/.exec(cells.get('<reloads>') ?? '');
    if (!Number.isInteger(pid) || pid <= 0 || !reloads) throw new ParseError('show proc', `unexpected line ${JSON.stringify(line.slice(0, 100))}`);
    const entry: ProcEntry = {
      pid,
      type: cells.get('<type>') ?? '',
      reloads: Number(reloads[1]),
      uptimeSeconds: parseUptime(cells.get('<uptime>') ?? ''),
      version: cells.get('<version>') ?? '',
    };
    if (section === 'master') master = { ...entry, failedReloads: reloads[2] === undefined ? null : Number(reloads[2]) };
    else if (section === 'workers') workers.push(entry);
    else oldWorkers.push(entry);
  }
  if (master === null) throw new ParseError('show proc', 'no master line: is this the master CLI (haproxy -W -S)?');
  return { master, workers, oldWorkers };
}

/** A row's cells by column: `2 [failed: 1]` is one cell, `[was: 1]` another. */
function rowCells(line: string, columns: readonly string[]): Map<string, string> {
  const tokens = line
    .replace(/\[(\w+):\s*(\d+)\]/g, '[$1:$2]')
    .trim()
    .split(/\s+/);
  const cells = new Map<string, string>();
  let i = 0;
  for (const column of columns) {
    let cell = tokens[i++] ?? '';
    if (tokens[i]?.startsWith('[failed:')) cell += ` ${tokens[i++]}`;
    cells.set(column, cell);
  }
  return cells;
}

/** `0d00h00m04s` */
export function parseUptime(text: string): number {
  const m = /^(\d+)d(\d+)h(\d+)m(\d+)s$/.exec(text);
  if (!m) throw new ParseError('show proc', `unexpected uptime ${JSON.stringify(text)}`);
  return Number(m[1]) * 86400 + Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]);
}
