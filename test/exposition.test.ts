// nosrv writes the exposition text itself, from numbers read out of the CSV line and whole
// families cached between scrapes. Whatever those shortcuts, it must say exactly what prom-client says when fed
// the same facts the obvious way.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SERVER_METRIC_GROUPS, type CollectOptions } from '../src/config.js';
import type { Diagnosis } from '../src/diagnosis.js';
import { ExpositionWriter, SeriesCache } from '../src/metrics/exposition.js';
import { writeDiagnosisMetrics, writeHaproxyMetrics } from '../src/metrics/haproxy.js';
import { BackendSeriesGatherer, type BackendSeries } from '../src/metrics/backendSeries.js';
import { ServerSeriesGatherer, type ServerSeries } from '../src/metrics/serverSeries.js';
import { parseShowProc } from '../src/parse/showProc.js';
import { parseStat } from '../src/parse/stat.js';
import { buildSnapshot, type Server, type ServerState, type Snapshot } from '../src/snapshot.js';
import { Watcher } from '../src/watcher.js';
import { answers, diagnosisOf, fixture, observeSnapshot, snapshotOf } from './support/fixtures.js';
import { specSnapshot, type ServerSpec } from './support/specSnapshot.js';
import { expositionContent, straightforwardExposition } from './support/straightforward.js';

const ALL: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: null, noMaint: false };
const DEFAULTS: CollectOptions = { serverMetrics: new Set(['state', 'sessions', 'changes', 'traffic', 'errors']), backends: null, noMaint: false };

/** With old workers: the process families are exported too. */
const PROCS = parseShowProc(fixture('haproxy-2.6.12-show-proc-old-workers.txt'));

/** A watcher that saw the lab, then the same lab with web1 going down: some counters above 0. */
function watcherOf(...snapshots: Snapshot[]): Watcher {
  const watcher = new Watcher();
  for (const s of snapshots) observeSnapshot(watcher, s);
  return watcher;
}

function fastExposition(
  snapshot: Snapshot,
  watcher: Watcher,
  diagnosis: Diagnosis,
  collect: CollectOptions,
  cache: SeriesCache,
  servers: ServerSeries | null = null,
  backends: BackendSeries | null = null,
): string {
  const out = new ExpositionWriter();
  writeHaproxyMetrics(out, snapshot, watcher, { collect, cache }, servers, backends);
  writeDiagnosisMetrics(out, diagnosis, { collect, cache });
  return out.text();
}

async function assertSameContent(fast: string, reference: Promise<string>): Promise<void> {
  const ours = expositionContent(fast);
  const theirs = expositionContent(await reference);
  assert.deepEqual(ours.samples, theirs.samples);
  // Families without a series this time are announced by nosrv only; the types of the rest agree.
  for (const [name, type] of theirs.types) assert.equal(ours.types.get(name), type, name);
}

