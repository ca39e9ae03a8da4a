import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ParseError } from '../src/parse/errors.js';
import { parseInfo } from '../src/parse/info.js';
import { ADMIN, parseServersState, ServersStateParser } from '../src/parse/serversState.js';
import { cell, numberCell, parseStat, splitCsvLine, StatParser } from '../src/parse/stat.js';
import { parseStatus } from '../src/parse/status.js';
import { answers, fixture } from './support/fixtures.js';

describe('show stat', () => {
  test('2.6.12: every object, typed, by header name', () => {
    const table = parseStat(answers('haproxy-2.6.12-lab.txt').stat);
    assert.equal(table.columns.size, 128, '128 columns, the "-" marker among them');
    const byName = new Map(table.rows().map((r, i) => [`${r.proxy}/${r.name}`, i]));
    const typeOf = (name: string): string | undefined => {
      const row = byName.get(name);
      return row === undefined ? undefined : table.type(row);
    };
    assert.equal(typeOf('fe_main/FRONTEND'), 'frontend');
    assert.equal(typeOf('be_empty/BACKEND'), 'backend');
    const api1 = byName.get('be_api/api1');
    assert.ok(api1 !== undefined);
    assert.equal(table.type(api1), 'server');
    assert.equal(cell(table, api1, 'status'), 'DOWN');
    assert.equal(cell(table, api1, 'check_status'), 'L4CON');
    assert.equal(cell(table, api1, 'last_chk'), 'Connection refused');
    assert.equal(cell(table, api1, 'check_desc'), 'Layer4 connection problem');
    assert.equal(numberCell(table, api1, 'check_rise'), 2);
    assert.equal(numberCell(table, api1, 'check_fall'), 3);
    assert.equal(numberCell(table, api1, 'slim'), null, 'an empty cell is no number');
    assert.equal(cell(table, api1, 'no_such_column'), undefined);
  });

  test('older (2.5.5) and newer (3.3.0) column sets give the same facts', () => {
    const base = parseStat(answers('haproxy-2.6.12-lab.txt').stat);
    for (const name of ['haproxy-2.5.5-stat.csv', 'haproxy-3.3.0-stat.csv']) {
      const table = parseStat(fixture(name));
      assert.equal(table.length, base.length, name);
      for (let row = 0; row < table.length; row++) {
        for (const column of ['status', 'scur', 'check_status', 'check_health', 'tracked', 'bck']) {
          assert.equal(cell(table, row, column), cell(base, row, column), `${name} ${table.proxy(row)}/${table.name(row)} ${column}`);
        }
      }
    }
    assert.equal(parseStat(fixture('haproxy-2.5.5-stat.csv')).columns.get('agg_server_check_status'), 100);
    assert.equal(parseStat(fixture('haproxy-3.3.0-stat.csv')).columns.get('agg_server_check_status'), 101);
  });

  test('quoted fields, doubled quotes and the trailing comma', () => {
    assert.deepEqual(splitCsvLine('a,"b,c","say ""hi""",'), ['a', 'b,c', 'say "hi"', '']);
    const table = parseStat('# pxname,svname,status,last_chk,type,\nbe,s1,DOWN,"HTTP status check returned code <503, ""down"">",2,\n');
    assert.equal(cell(table, 0, 'last_chk'), 'HTTP status check returned code <503, "down">');
    assert.equal(table.type(0), 'server');
  });

  test('proxy names past ASCII are read whole, and rows of one proxy share its name', () => {
    const header = answers('haproxy-2.6.12-lab.txt').stat.split('\n')[0] ?? '';
    const rows = parseStat(
      `${header}\n${lineOf(header, { pxname: 'Ã©', svname: 's1', type: 2 })}\n${lineOf(header, { pxname: 'é', svname: 's1', type: 2 })}\n${lineOf(header, { pxname: 'é', svname: 's2', type: 2 })}\n`,
    ).rows();
    assert.deepEqual(
      rows.map((r) => r.proxy),
      ['Ã©', 'é', 'é'],
    );
    assert.equal(rows[1]?.proxy, rows[2]?.proxy);
  });

  test('parsed piece by piece as it arrives, with quoted and short lines, it says the same as parsed whole', () => {
    // The lab's rows many times over: past the first 4 MiB, which an answer keeps in pieces of
    // their own, into the blocks that hold the rest.
    const [header, ...rows] = answers('haproxy-2.6.12-lab.txt').stat.trimEnd().split('\n');
    const quotedLine = lineOf(header ?? '', { pxname: 'be_q', svname: '"s,1"', qcur: 0, type: 2 });
    const text = `${header}\n${Array.from({ length: 1100 }, () => rows.join('\n')).join('\n')}\n${quotedLine}\n`;
    assert.ok(text.length > 5 * 1024 * 1024, `${text.length}`);
    const whole = parseStat(text);
    const lines = text.split('\n');
    // Bytes given in a buffer that is then overwritten, as the socket's read buffer is; room
    // expected for one row, so the table grows as the rows come.
    const parser = new StatParser(1);
    const reused = Buffer.alloc(64 * 1024);
    for (let i = 0; i < lines.length; i += 2) {
      const n = reused.write(`${lines.slice(i, i + 2).join('\n')}\n`);
      parser.writeBytes(reused.subarray(0, n));
      reused.fill(0x2c);
    }
    // The room left unused given back once the answer is in: the rows still read the same.
    const pieces = parser.finish();
    assert.deepEqual([...pieces.columns], [...whole.columns]);
    assert.equal(pieces.length, whole.length);
    const otherRows = pieces.rows();
    for (const [i, row] of whole.rows().entries()) {
      const other = otherRows[i];
      assert.deepEqual([other?.proxy, other?.name, other?.type], [row.proxy, row.name, row.type]);
      for (const index of [...whole.columns.values(), whole.columns.size + 5]) {
        assert.equal(other?.cell(index), row.cell(index), `${row.proxy}/${row.name} column ${index}`);
        assert.equal(other?.number(index), row.number(index), `${row.proxy}/${row.name} column ${index}`);
      }
    }
    const quoted = whole.rows().findIndex((r) => r.proxy === 'be_q');
    assert.equal(whole.name(quoted), 's,1');
    assert.equal(cell(whole, quoted, 'qcur'), '0');
  });

  test('a line that does not hold together refuses the whole answer, never becomes an object', () => {
    const header = answers('haproxy-2.6.12-lab.txt').stat.split('\n')[0] ?? '';
    const server = lineOf(header, { pxname: 'be', svname: 's1', status: 'UP', type: 2 });
    const refused: Array<[string, RegExp]> = [
      ['be\n', /line 2 has 1 cells, the header 129/],
      ['be,s2,UP\n', /line 2 has 3 cells/],
      [`${server}${server}\n`, /line 2 has 257 cells/],
      [`${lineOf(header, { pxname: 'be', svname: '', type: 2 })}\n`, /no proxy or object name/],
      [`${lineOf(header, { pxname: 'be', svname: 's1', type: 7 })}\n`, /type "7" is none of 0 to 3/],
      [`${lineOf(header, { pxname: 'be', svname: 's1', type: 'x' })}\n`, /type "x"/],
    ];
    for (const [lines, message] of refused) {
      assert.throws(
        () => parseStat(`${header}\n${lines}`),
        (err: unknown) => err instanceof ParseError && message.test(err.message),
        lines,
      );
    }
    assert.throws(() => parseStat('# svname,pxname,\n'), /does not start with "pxname,svname"/);
  });

  test('a parsed answer stays as it was read whatever is parsed after it', () => {
    const lab = answers('haproxy-2.6.12-lab.txt').stat;
    const first = parseStat(lab);
    const before = first.rows().map((row) => [row.proxy, row.name, row.cell(17), row.number(4)]);
    const second = parseStat(lab.replace(/,UP,/g, ',DOWN,'));
    assert.deepEqual(
      first.rows().map((row) => [row.proxy, row.name, row.cell(17), row.number(4)]),
      before,
    );
    assert.deepEqual(
      second.rows().map((row) => row.cell(17)),
      before.map(([, , status]) => (status === 'UP' ? 'DOWN' : status)),
    );
  });

  test('a version without the type column still tells frontends, backends and servers apart', () => {
    const table = parseStat('# pxname,svname,status,\nfe,FRONTEND,OPEN,\nbe,web1,UP,\nbe,BACKEND,UP,\n');
    assert.deepEqual(
      table.rows().map((r) => r.type),
      ['frontend', 'server', 'backend'],
    );
  });

  test('an answer that is not show stat is an error, not data', () => {
    assert.throws(() => parseStat('Permission denied\n'), ParseError);
    assert.throws(() => parseStat('# qcur,scur,\n'), /pxname/);
  });
});

