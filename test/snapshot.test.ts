import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildSnapshot, conditionFromRuntime, conditionFromStatus, type Backend, type Server, type ServerCondition, type Snapshot } from '../src/snapshot.js';
import { parseInfo } from '../src/parse/info.js';
import { ADMIN, parseServersState, type OpState } from '../src/parse/serversState.js';
import { ParseError } from '../src/parse/errors.js';
import { parseStat } from '../src/parse/stat.js';
import { answers, snapshotOf } from './support/fixtures.js';
import { specSnapshot } from './support/specSnapshot.js';

function backend(snapshot: Snapshot, name: string): Backend {
  const found = snapshot.backends.find((b) => b.name === name);
  assert.ok(found, `backend ${name}`);
  return found;
}

function server(snapshot: Snapshot, path: string): Server {
  const [b, s] = path.split('/') as [string, string];
  const found = backend(snapshot, b).servers.find((x) => x.name === s);
  assert.ok(found, `server ${path}`);
  return found;
}

describe("a server's condition from show servers state", () => {
  const rows: Array<[string, OpState, number, number, ServerCondition]> = [
    ['running', 'running', 0, 1, { state: 'up', held: [], usable: true }],
    ['starting (slowstart)', 'starting', 0, 1, { state: 'up', held: [], usable: true }],
    ['stopped', 'stopped', 0, 1, { state: 'down', held: [], usable: false }],
    ['stopping (NOLB)', 'stopping', 0, 1, { state: 'nolb', held: [], usable: false }],
    ['forced MAINT', 'running', ADMIN.FMAINT, 1, { state: 'maint', held: ['forced'], usable: false }],
    ['config disabled', 'stopped', ADMIN.FMAINT | ADMIN.CMAINT, 1, { state: 'maint', held: ['forced', 'config'], usable: false }],
    ['MAINT inherited through track', 'stopped', ADMIN.IMAINT, 1, { state: 'maint', held: ['inherited'], usable: false }],
    ['MAINT on DNS resolution', 'stopped', ADMIN.RMAINT, 1, { state: 'maint', held: ['resolution'], usable: false }],
    ['forced DRAIN', 'running', ADMIN.FDRAIN, 1, { state: 'drain', held: ['forced'], usable: false }],
    ['inherited DRAIN', 'running', ADMIN.IDRAIN, 1, { state: 'drain', held: ['inherited'], usable: false }],
    ['DRAIN of a DOWN server is DOWN', 'stopped', ADMIN.FDRAIN, 1, { state: 'down', held: [], usable: false }],
    ['weight 0', 'running', 0, 0, { state: 'drain', held: ['weight_zero'], usable: false }],
    ['MAINT wins over DRAIN', 'running', ADMIN.FMAINT | ADMIN.FDRAIN, 1, { state: 'maint', held: ['forced'], usable: false }],
  ];
  for (const [name, opState, adminState, userWeight, expected] of rows) {
    test(name, () => {
      assert.deepEqual(conditionFromRuntime(opState, adminState, userWeight), expected);
    });
  }
});

describe("a server's condition from the status text (stats page)", () => {
  const rows: Array<[string, number | null, ServerCondition | null]> = [
    ['UP', 1, { state: 'up', held: [], usable: true }],
    ['UP 1/3', 1, { state: 'up', held: [], usable: true }],
    ['no check', 1, { state: 'up', held: [], usable: true }],
    ['UP', 0, { state: 'drain', held: ['weight_zero'], usable: false }],
    ['DOWN 1/2', 1, { state: 'down', held: [], usable: false }],
    ['NOLB', 1, { state: 'nolb', held: [], usable: false }],
    ['MAINT', 1, { state: 'maint', held: ['unknown'], usable: false }],
    ['MAINT (via be/s)', 1, { state: 'maint', held: ['inherited'], usable: false }],
    ['MAINT (resolution)', 1, { state: 'maint', held: ['resolution'], usable: false }],
    ['DRAIN', 1, { state: 'drain', held: ['unknown'], usable: false }],
    ['DRAIN (agent)', 1, { state: 'drain', held: ['agent'], usable: false }],
    ['OPEN', null, null],
  ];
  for (const [status, weight, expected] of rows) {
    test(`${status} (weight ${weight})`, () => {
      assert.deepEqual(conditionFromStatus(status, weight), expected);
    });
  }
});

