import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LogIngest, MAX_UNKNOWN_SERIES, OTHER, RECENT_LINES, RECENT_LINES_OVERALL, type LoggedStateEvent } from '../src/logs/ingest.js';
import { madeBy, parseLogMessage, parseSyslog, reasonFor503 } from '../src/logs/parse.js';
import { Watcher } from '../src/watcher.js';
import { observationsOf } from '../src/snapshot.js';
import { fixture } from './support/fixtures.js';

const DATAGRAMS = fixture('haproxy-2.6.12-syslog.txt').split('\n').filter(Boolean);
const find = (text: string): string => {
  const line = DATAGRAMS.find((d) => d.includes(text));
  assert.ok(line, text);
  return line;
};

describe('syslog framing', () => {
  test('RFC 3164 and RFC 5424 from HAProxy 2.6.12 give the same message', () => {
    const [rfc3164, rfc5424] = DATAGRAMS.filter((d) => d.includes('GET /api/x'));
    assert.ok(rfc3164 && rfc5424);
    const a = parseSyslog(rfc3164);
    const b = parseSyslog(rfc5424);
    assert.equal(a.message, b.message);
    assert.equal(a.priority, 134);
    assert.equal(b.priority, 142);
    assert.equal(a.pid, b.pid);
    assert.match(a.message, /^127\.0\.0\.1:\d+ \[24\/Nov\/2026:01:46:01\.550\] fe_main be_api\/<NOSRV> /);
  });

  test('octet counting, a hostname, structured data, short and raw formats', () => {
    const body = 'Server be/s1 is DOWN. 0 active and 0 backup servers left.';
    assert.equal(parseSyslog(`87 <129>Nov 24 01:46:00 haproxy[1]: ${body}`).message, body);
    assert.equal(parseSyslog(`<129>Nov  4 01:46:00 lb1 haproxy[1]: ${body}`).message, body);
    assert.equal(parseSyslog(`<129>1 2026-11-24T01:46:00Z lb1 haproxy 1 - [meta sequenceId="1"] ${body}`).message, body);
    assert.equal(parseSyslog(`<129>${body}`).message, body);
    assert.equal(parseSyslog(`${body}\n`).message, body);
  });
});

describe('log lines from HAProxy 2.6.12', () => {
  const http = (text: string) => {
    const record = parseLogMessage(parseSyslog(find(text)).message);
    assert.ok(record && record.kind === 'http', text);
    return record;
  };

  const table: Array<[string, number, string, string, string]> = [
    ['GET /api/x', 503, 'SC--', 'no_server', 'haproxy'],
    ['GET /slow/1', 503, 'sQ--', 'queue_timeout', 'haproxy'],
    ['GET /nothing', 503, 'SC--', 'no_backend_match', 'haproxy'],
    ['GET /hang', 504, 'sH--', 'other', 'haproxy'],
    ['GET /reset', 502, 'SH--', 'other', 'haproxy'],
    ['GET /garbage', 502, 'PH--', 'other', 'haproxy'],
  ];
  for (const [request, status, termination, reason, origin] of table) {
    test(`${request}: ${status} ${termination}`, () => {
      const r = http(request);
      assert.deepEqual([r.status, r.termination, reasonFor503(r), madeBy(r)], [status, termination, reason, origin]);
    });
  }

  test('a 200, an httpslog line (frontend~), a tcplog line', () => {
    assert.deepEqual(http('fe_main be_ok/web1').status, 200);
    const tls = http('fe_tls~');
    assert.deepEqual([tls.frontend, tls.backend, tls.status, madeBy(tls)], ['fe_tls', 'be_ok', 200, 'server']);
    const tcp = parseLogMessage(parseSyslog(find('fe_tcp be_tcp/t1')).message);
    assert.deepEqual(tcp, { kind: 'tcp', frontend: 'fe_tcp', backend: 'be_tcp', server: 't1', termination: 'CC' });
  });

  test('health-check lines', () => {
    const health = (text: string) => parseLogMessage(parseSyslog(find(text)).message);
    assert.deepEqual(health('Health check for server be_api/api1 failed'), {
      kind: 'health',
      backend: 'be_api',
      server: 'api1',
      event: 'check_failed',
      reason: 'Layer4 connection problem: Connection refused',
    });
    assert.deepEqual(health('Server be_api/api1 is DOWN'), { kind: 'health', backend: 'be_api', server: 'api1', event: 'down', reason: null });
    assert.deepEqual(health('is going DOWN for maintenance'), { kind: 'health', backend: 'be_ok', server: 'web1', event: 'maint', reason: null });
    assert.deepEqual(health('is UP/READY (leaving forced maintenance)'), { kind: 'health', backend: 'be_ok', server: 'web1', event: 'up', reason: null });
    assert.deepEqual(health('backend be_api has no server available!'), {
      kind: 'health',
      backend: 'be_api',
      server: null,
      event: 'no_server_left',
      reason: null,
    });
  });

  test("HAProxy's notices about itself are understood, not unparsed (2.2 logs one per proxy at start)", () => {
    for (const notice of ['Proxy fe_main started.', 'Proxy be_api stopped (cumulated conns: FE: 0, BE: 3).', 'Stopping backend be_api in 0 ms.'])
      assert.deepEqual(parseLogMessage(notice), { kind: 'process' }, notice);
  });

  test("a line cut short by HAProxy's len still counts its status", () => {
    const line = parseSyslog(find('GET /api/x')).message;
    const cut = parseLogMessage(line.slice(0, line.indexOf('"GET') + 8));
    assert.ok(cut && cut.kind === 'http');
    assert.deepEqual([cut.status, cut.truncated], [503, true]);
  });

  test('anything else is not understood, never a crash', () => {
    for (const junk of ['', 'hello', '\u0000\u0001', '127.0.0.1:1 [x] fe be/s a/b/c', 'Proxy fe_main', 'x'.repeat(100_000)]) {
      assert.equal(parseLogMessage(junk), null, JSON.stringify(junk.slice(0, 30)));
    }
  });
});

