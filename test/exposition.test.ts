// nosrv writes the exposition text itself, from numbers read out of the rows and whole families
// cached between scrapes. Whatever those shortcuts, it must say exactly what prom-client says when
// fed the same facts the obvious way: for literal readings that change from read to read, and for
// real captures.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SERVER_METRIC_GROUPS, type CollectOptions } from '../src/config.js';
import type { Diagnosis } from '../src/diagnosis.js';
import { ExpositionWriter } from '../src/metrics/exposition.js';
import { HaproxyMetrics } from '../src/metrics/haproxy.js';
import { parseShowProc } from '../src/parse/showProc.js';
import { parseStat } from '../src/parse/stat.js';
import { buildSnapshot, observationsOf, type ServerState, type Snapshot } from '../src/snapshot.js';
import { Watcher, type ReadHistory } from '../src/watcher.js';
import { diagnosisOf, fixture, observeSnapshot, snapshotOf } from './support/fixtures.js';
import type { Cells } from './support/literal.js';
import { NOW, specSnapshot, type ServerSpec, type Spec } from './support/specSnapshot.js';
import { expositionContent, straightforwardExposition } from './support/straightforward.js';

const ALL: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: null, noMaint: false };
const DEFAULTS: CollectOptions = { serverMetrics: new Set(['state', 'sessions', 'changes', 'traffic', 'errors']), backends: null, noMaint: false };

/** With old workers: the process families are exported too. */
const PROCS = parseShowProc(fixture('haproxy-2.6.12-show-proc-old-workers.txt'));

/** What `metrics` (its cache and its series from the reads it rendered before) writes of this read. */
function fastExposition(snapshot: Snapshot, history: ReadHistory, diagnosis: Diagnosis, metrics: HaproxyMetrics): string {
  const out = new ExpositionWriter();
  metrics.write(out, snapshot, history);
  metrics.writeDiagnosis(out, diagnosis);
  return out.text();
}

async function assertSameContent(fast: string, reference: Promise<string>): Promise<void> {
  const ours = expositionContent(fast);
  const theirs = expositionContent(await reference);
  assert.deepEqual(ours.samples, theirs.samples);
  // Families without a series this time are announced by nosrv only; the types of the rest agree.
  for (const [name, type] of theirs.types) assert.equal(ours.types.get(name), type, name);
}

/** Counters, timings and response codes as a server or backend with traffic has them; `k` moves them from read to read. */
function traffic(seed: number, k: number): Cells {
  const n = seed * 100 + k * 7;
  return {
    stot: n,
    bin: n * 500,
    bout: n * 2000,
    lbtot: n,
    req_tot: n,
    connect: n,
    reuse: k,
    econ: seed % 3,
    eresp: k % 2,
    wretr: 1,
    wredis: 0,
    chkfail: k % 3,
    chkdown: 1,
    downtime: 12,
    cli_abrt: 0,
    srv_abrt: k,
    qtime: 3,
    ctime: 1,
    rtime: 20 + k,
    ttime: 40 + k,
    check_code: 200,
    check_duration: 2,
    hrsp_1xx: 0,
    hrsp_2xx: n - 5,
    hrsp_3xx: 2,
    hrsp_4xx: 2,
    hrsp_5xx: 1 + (k % 2),
    hrsp_other: 0,
  };
}

/** A lab of every kind of backend, read `k`: web1 fails its checks from read 1, be_queue fills from read 2. */
function labSpec(k: number): Spec {
  return {
    be_ok: {
      servers: {
        web1:
          k === 0
            ? { status: 'UP', check: 'L7OK', cells: traffic(1, k) }
            : { status: 'UP 2/3', check: 'L7STS', detail: 'Service Unavailable', health: 3, cells: traffic(1, k) },
        web2: { status: 'MAINT', cells: traffic(2, 0) },
      },
      cells: traffic(3, k),
    },
    be_api: {
      servers: { api1: { status: 'DOWN', cells: traffic(4, 0) }, api2: { status: 'DOWN', check: 'L7STS', detail: 'Service Unavailable' } },
      cells: traffic(5, 0),
    },
    be_mixed: {
      servers: {
        m_up: { status: 'UP', scur: 2, maxconn: 10, cells: traffic(6, k) },
        m_drain: { status: 'DRAIN' },
        m_nocheck: { status: 'no check' },
        m_nolb: { status: 'NOLB' },
        m_backup: { status: 'UP', backup: true },
        m_track: { status: 'UP', tracks: 'be_ok/web1' },
      },
      cells: traffic(7, k),
    },
    be_empty: { servers: {} },
    be_queue: { queue: k >= 2 ? 4 : 0, servers: { q1: { status: 'UP', scur: k >= 2 ? 10 : 3, maxconn: 10 }, q2: { status: 'UP', scur: 10, maxconn: 10 } } },
  };
}