describe('status text', () => {
  const table: Array<[string, ReturnType<typeof parseStatus>]> = [
    ['UP', { word: 'UP', progress: null, via: null, resolution: false, agent: false }],
    ['UP 2/3', { word: 'UP', progress: { current: 2, total: 3 }, via: null, resolution: false, agent: false }],
    ['DOWN', { word: 'DOWN', progress: null, via: null, resolution: false, agent: false }],
    ['DOWN 1/2', { word: 'DOWN', progress: { current: 1, total: 2 }, via: null, resolution: false, agent: false }],
    ['DOWN (agent)', { word: 'DOWN', progress: null, via: null, resolution: false, agent: true }],
    ['NOLB', { word: 'NOLB', progress: null, via: null, resolution: false, agent: false }],
    ['NOLB 1/2', { word: 'NOLB', progress: { current: 1, total: 2 }, via: null, resolution: false, agent: false }],
    ['MAINT', { word: 'MAINT', progress: null, via: null, resolution: false, agent: false }],
    ['MAINT (via be_api/api1)', { word: 'MAINT', progress: null, via: 'be_api/api1', resolution: false, agent: false }],
    ['MAINT (resolution)', { word: 'MAINT', progress: null, via: null, resolution: true, agent: false }],
    ['DRAIN', { word: 'DRAIN', progress: null, via: null, resolution: false, agent: false }],
    ['DRAIN 2/3', { word: 'DRAIN', progress: { current: 2, total: 3 }, via: null, resolution: false, agent: false }],
    ['DRAIN (agent)', { word: 'DRAIN', progress: null, via: null, resolution: false, agent: true }],
    ['no check', { word: 'no check', progress: null, via: null, resolution: false, agent: false }],
    ['OPEN', { word: 'OPEN', progress: null, via: null, resolution: false, agent: false }],
    ['FULL', { word: 'FULL', progress: null, via: null, resolution: false, agent: false }],
    ['STOP', { word: 'STOP', progress: null, via: null, resolution: false, agent: false }],
    ['SOMETHING NEW', null],
    ['UP sideways', null],
  ];
  for (const [text, expected] of table) {
    test(JSON.stringify(text), () => {
      assert.deepEqual(parseStatus(text), expected);
    });
  }

  test('every status in the captures is understood', () => {
    for (const name of [
      'haproxy-2.6.12-lab.txt',
      'haproxy-2.6.12-going-down.txt',
      'haproxy-2.6.12-going-up.txt',
      'haproxy-2.6.12-maint-via.txt',
      'haproxy-2.6.12-nolb.txt',
    ]) {
      const table = parseStat(answers(name).stat);
      for (let row = 0; row < table.length; row++) {
        assert.notEqual(parseStatus(cell(table, row, 'status') ?? ''), null, `${name}: ${table.proxy(row)}/${table.name(row)}`);
      }
    }
  });
});