describe('ingest', () => {
  const ingestAll = (): { ingest: LogIngest; events: LoggedStateEvent[]; samples: string[] } => {
    const events: LoggedStateEvent[] = [];
    const samples: string[] = [];
    const ingest = new LogIngest(
      (e) => events.push(e),
      (s) => samples.push(s),
    );
    DATAGRAMS.forEach((d, i) => {
      ingest.ingest(d, 1000 * i);
    });
    ingest.ingest('garbage one', 0);
    ingest.ingest('garbage two', 0);
    return { ingest, events, samples };
  };

  test('503s by reason, 5xx by status, termination and origin, lines by result', () => {
    const { ingest, samples } = ingestAll();
    assert.deepEqual(Object.fromEntries(ingest.unavailable), {
      'fe_main\0be_api\0no_server': 2,
      'fe_main\0fe_main\0no_backend_match': 2,
      'fe_main\0be_slow\0queue_timeout': 4,
    });
    assert.equal(ingest.errors.get('fe_main\0be_hang\u0000504\0sH\0haproxy'), 2);
    assert.equal(ingest.errors.get('fe_main\0be_reset\u0000502\0SH\0haproxy'), 1);
    assert.equal(ingest.errors.get('fe_main\0be_garbage\u0000502\0PH\0haproxy'), 1);
    assert.deepEqual(Object.fromEntries(ingest.lines), { http: 18, tcp: 2, health: 20, process: 0, truncated: 0, unparsed: 2 });
    assert.equal(ingest.datagrams, DATAGRAMS.length + 2);
    assert.deepEqual(samples, ['garbage one'], 'one unparsed line is sampled');
  });

  test('the last 503 lines per backend and frontend; no_backend_match by frontend', () => {
    const { ingest } = ingestAll();
    assert.deepEqual(
      ingest.recent503('backend', 'be_slow').map((r) => r.reason),
      ['queue_timeout', 'queue_timeout', 'queue_timeout', 'queue_timeout'],
    );
    assert.equal(ingest.recent503('frontend', 'fe_main').length, 8);
    assert.equal(ingest.recent503('backend', 'fe_main').length, 0, "no_backend_match is not a backend's");
    assert.ok(ingest.lastNoBackendMatch('fe_main') !== null);
    const many = new LogIngest(
      () => {},
      () => {},
    );
    const line = parseSyslog(find('GET /api/x')).message;
    for (let i = 0; i < RECENT_LINES * 3; i++) many.ingest(line, i);
    assert.equal(many.recent503('backend', 'be_api').length, RECENT_LINES);
  });

  test("health lines become state events, a DOWN with the failed check's reason", () => {
    const { events } = ingestAll();
    // The fixture holds each line twice, once per framing.
    const api = events.filter((e) => e.server === 'api1');
    assert.deepEqual(
      api.map((e) => [e.to, e.reason]),
      [
        [null, 'check failed: Layer4 connection problem: Connection refused'],
        [null, 'check failed: Layer4 connection problem: Connection refused'],
        ['down', 'Layer4 connection problem: Connection refused'],
        ['down', 'Layer4 connection problem: Connection refused'],
      ],
    );
  });

  test("forged names share a bounded room; HAProxy's own proxies are always counted, their lines kept", () => {
    const ingest = new LogIngest(
      () => {},
      () => {},
    );
    ingest.know(['fe_main'], ['be_api']);
    const line = parseSyslog(find('GET /api/x')).message;
    const forged = MAX_UNKNOWN_SERIES + 500;
    for (let i = 0; i < forged; i++) ingest.ingest(line.replace('be_api/', `be_forged_${i}/`), i);
    // Every forged name has taken room, in errors and in 503s: the room is full.
    assert.ok(ingest.errors.size + ingest.unavailable.size <= MAX_UNKNOWN_SERIES + 2);
    assert.ok(ingest.folded > 0);
    assert.ok((ingest.errors.get(['fe_main', OTHER, '503', 'SC', 'haproxy'].join('\0')) ?? 0) > 0, 'the rest counted under (other)');
    // The real backend's 503 after the flood is counted under its name, and its line is kept.
    ingest.ingest(line, forged);
    assert.equal(ingest.unavailable.get('fe_main\0be_api\0no_server'), 1);
    assert.equal(ingest.recent503('backend', 'be_api').length, 1);
    assert.equal(ingest.recent503('backend', 'be_forged_1').length, 0, 'lines of names HAProxy does not have are not kept');
  });

  test('the kept lines are bounded overall, the oldest of all going first', () => {
    const ingest = new LogIngest(
      () => {},
      () => {},
    );
    const names = Array.from({ length: RECENT_LINES_OVERALL }, (_, i) => `be_${i}`);
    ingest.know(['fe_main'], names);
    const line = parseSyslog(find('GET /api/x')).message;
    for (const name of names) ingest.ingest(line.replace('be_api/', `${name}/`), 0);
    // A line each for its backend and its frontend: the first backends' lines, the oldest of all, are gone.
    assert.equal(ingest.recent503('backend', 'be_0').length, 0);
    assert.equal(ingest.recent503('frontend', 'fe_main').length, RECENT_LINES);
    const kept = names.filter((n) => ingest.recent503('backend', n).length > 0).length + RECENT_LINES;
    assert.ok(kept <= RECENT_LINES_OVERALL, `${kept} lines kept`);
    assert.equal(ingest.recent503('backend', names.at(-1) ?? '').length, 1, 'the newest stay');
  });
});