describe('snapshot of the 2.6.12 lab', () => {
  const snapshot = snapshotOf('haproxy-2.6.12-lab.txt');

  test('every server DOWN: no usable server, with the check result per server', () => {
    const api = backend(snapshot, 'be_api');
    assert.equal(api.noUsableServer, true);
    assert.deepEqual(api.counts, { total: 2, usable: 0, down: 2, maint: 0, drain: 0, nolb: 0, unknown: 0, backupUsable: 0, checksFailing: 0 });
    const api1 = server(snapshot, 'be_api/api1');
    assert.equal(api1.check?.status, 'L4CON');
    assert.equal(api1.check.detail, 'Connection refused');
    assert.equal(api1.check.description, 'Layer4 connection problem');
    assert.equal(api1.check.failuresUntilDown, 0);
    assert.equal(api1.check.successesUntilUp, 2);
    assert.deepEqual([api1.check.code, api1.check.durationSeconds, api1.check.rise, api1.check.fall, api1.check.health], [null, 0, 2, 3, 0]);
    const web1 = server(snapshot, 'be_ok/web1');
    assert.deepEqual([web1.check?.status, web1.check?.code, web1.check?.durationSeconds], ['L7OK', 200, 0.001]);
  });

  test('an empty backend has no usable server, although HAProxy calls it UP', () => {
    const empty = backend(snapshot, 'be_empty');
    assert.equal(empty.counts.total, 0);
    assert.equal(empty.noUsableServer, true);
  });

  test('primaries DOWN with a backup UP still serves', () => {
    const b = backend(snapshot, 'be_backup');
    assert.equal(b.noUsableServer, false);
    assert.equal(b.counts.usable, 1);
    assert.equal(b.counts.backupUsable, 1);
    assert.equal(server(snapshot, 'be_backup/bak1').backup, true);
  });

  test('MAINT, DRAIN, no check, tracked and disabled servers side by side', () => {
    const mixed = backend(snapshot, 'be_mixed');
    assert.deepEqual(mixed.counts, { total: 6, usable: 3, down: 1, maint: 1, drain: 1, nolb: 0, unknown: 0, backupUsable: 1, checksFailing: 0 });
    assert.deepEqual(server(snapshot, 'be_mixed/m_drain').held, ['forced']);
    assert.deepEqual(server(snapshot, 'be_mixed/m_disabled').held, ['forced', 'config']);
    assert.equal(server(snapshot, 'be_mixed/m_nocheck').check, null, 'no check');
    assert.equal(server(snapshot, 'be_mixed/m_nocheck').usable, true, '"no check" counts as up');
    assert.equal(server(snapshot, 'be_mixed/m_track').tracks, 'be_api/api1');
    assert.equal(server(snapshot, 'be_mixed/m_track').check, null, 'a tracking server has no check of its own');
    assert.equal(server(snapshot, 'be_ok/web2').state, 'maint');
    assert.equal(server(snapshot, 'be_ok/web2').check?.paused, true, 'checks pause in MAINT');
  });

  test("sessions and capacity: the BACKEND row's slim (fullconn) is not the capacity", () => {
    const ok = backend(snapshot, 'be_ok');
    assert.equal(ok.capacity, null, 'the only usable server has no maxconn');
    assert.ok(ok.row);
    assert.equal(server(snapshot, 'be_ok/web2').sessions.limit, 10);
  });

  test('time of the last change comes from show servers state', () => {
    const api1 = server(snapshot, 'be_api/api1');
    assert.ok(api1.lastChangeAt !== null && api1.lastChangeAt <= snapshot.takenAt);
    assert.equal(snapshot.takenAt - (server(snapshot, 'be_ok/web2').lastChangeAt as number), 1000);
  });

  test('weight and address, from show servers state on a level user socket (its addr column is empty)', () => {
    const api1 = server(snapshot, 'be_api/api1');
    assert.deepEqual([api1.weight, api1.address], [1, '127.0.0.1:55735']);
  });

  test("show servers state rows are matched by name when they are not in show stat's order", () => {
    const a = answers('haproxy-2.6.12-lab.txt');
    const reversed = buildSnapshot({
      takenAt: snapshot.takenAt,
      source: 'socket',
      stat: parseStat(a.stat),
      info: parseInfo(a.info),
      serversState: parseServersState(reversedServers(a.serversState)),
    });
    const fields = (x: Server): unknown => ({
      backend: x.backend,
      name: x.name,
      state: x.state,
      held: x.held,
      usable: x.usable,
      backup: x.backup,
      weight: x.weight,
      tracks: x.tracks,
      address: x.address,
      status: x.status,
      check: x.check && {
        status: x.check.status,
        description: x.check.description,
        detail: x.check.detail,
        code: x.check.code,
        durationSeconds: x.check.durationSeconds,
        inProgress: x.check.inProgress,
        paused: x.check.paused,
        rise: x.check.rise,
        fall: x.check.fall,
        health: x.check.health,
        failuresUntilDown: x.check.failuresUntilDown,
        successesUntilUp: x.check.successesUntilUp,
      },
      sessions: x.sessions,
      lastChangeAt: x.lastChangeAt,
    });
    const plain = (s: Snapshot): unknown => JSON.parse(JSON.stringify(s.backends.map((b) => ({ ...b, row: null, servers: b.servers.map(fields) }))));
    assert.deepEqual(plain(reversed), plain(snapshot));
    assert.deepEqual(server(reversed, 'be_mixed/m_disabled').held, ['forced', 'config']);
  });
});