describe('show servers state', () => {
  test('2.6.12: the admin bit field, op state and check numbers', () => {
    const rows = parseServersState(answers('haproxy-2.6.12-lab.txt').serversState).rows();
    const by = new Map(rows.map((r) => [`${r.backend}/${r.server}`, r]));
    assert.equal(rows.length, 13);
    assert.equal(by.get('be_ok/web2')?.adminState, ADMIN.FMAINT, 'set server ... state maint');
    assert.equal(by.get('be_mixed/m_drain')?.adminState, ADMIN.FDRAIN, 'set server ... state drain');
    assert.equal(by.get('be_mixed/m_disabled')?.adminState, ADMIN.FMAINT | ADMIN.CMAINT, '"disabled" in the configuration');
    assert.equal(by.get('be_api/api1')?.opState, 'stopped');
    assert.equal(by.get('be_api/api1')?.checkStatus, 8, 'L4CON');
    assert.equal(by.get('be_ok/web1')?.opState, 'running');
    assert.equal(by.get('be_mixed/m_nocheck')?.checkState, 0, 'no check configured');
    assert.equal(by.get('be_mixed/m_up')?.checkState, 6, 'configured and enabled');
    const nolb = parseServersState(answers('haproxy-2.6.12-nolb.txt').serversState).rows();
    assert.equal(nolb[0]?.opState, 'stopping');
    assert.equal(
      parseServersState(answers('haproxy-2.6.12-maint-via.txt').serversState)
        .rows()
        .find((r) => r.server === 'm_track')?.adminState,
      ADMIN.IMAINT,
    );
  });

  test('fields are found by name, so appended fields change nothing', () => {
    const text =
      '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state bk_f_forced_id srv_f_forced_id srv_fqdn srv_port srvrecord srv_use_ssl srv_check_port srv_check_addr srv_agent_addr srv_agent_port srv_future\n3 be 1 s1 10.0.0.1 2 0 1 1 5 15 3 4 6 0 0 0 - 80 - 0 0 - - 0 extra\n';
    const state = parseServersState(text);
    assert.deepEqual(state.rows(), [
      {
        backend: 'be',
        server: 's1',
        address: '10.0.0.1',
        opState: 'running',
        adminState: 0,
        userWeight: 1,
        secondsSinceChange: 5,
        checkStatus: 15,
        checkHealth: 4,
        checkState: 6,
        port: 80,
      },
    ]);
    assert.equal(state.is(0, 'be', 's1'), true);
    assert.equal(state.is(0, 'be', 's'), false, 'a name is matched whole, not as a prefix');
    assert.equal(state.is(0, 'be', 's10'), false);
    assert.equal(state.is(0, 'b', 's1'), false);
  });

  test('names past ASCII are matched and read whole', () => {
    const header = answers('haproxy-2.6.12-lab.txt').serversState.split('\n').slice(0, 2).join('\n');
    const state = parseServersState(`${header}\n3 bé 1 sé 10.0.0.1 2 0 1 1 5 15 3 4 6 0 0 0 - 80 - 0 0 - - 0\n`);
    assert.equal(state.is(0, 'bé', 'sé'), true);
    assert.equal(state.is(0, 'bé', 'se'), false);
    assert.deepEqual([state.backend(0), state.server(0)], ['bé', 'sé']);
  });

  test('parsed piece by piece as it arrives it says the same as parsed whole', () => {
    const text = answers('haproxy-2.6.12-lab.txt').serversState;
    const lines = text.split('\n');
    // Room expected for none (the last answer had no server): the table grows as the servers come.
    // Bytes given in a buffer that is then overwritten, as the socket's read buffer is.
    const parser = new ServersStateParser(0);
    const reused = Buffer.alloc(64 * 1024);
    for (let i = 0; i < lines.length; i += 3) {
      const n = reused.write(`${lines.slice(i, i + 3).join('\n')}\n`);
      parser.writeBytes(reused.subarray(0, n));
      reused.fill(0x20);
    }
    assert.deepEqual(parser.finish().rows(), parseServersState(text).rows());
  });

  test('an empty installation has only the header', () => {
    assert.deepEqual(
      parseServersState(
        '1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight srv_time_since_last_change srv_check_status srv_check_result srv_check_health srv_check_state srv_agent_state\n',
      ).rows(),
      [],
    );
  });

  test('another format version, a missing field or a word for a number is an error', () => {
    assert.throws(() => parseServersState('2\n# be_id\n'), /format version 1/);
    assert.throws(() => parseServersState('1\n# be_id be_name\n'), /srv_name/);
    const header = answers('haproxy-2.6.12-lab.txt').serversState.split('\n').slice(0, 2).join('\n');
    assert.throws(() => parseServersState(`${header}\n3 be 1 s1 10.0.0.1 2 x 1 1 5 15 3 4 6 0 0 0 - 80 - 0 0 - - 0\n`), /srv_admin_state is "x"/);
    assert.throws(() => parseServersState(`${header}\n3 be 1 s1 10.0.0.1 9 0 1 1 5 15 3 4 6 0 0 0 - 80 - 0 0 - - 0\n`), /unknown srv_op_state 9/);
  });
});

describe('show info', () => {
  test('2.6.12', () => {
    const info = parseInfo(answers('haproxy-2.6.12-lab.txt').info);
    assert.equal(info.version, '2.6.12-1+deb12u4');
    assert.ok(info.pid !== null && info.pid > 0);
    assert.ok(info.startTimeSeconds !== null && info.startTimeSeconds > 1_700_000_000);
    assert.equal(info.fields.get('Build info'), '2.6.12-1+deb12u4');
    assert.equal(info.fields.get('Tainted'), '0');
  });

  test('text that is not show info is an error', () => {
    assert.throws(() => parseInfo('Unknown command, but maybe one of the following\n'), ParseError);
  });
});

/** A `show stat` line as wide as `header`, with these cells (the rest empty). */
function lineOf(header: string, cells: Record<string, string | number>): string {
  return header
    .slice(2)
    .split(',')
    .map((name) => String(cells[name] ?? ''))
    .join(',');
}