describe('the watcher takes log events', () => {
  test("a change is counted once whether the log or the poll sees it first; the log's reason wins", () => {
    const w = new Watcher();
    const server = (name: string, state: 'up' | 'down', check: string) => ({
      backend: 'be',
      name,
      state,
      held: [],
      usable: state === 'up',
      check: { status: check },
      lastChangeAt: null,
    });
    w.observe(observationsOf([server('a', 'up', 'L4OK'), server('b', 'up', 'L4OK')]), ['be'], 0);
    // a: the log first, then the poll
    w.logged({ backend: 'be', server: 'a', to: 'down', reason: 'Layer4 connection problem: Connection refused', at: 500 });
    // b: the poll first, then the log
    w.observe(observationsOf([server('a', 'down', 'L4CON'), server('b', 'down', 'L4CON')]), null, 1000);
    w.logged({ backend: 'be', server: 'b', to: 'down', reason: 'Layer7 wrong status: Service Unavailable', at: 1200 });
    assert.deepEqual([w.seen('be', 'a')?.changes.down, w.seen('be', 'b')?.changes.down], [1, 1]);
    assert.deepEqual(
      w.events('be').map((e) => [e.server, e.to, e.reason, e.source]),
      [
        ['a', 'down', 'Layer4 connection problem: Connection refused', 'log'],
        ['b', 'down', 'Layer7 wrong status: Service Unavailable', 'log'],
      ],
    );
  });
});