/** The same `show servers state` answer with its servers' lines in reverse order. */
function reversedServers(answer: string): string {
  const [version, header, ...servers] = answer.split('\n').filter((line) => line !== '');
  return `${[version, header, ...servers.reverse()].join('\n')}\n`;
}

describe('snapshots of transitions', () => {
  test('UP 2/3: still usable, 2 failed checks left before DOWN', () => {
    const s = snapshotOf('haproxy-2.6.12-going-down.txt');
    const web1 = server(s, 'be_ok/web1');
    assert.equal(web1.status, 'UP 2/3');
    assert.equal(web1.usable, true);
    assert.equal(web1.check?.failuresUntilDown, 2);
    assert.equal(web1.check.status, 'L4CON');
  });

  test('DOWN 1/2: not usable, 1 more good check before UP', () => {
    const s = snapshotOf('haproxy-2.6.12-going-up.txt');
    const down = s.backends.flatMap((b) => b.servers).find((x) => x.status === 'DOWN 1/2');
    assert.ok(down);
    assert.equal(down.usable, false);
    assert.equal(down.check?.successesUntilUp, 1);
  });

  test('MAINT (via ...) is inherited maintenance', () => {
    const s = snapshotOf('haproxy-2.6.12-maint-via.txt');
    const track = server(s, 'be_mixed/m_track');
    assert.equal(track.status, 'MAINT (via be_api/api1)');
    assert.deepEqual(track.held, ['inherited']);
  });

  test('NOLB servers take no new request: the backend has none usable', () => {
    const s = snapshotOf('haproxy-2.6.12-nolb.txt');
    const b = backend(s, 'be_nolb');
    assert.equal(b.noUsableServer, true);
    assert.equal(b.counts.nolb, 2);
  });
});

describe('from the stats page alone', () => {
  const snapshot = snapshotOf('haproxy-2.6.12-lab.txt', { statsPageOnly: true });

  test("states agree with the socket's, and what cannot be known is said", () => {
    const full = snapshotOf('haproxy-2.6.12-lab.txt');
    for (const b of full.backends) {
      const same = backend(snapshot, b.name);
      assert.equal(same.noUsableServer, b.noUsableServer, b.name);
      assert.deepEqual(
        same.servers.map((x) => x.state),
        b.servers.map((x) => x.state),
        b.name,
      );
    }
    assert.deepEqual(server(snapshot, 'be_ok/web2').held, ['unknown']);
    assert.ok(snapshot.unknown.some((u) => u.includes('MAINT')));
    assert.equal(snapshot.info, null);
  });
});