describe('the exposition nosrv writes equals the straightforward one (prom-client, one set per series)', () => {
  const takenAt = Date.parse('2026-11-24T01:00:00Z');
  const lab = snapshotOf('haproxy-2.6.12-lab.txt', { takenAt });
  const goingDown = snapshotOf('haproxy-2.6.12-going-down.txt', { takenAt: takenAt + 1000 });
  const down = snapshotOf('haproxy-2.6.12-lab.txt', { takenAt: takenAt + 2000 });

  for (const [what, collect] of [['every group', ALL], ['the default groups', DEFAULTS]] as const) {
    test(`2.6.12 lab, ${what}, and again from the cache`, async () => {
      const watcher = watcherOf(lab, goingDown, down);
      const diagnosis = diagnosisOf(down, watcher, PROCS);
      const cache = new SeriesCache();
      const first = fastExposition(down, watcher, diagnosis, collect, cache);
      await assertSameContent(first, straightforwardExposition(down, watcher, diagnosis, collect));
      const again = fastExposition(down, watcher, diagnosis, collect, cache);
      assert.equal(again, first);
    });
  }

  test('one cache through changing reads: each answer is the straightforward one for its read', async () => {
    const watcher = watcherOf(lab, goingDown, down);
    const cache = new SeriesCache();
    // Back and forth, so cached families are replaced and their value arrays used again.
    for (const snapshot of [lab, goingDown, lab, down, goingDown, goingDown]) {
      const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
      await assertSameContent(fastExposition(snapshot, watcher, diagnosis, DEFAULTS, cache), straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
    }
  });

  test('3.3.0 columns read through the stats page, with a backend filter and no MAINT servers', async () => {
    const snapshot = buildSnapshot({ takenAt, source: 'stats_url', info: null, stat: parseStat(fixture('haproxy-3.3.0-stat.csv')), serversState: null });
    const watcher = watcherOf(snapshot);
    const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
    const collect: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: /^(?:be_ok|be_mixed)$/, noMaint: true };
    await assertSameContent(fastExposition(snapshot, watcher, diagnosis, collect, new SeriesCache()), straightforwardExposition(snapshot, watcher, diagnosis, collect));
  });

  test('a backend without its BACKEND row: its counts and no cells, gathered during the read or from the snapshot', async () => {
    // The lab's answer with be_api's BACKEND row left out (never seen from HAProxy, but not assumed).
    const { stat } = answers('haproxy-2.6.12-lab.txt');
    const rowless = parseStat(stat.split('\n').filter((line) => !line.startsWith('be_api,BACKEND,')).join('\n'));
    const watcher = new Watcher();
    const servers = new ServerSeriesGatherer(DEFAULTS, watcher);
    const backends = new BackendSeriesGatherer(DEFAULTS);
    servers.begin();
    backends.begin();
    const snapshot = buildSnapshot({ takenAt, source: 'socket', info: null, stat: rowless, serversState: null }, {
      server: (s, columns) => servers.add(s, columns),
      backend: (b, columns) => backends.add(b, columns),
    });
    assert.equal(snapshot.backends.find((b) => b.name === 'be_api')?.row, null);
    const diagnosis = diagnosisOf(snapshot, watcher);
    const reference = straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS);
    const gathered = fastExposition(snapshot, watcher, diagnosis, DEFAULTS, new SeriesCache(), servers.finish(rowless.columns), backends.finish(rowless.columns));
    await assertSameContent(gathered, reference);
    await assertSameContent(fastExposition(snapshot, watcher, diagnosis, DEFAULTS, new SeriesCache()), reference);
  });

  const FILTERED: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: /^(?:be_ok|be_mixed|be_api)$/, noMaint: true };
  for (const [what, collect] of [['the default groups', DEFAULTS], ['every group, a backend filter and no MAINT servers', FILTERED]] as const) {
    test(`series gathered while each read arrives, one gatherer used again for every read, as the daemon does: ${what}`, async () => {
      await gatheredReads(collect);
    });
  }

  async function gatheredReads(collect: CollectOptions): Promise<void> {
    const watcher = new Watcher();
    const gatherer = new ServerSeriesGatherer(collect, watcher);
    const backendGatherer = new BackendSeriesGatherer(collect);
    const cache = new SeriesCache();
    const reads = ['haproxy-2.6.12-lab.txt', 'haproxy-2.6.12-going-down.txt', 'haproxy-2.6.12-lab.txt', 'haproxy-2.6.12-going-down.txt', 'haproxy-2.6.12-going-down.txt'];
    for (const [k, name] of reads.entries()) {
      const at = takenAt + k * 1000;
      watcher.begin(at);
      gatherer.begin();
      backendGatherer.begin();
      const snapshot = snapshotOf(name, {
        takenAt: at,
        listener: {
          server: (s, columns) => {
            watcher.server(s.backend, s.name, s, s.check?.status ?? null, s.lastChangeAt);
            gatherer.add(s, columns);
          },
          backend: (b, columns) => backendGatherer.add(b, columns),
        },
      });
      watcher.end(snapshot.backends.map((b) => b.name));
      const servers = gatherer.finish(snapshot.stat.columns);
      const backends = backendGatherer.finish(snapshot.stat.columns);
      assert.ok(backends.backends.length > 0);
      assert.ok(servers.servers.length > 0);
      // Written as gathered: a value changed in a copy of them shows in the answer.
      const poked = { ...servers, values: servers.values.slice() };
      poked.values[0] = 12345;
      const first = servers.servers[0];
      assert.match(fastExposition(snapshot, watcher, diagnosisOf(snapshot, watcher), collect, new SeriesCache(), poked), new RegExp(`\\{proxy="${first?.backend}",server="${first?.name}"\\} 12345\\n`));
      const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
      await assertSameContent(fastExposition(snapshot, watcher, diagnosis, collect, cache, servers, backends), straightforwardExposition(snapshot, watcher, diagnosis, collect));
    }
  }

  test('gathered change counts land in the series of their own state', async () => {
    const watcher = new Watcher();
    const first = lab.backends.flatMap((b) => b.servers)[0] as Server;
    // up, then down twice, maint three times, drain once and nolb four times.
    const path: ServerState[] = ['up', 'down', 'up', 'down', 'maint', 'up', 'maint', 'up', 'maint', 'drain', 'nolb', 'up', 'nolb', 'up', 'nolb', 'up', 'nolb'];
    for (const [k, state] of path.entries()) {
      watcher.begin(takenAt - 100_000 + k * 1000);
      watcher.server(first.backend, first.name, { state, held: [], usable: state === 'up' }, null, null);
      watcher.end(null);
    }
    const gatherer = new ServerSeriesGatherer(DEFAULTS, watcher);
    gatherer.begin();
    const snapshot = snapshotOf('haproxy-2.6.12-lab.txt', { takenAt, listener: { server: (s, columns) => gatherer.add(s, columns) } });
    const diagnosis = diagnosisOf(snapshot, watcher, PROCS);
    const text = fastExposition(snapshot, watcher, diagnosis, DEFAULTS, new SeriesCache(), gatherer.finish(snapshot.stat.columns));
    for (const [to, count] of Object.entries({ up: 6, down: 2, maint: 3, drain: 1, nolb: 4 })) {
      assert.match(text, new RegExp(`\\nhaproxy_server_state_changes_total\\{proxy="${first.backend}",server="${first.name}",to="${to}"\\} ${count}\\n`), to);
    }
    await assertSameContent(text, straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
  });

  test('the cache trusts what the gatherer saw change, through reads not rendered and server counts that shrink and grow', async () => {
    // 200 servers, then 10 (the gatherer gives back its room), then 200 again: the values of the
    // servers past the tenth are gone, and must not be taken for unchanged.
    const servers = (count: number, spec: (i: number) => ServerSpec): Record<string, ServerSpec> =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, spec(i)]));
    const busy = servers(200, (i) => ({ status: 'UP', scur: i + 1, maxconn: 500 }));
    const reads: Array<{ servers: Record<string, ServerSpec>; render: boolean }> = [
      { servers: busy, render: true },
      { servers: servers(200, (i) => ({ status: 'UP', scur: i + 2, maxconn: 500 })), render: false },
      // Back to the values rendered: changed twice since, so written again (still right).
      { servers: busy, render: true },
      // The first ten as rendered; the others, when they come back, as a new array's zeros.
      { servers: servers(10, (i) => ({ status: 'UP', scur: i + 1, maxconn: 500 })), render: false },
      { servers: servers(200, (i) => ({ status: 'UP', scur: i < 10 ? i + 1 : 0, maxconn: 500 })), render: true },
      { servers: servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })), render: true },
      { servers: servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })), render: true },
      { servers: servers(200, () => ({ status: 'UP', scur: 0, maxconn: 500 })), render: false },
      { servers: servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })), render: true },
    ];
    const watcher = new Watcher();
    const gatherer = new ServerSeriesGatherer(DEFAULTS, watcher);
    const backendGatherer = new BackendSeriesGatherer(DEFAULTS);
    const cache = new SeriesCache();
    for (const [k, read] of reads.entries()) {
      gatherer.begin();
      backendGatherer.begin();
      // The backend's queue and its servers' counts move with the reads too.
      const spec = { be: { queue: k % 3, servers: read.servers }, be_other: { queue: k % 2, servers: { a: { status: k % 4 === 0 ? 'DOWN' : 'UP' } } } };
      const snapshot = specSnapshot(spec, [], { server: (s, columns) => gatherer.add(s, columns), backend: (b, columns) => backendGatherer.add(b, columns) });
      const series = gatherer.finish(snapshot.stat.columns);
      const backends = backendGatherer.finish(snapshot.stat.columns);
      // The same servers with the same values as the read before (whose answer had its own columns): nothing changed.
      if (k === 6) assert.ok(series.valuesChangedIn.every((read) => read < series.read), 'a read like the last changes nothing');
      if (!read.render) continue;
      const diagnosis = diagnosisOf(snapshot, watcher);
      const text = fastExposition(snapshot, watcher, diagnosis, DEFAULTS, cache, series, backends);
      await assertSameContent(text, straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
      assert.equal(text, fastExposition(snapshot, watcher, diagnosis, DEFAULTS, new SeriesCache(), series, backends), `read ${k}`);
    }
  });

  test("series gathered from another read are not used: the snapshot's own are gathered", async () => {
    const watcher = watcherOf(lab, goingDown);
    const gatherer = new ServerSeriesGatherer(ALL, watcher);
    gatherer.begin();
    for (const b of lab.backends) for (const s of b.servers) gatherer.add(s, lab.stat.columns);
    const ofLab = gatherer.finish(lab.stat.columns);
    const diagnosis = diagnosisOf(goingDown, watcher, PROCS);
    await assertSameContent(fastExposition(goingDown, watcher, diagnosis, ALL, new SeriesCache(), ofLab), straightforwardExposition(goingDown, watcher, diagnosis, ALL));
  });
});
