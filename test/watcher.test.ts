import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { observationsOf, type ServerObservation, type ServerState } from '../src/snapshot.js';
import { EVENTS_PER_BACKEND, Watcher } from '../src/watcher.js';

function seen(backend: string, name: string, state: ServerState, checkStatus: string | null = null, lastChangeAt: number | null = null): ServerObservation {
  return {
    backend,
    name,
    state,
    held: state === 'maint' ? ['forced'] : [],
    usable: state === 'up',
    check: checkStatus === null ? null : { status: checkStatus },
    lastChangeAt,
  };
}

describe('watcher', () => {
  test('a short outage between two scrapes is counted in seconds and transitions', () => {
    const w = new Watcher();
    const t0 = Date.parse('2026-11-24T01:00:00Z');
    w.observe(observationsOf([seen('be', 'a', 'up'), seen('be', 'b', 'up')]), ['be'], t0);
    w.observe(observationsOf([seen('be', 'a', 'down', 'L4CON'), seen('be', 'b', 'down', 'L4CON')]), null, t0 + 1000);
    w.observe(observationsOf([seen('be', 'a', 'down'), seen('be', 'b', 'down')]), null, t0 + 2000);
    w.observe(observationsOf([seen('be', 'a', 'up'), seen('be', 'b', 'down')]), null, t0 + 3500);
    assert.equal(w.noUsableSeconds('be'), 2.5, 'from the poll that saw the outage to the one that saw it end');
    assert.deepEqual(w.seen('be', 'a')?.changes, { up: 1, down: 1, maint: 0, drain: 0, nolb: 0 });
    assert.deepEqual(
      w.events('be').map((e) => [e.server, e.from, e.to, e.reason]),
      [
        ['a', 'up', 'down', 'L4CON'],
        ['b', 'up', 'down', 'L4CON'],
        ['a', 'down', 'up', null],
      ],
    );
    assert.equal(w.events('be')[0]?.at, '2026-11-24T01:00:01.000Z');
  });

  test('every server starts with all its counters at 0', () => {
    const w = new Watcher();
    w.observe(observationsOf([seen('be', 'a', 'up')]), ['be'], 0);
    assert.deepEqual(w.seen('be', 'a')?.changes, { up: 0, down: 0, maint: 0, drain: 0, nolb: 0 });
  });

  test('an empty backend counts as having no usable server', () => {
    const w = new Watcher();
    w.observe(observationsOf([]), ['be_empty'], 0);
    w.observe(observationsOf([]), null, 4000);
    assert.equal(w.noUsableSeconds('be_empty'), 4);
  });

  test('backends and servers gone from the configuration are dropped', () => {
    const w = new Watcher();
    w.observe(observationsOf([seen('old', 'a', 'down'), seen('be', 'b', 'up')]), ['old', 'be'], 0);
    w.observe(observationsOf([seen('be', 'b', 'up')]), ['be'], 1000);
    assert.equal(w.noUsableSeconds('old'), 0);
    assert.equal(w.seen('old', 'a')?.changes, undefined);
    assert.notEqual(w.seen('be', 'b')?.changes, undefined);
  });

  test('a read that finishes after a newer one is ignored', () => {
    const w = new Watcher();
    w.observe(observationsOf([seen('be', 'a', 'up')]), ['be'], 2000);
    w.observe(observationsOf([seen('be', 'a', 'down')]), null, 1000);
    assert.equal(w.events('be').length, 0);
  });

  test("a server's change time stays put while reads put it within a second, and moves with a change", () => {
    const w = new Watcher();
    const read = (at: number, state: ServerState, lastChangeAt: number | null): number | null | undefined => {
      w.observe(observationsOf([seen('be', 'a', state, null, lastChangeAt)]), null, at);
      return w.seen('be', 'a')?.changedAt;
    };
    const up = 'up';
    // HAProxy says whole seconds ago, so a read that ends just past a second is a second off.
    assert.equal(read(1000, up, 500_400), 500);
    assert.equal(read(2000, up, 499_900), 500, 'a second earlier: the same change');
    assert.equal(read(3000, up, 501_100), 500, 'a second later: the same change');
    assert.equal(read(4000, up, null), 500, 'a poll that does not say keeps it');
    assert.equal(read(5000, up, 503_000), 503, 'more than a second off: HAProxy has another time');
    assert.equal(read(6000, 'down', 504_200), 504, 'within a second, but the state changed: taken as it is');
  });

  test('events per backend are bounded', () => {
    const w = new Watcher();
    for (let i = 0; i < EVENTS_PER_BACKEND * 3; i++) w.observe(observationsOf([seen('be', 'a', i % 2 ? 'down' : 'up')]), null, i);
    assert.equal(w.events('be').length, EVENTS_PER_BACKEND);
  });

  test('held states say why', () => {
    const w = new Watcher();
    w.observe(observationsOf([seen('be', 'a', 'up')]), ['be'], 0);
    w.observe(observationsOf([seen('be', 'a', 'maint')]), null, 1);
    assert.equal(w.events('be')[0]?.reason, 'held: forced');
  });

  test("a read's history is what the watcher knew as it took the read: later polls and log lines leave it as it is", () => {
    const w = new Watcher();
    w.observe(observationsOf([seen('be', 'a', 'up', null, 500_000), seen('be', 'b', 'up')]), ['be'], 1000);
    const history = w.observe(observationsOf([seen('be', 'a', 'down', 'L4CON', 1_500_000), seen('be', 'b', 'down', 'L4CON')]), ['be'], 2000);
    const known = (): unknown => ({ a: history.server(0), b: history.server(1), events: history.events('be').length, noUsable: history.noUsableSeconds('be') });
    const before = {
      a: { state: 'down', changes: { up: 0, down: 1, maint: 0, drain: 0, nolb: 0 }, changedAt: 1500 },
      b: { state: 'down', changes: { up: 0, down: 1, maint: 0, drain: 0, nolb: 0 }, changedAt: null },
      events: 2,
      noUsable: 0,
    };
    assert.deepEqual(known(), before);

    w.observe(observationsOf([seen('be', 'a', 'up', null, 3_000_000), seen('be', 'b', 'down')]), null, 4000);
    w.logged({ at: 4500, backend: 'be', server: 'a', to: 'down', reason: 'Layer4 timeout' });
    assert.equal(w.seen('be', 'a')?.changes.down, 2, 'the watcher moved on');
    assert.equal(w.noUsableSeconds('be'), 2);
    assert.deepEqual(known(), before);
  });

  test('a read older than the last one taken changes nothing; its history is what the watcher knows of its servers', () => {
    const w = new Watcher();
    w.observe(observationsOf([seen('be', 'a', 'up')]), ['be'], 1000);
    w.observe(observationsOf([seen('be', 'a', 'down')]), null, 3000);
    const stale = w.observe(observationsOf([seen('be', 'a', 'up'), seen('be', 'gone', 'up')]), ['be'], 2000);
    assert.deepEqual(stale.server(0), { state: 'down', changes: { up: 0, down: 1, maint: 0, drain: 0, nolb: 0 }, changedAt: null });
    assert.equal(stale.server(1), undefined, 'a server the watcher has not seen');
    assert.equal(stale.events('be').length, 1);
  });
});