function labReading(k: number): Snapshot {
  return specSnapshot(labSpec(k), { fe_main: traffic(8, k), fe_admin: {} }, NOW + k * 1000);
}

const FILTERED: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: /^(?:be_ok|be_mixed|be_api)$/, noMaint: true };

describe('the exposition nosrv writes equals the straightforward one (prom-client, one set per series), from literal readings', () => {
  const reads = [0, 1, 2, 1, 3, 3].map(labReading);

  for (const [what, collect] of [
    ['every group', ALL],
    ['the default groups', DEFAULTS],
    ['every group, a backend filter and no MAINT servers', FILTERED],
  ] as const) {
    test(`${what}: one renderer through changing reads, the watcher taking each first, as the daemon does; again from the cache`, async () => {
      const watcher = new Watcher();
      const metrics = new HaproxyMetrics(collect);
      for (const snapshot of reads) {
        const history = observeSnapshot(watcher, snapshot);
        const diagnosis = diagnosisOf(snapshot, history, PROCS);
        const first = fastExposition(snapshot, history, diagnosis, metrics);
        await assertSameContent(first, straightforwardExposition(snapshot, watcher, diagnosis, collect));
        assert.equal(fastExposition(snapshot, history, diagnosis, metrics), first, 'the same read again, from the cache');
      }
    });
  }

  test('a backend without its BACKEND row: its counts and no cells', async () => {
    const snapshot = specSnapshot({ ...labSpec(0), be_api: { servers: { api1: { status: 'DOWN' }, api2: { status: 'UP' } }, cells: null } });
    assert.equal(snapshot.backends.find((b) => b.name === 'be_api')?.row, null);
    const watcher = new Watcher();
    const history = observeSnapshot(watcher, snapshot);
    const diagnosis = diagnosisOf(snapshot, history);
    await assertSameContent(
      fastExposition(snapshot, history, diagnosis, new HaproxyMetrics(DEFAULTS)),
      straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS),
    );
  });

  test('change counts land in the series of their own state', async () => {
    const watcher = new Watcher();
    // up, then down twice, maint three times, drain once and nolb four times.
    const path: ServerState[] = ['up', 'down', 'up', 'down', 'maint', 'up', 'maint', 'up', 'maint', 'drain', 'nolb', 'up', 'nolb', 'up', 'nolb', 'up', 'nolb'];
    for (const [k, state] of path.entries()) {
      watcher.observe(
        observationsOf([{ backend: 'be_ok', name: 'web1', state, held: [], usable: state === 'up', check: null, lastChangeAt: null }]),
        null,
        NOW - 100_000 + k * 1000,
      );
    }
    // The read sees web1 as the last poll did, so it adds no change of its own.
    const snapshot = specSnapshot({ ...labSpec(0), be_ok: { servers: { web1: { status: 'NOLB' }, web2: { status: 'MAINT' } } } });
    const history = observeSnapshot(watcher, snapshot);
    const diagnosis = diagnosisOf(snapshot, history, PROCS);
    const text = fastExposition(snapshot, history, diagnosis, new HaproxyMetrics(DEFAULTS));
    for (const [to, count] of Object.entries({ up: 6, down: 2, maint: 3, drain: 1, nolb: 4 })) {
      assert.match(text, new RegExp(`\\nhaproxy_server_state_changes_total\\{proxy="be_ok",server="web1",to="${to}"\\} ${count}\\n`), to);
    }
    await assertSameContent(text, straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
  });

  test('the cache follows what changed through reads whose server counts shrink and grow', async () => {
    // 200 servers, then 10 (the series give back their room), then 200 again: the values of the
    // servers past the tenth are gone, and must not be taken for unchanged.
    const servers = (count: number, spec: (i: number) => ServerSpec): Record<string, ServerSpec> =>
      Object.fromEntries(Array.from({ length: count }, (_, i) => [`s${i}`, spec(i)]));
    const busy = servers(200, (i) => ({ status: 'UP', scur: i + 1, maxconn: 500 }));
    const reads: Array<Record<string, ServerSpec>> = [
      busy,
      servers(200, (i) => ({ status: 'UP', scur: i + 2, maxconn: 500 })),
      busy,
      servers(10, (i) => ({ status: 'UP', scur: i + 1, maxconn: 500 })),
      servers(200, (i) => ({ status: 'UP', scur: i < 10 ? i + 1 : 0, maxconn: 500 })),
      servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })),
      servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })),
      servers(200, () => ({ status: 'UP', scur: 0, maxconn: 500 })),
      servers(200, (i) => ({ status: i % 3 === 0 ? 'MAINT' : i % 3 === 1 ? 'DOWN' : 'UP', scur: 0, maxconn: 500 })),
    ];
    const watcher = new Watcher();
    const metrics = new HaproxyMetrics(DEFAULTS);
    for (const [k, read] of reads.entries()) {
      // The backend's queue and its servers' counts move with the reads too.
      const snapshot = specSnapshot({
        be: { queue: k % 3, servers: read },
        be_other: { queue: k % 2, servers: { a: { status: k % 4 === 0 ? 'DOWN' : 'UP' } } },
      });
      const history = observeSnapshot(watcher, snapshot);
      const diagnosis = diagnosisOf(snapshot, history);
      const text = fastExposition(snapshot, history, diagnosis, metrics);
      await assertSameContent(text, straightforwardExposition(snapshot, watcher, diagnosis, DEFAULTS));
      assert.equal(text, fastExposition(snapshot, history, diagnosis, new HaproxyMetrics(DEFAULTS)), `read ${k}`);
    }
  });

  test('reads where a few servers change, some past a power of ten, among servers that do not', async () => {
    // As under traffic: each read moves the counters of every seventh server and puts back those
    // of the read before, so each family is rewritten with most of its lines as they were; of the
    // responses only the 2xx move, so their other columns are left where they are, or moved whole.
    const serversOf = (k: number): Record<string, ServerSpec> =>
      Object.fromEntries(
        Array.from({ length: 50 }, (_, i) => {
          const moved = i % 7 === k % 7;
          const cells = { stot: moved ? 10 ** k : 1, bout: i, hrsp_1xx: 0, hrsp_2xx: moved ? 10 ** k + i : i, hrsp_4xx: 3 * i, hrsp_5xx: 12 };
          return [`s${i}`, { status: 'UP', scur: moved ? 9 * 10 ** k + i : i, maxconn: 10 ** 9, cells }];
        }),
      );
    const watcher = new Watcher();
    const metrics = new HaproxyMetrics(ALL);
    for (let k = 0; k < 8; k++) {
      const snapshot = specSnapshot({ be: { servers: serversOf(k) } });
      const history = observeSnapshot(watcher, snapshot);
      const diagnosis = diagnosisOf(snapshot, history);
      await assertSameContent(fastExposition(snapshot, history, diagnosis, metrics), straightforwardExposition(snapshot, watcher, diagnosis, ALL));
    }
  });
});

