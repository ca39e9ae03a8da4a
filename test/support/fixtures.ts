import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseInfo } from '../../src/parse/info.js';
import { parseServersState } from '../../src/parse/serversState.js';
import { parseStat } from '../../src/parse/stat.js';
import { diagnose, type Diagnosis } from '../../src/diagnosis.js';
import type { ProcList } from '../../src/parse/showProc.js';
import { buildSnapshot, type Snapshot } from '../../src/snapshot.js';
import type { ReadHistory, Watcher } from '../../src/watcher.js';

// dist/test/support -> test/fixtures
const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

export function fixture(name: string): string {
  return readFileSync(path.join(FIXTURES, name), 'utf8');
}

/** The three answers of a `show info;show stat;show servers state` capture. */
export function answers(name: string): { info: string; stat: string; serversState: string } {
  const [info, stat, serversState] = fixture(name).split('\n\n') as [string, string, string];
  return { info, stat, serversState };
}

export function snapshotOf(name: string, options: { statsPageOnly?: boolean; takenAt?: number } = {}): Snapshot {
  const a = answers(name);
  return buildSnapshot({
    takenAt: options.takenAt ?? Date.parse('2026-11-24T01:00:00Z'),
    source: options.statsPageOnly ? 'stats_url' : 'socket',
    stat: parseStat(a.stat),
    info: options.statsPageOnly ? null : parseInfo(a.info),
    serversState: options.statsPageOnly ? null : parseServersState(a.serversState),
  });
}

/** The diagnosis of a snapshot as the reader makes it, with the watcher's events of it and, when given, the master's process list. */
export function diagnosisOf(snapshot: Snapshot, history: ReadHistory, procs: ProcList | null = null): Diagnosis {
  return diagnose({
    now: snapshot.takenAt,
    snapshot,
    error: null,
    events: (b) => history.events(b),
    procs,
    procsError: null,
    config: null,
    configError: null,
    socat: 'socat stdio /run/haproxy/admin.sock',
    adminSocat: null,
    masterSocat: null,
    configPath: null,
    logs: null,
  });
}

/** The watcher takes a whole snapshot, as a full read does; what it then knows of it. */
export function observeSnapshot(watcher: Watcher, snapshot: Snapshot): ReadHistory {
  return watcher.observe(
    snapshot.servers,
    snapshot.backends.map((b) => b.name),
    snapshot.takenAt,
  );
}