describe('servers go to their backend whatever the order of the rows', () => {
  test("a proxy's servers after another's, and a proxy without a BACKEND row", () => {
    const stat = parseStat(
      ['# pxname,svname,status,', 'a,a1,UP,', 'b,b1,UP,', 'a,a2,UP,', 'a,BACKEND,UP,', 'b,b2,UP,', 'b,BACKEND,UP,', 'c,c1,UP,', ''].join('\n'),
    );
    const snapshot = buildSnapshot({ takenAt: 0, source: 'socket', stat, serversState: null, info: null });
    assert.deepEqual(
      snapshot.backends.map((b) => [b.name, b.servers.map((s) => s.name), b.row !== null]),
      [
        ['a', ['a1', 'a2'], true],
        ['b', ['b1', 'b2'], true],
        ['c', ['c1'], false],
      ],
    );
  });
});

describe('what the snapshot cannot read is said, never guessed', () => {
  const read = (lines: readonly string[]): Snapshot =>
    buildSnapshot({
      takenAt: 0,
      source: 'stats_url',
      stat: parseStat(['# pxname,svname,status,scur,', ...lines, ''].join('\n')),
      serversState: null,
      info: null,
    });

  test('a status text nosrv does not know: the state is unknown, and the backend is not said to have no server', () => {
    const snapshot = read(['be,s1,WEIRD 1/2,0,', 'be,s2,DOWN,0,', 'be,BACKEND,UP,0,']);
    assert.equal(server(snapshot, 'be/s1').state, 'unknown');
    assert.equal(server(snapshot, 'be/s1').usable, false);
    const be = backend(snapshot, 'be');
    assert.deepEqual([be.counts.unknown, be.counts.down, be.noUsableServer], [1, 1, false]);
    // Every server known DOWN: the verdict stands.
    assert.equal(backend(read(['be,s1,DOWN,0,', 'be,BACKEND,UP,0,']), 'be').noUsableServer, true);
  });

  test('a cell read as a number that holds something else, or a server without a status, refuses the read', () => {
    assert.throws(
      () => read(['be,s1,UP,many,']),
      (err: unknown) => err instanceof ParseError && /be\/s1: scur is "many", not a number/.test(err.message),
    );
    // A line with quotes is split whole, and read the same way.
    assert.throws(
      () => read(['be,"s,1",UP,many,']),
      (err: unknown) => err instanceof ParseError && /be\/s,1: scur is "many", not a number/.test(err.message),
    );
    assert.throws(
      () => read(['be,s1,,0,']),
      (err: unknown) => err instanceof ParseError && /be\/s1: the server has no status/.test(err.message),
    );
    // Empty is "none", as HAProxy writes it.
    assert.equal(server(read(['be,s1,UP,,']), 'be/s1').sessions.current, 0);
  });
});

describe("a read's servers, as columns and as objects", () => {
  const snapshot = specSnapshot({
    be_a: {
      servers: {
        failing: { status: 'UP 3/3', health: 4, check: 'L4CON' },
        passing: { status: 'UP', check: 'L7OK', scur: 3, maxconn: 10 },
        down: { status: 'DOWN', check: 'L4CON' },
        held: { status: 'MAINT', check: 'L4CON' },
      },
    },
    be_b: { servers: { only: { status: 'UP', backup: true } } },
  });

  test('checksFailing counts the usable servers whose last check failed, not a DOWN or held one', () => {
    assert.equal(backend(snapshot, 'be_a').counts.checksFailing, 1);
    assert.equal(server(snapshot, 'be_a/failing').check?.failing, true);
    assert.equal(server(snapshot, 'be_a/down').check?.failing, true, 'failing, but not usable: not counted');
    assert.equal(server(snapshot, 'be_a/held').check?.failing, false, 'checks are paused in MAINT');
    assert.equal(backend(snapshot, 'be_b').counts.checksFailing, 0);
  });

  test("a backend's servers are the table's at its indexes, made once", () => {
    const table = snapshot.servers;
    assert.equal(table.length, 5);
    for (const b of snapshot.backends) {
      assert.equal(b.servers, b.servers, 'the same objects each time they are read');
      assert.deepEqual(
        b.serverIndexes.map((i) => [table.backend(i), table.name(i), table.condition(i).state, table.sessions(i), table.limit(i), table.backup(i)]),
        b.servers.map((s) => [s.backend, s.name, s.state, s.sessions.current, s.sessions.limit, s.backup]),
      );
    }
    assert.deepEqual(
      backend(snapshot, 'be_a').servers.map((s) => s.name),
      ['failing', 'passing', 'down', 'held'],
    );
    assert.throws(() => table.server(table.length), RangeError);
  });
});