describe('the exposition nosrv writes equals the straightforward one, from real captures', () => {
  const takenAt = Date.parse('2026-11-24T01:00:00Z');
  const lab = snapshotOf('haproxy-2.6.12-lab.txt', { takenAt });
  const goingDown = snapshotOf('haproxy-2.6.12-going-down.txt', { takenAt: takenAt + 1000 });

  test('2.6.12 lab through the socket, every group, a renderer through two reads', async () => {
    const watcher = new Watcher();
    const metrics = new HaproxyMetrics(ALL);
    for (const snapshot of [lab, goingDown]) {
      const history = observeSnapshot(watcher, snapshot);
      const diagnosis = diagnosisOf(snapshot, history, PROCS);
      await assertSameContent(fastExposition(snapshot, history, diagnosis, metrics), straightforwardExposition(snapshot, watcher, diagnosis, ALL));
    }
  });

  test('3.3.0 columns read through the stats page, with a backend filter and no MAINT servers', async () => {
    const snapshot = buildSnapshot({ takenAt, source: 'stats_url', info: null, stat: parseStat(fixture('haproxy-3.3.0-stat.csv')), serversState: null });
    const watcher = new Watcher();
    const history = observeSnapshot(watcher, snapshot);
    const diagnosis = diagnosisOf(snapshot, history, PROCS);
    const collect: CollectOptions = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: /^(?:be_ok|be_mixed)$/, noMaint: true };
    await assertSameContent(
      fastExposition(snapshot, history, diagnosis, new HaproxyMetrics(collect)),
      straightforwardExposition(snapshot, watcher, diagnosis, collect),
    );
  });
});
