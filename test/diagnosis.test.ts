import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { SERVER_METRIC_GROUPS } from '../src/config.js';
import { tallyText } from '../src/diagnosisText.js';
import { diagnose, type BackendDiagnosis, type Diagnosis, type DiagnosisInput } from '../src/diagnosis.js';
import { explainText } from '../src/explainText.js';
import { ExpositionWriter } from '../src/metrics/exposition.js';
import { HaproxyMetrics } from '../src/metrics/haproxy.js';
import { parseHaproxyConfig } from '../src/parse/haproxyConfig.js';
import { parseShowProc } from '../src/parse/showProc.js';
import { explainPage } from '../src/web/explainPage.js';
import type { Snapshot } from '../src/snapshot.js';
import { fixture } from './support/fixtures.js';
import { sample } from './support/metrics.js';
import { NOW, specSnapshot, type Spec } from './support/specSnapshot.js';

const SOCAT = 'socat stdio /run/haproxy/admin.sock';
const ALL = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: null, noMaint: false };

function run(snapshot: Snapshot | null, extra: Partial<DiagnosisInput> = {}): Diagnosis {
  return diagnose({
    now: NOW,
    snapshot,
    error: snapshot ? null : 'no socket',
    events: () => [],
    procs: null,
    procsError: null,
    config: null,
    configError: null,
    socat: SOCAT,
    adminSocat: SOCAT,
    masterSocat: null,
    configPath: null,
    logs: null,
    ...extra,
  });
}

function backendOf(spec: Spec, extra: Partial<DiagnosisInput> = {}): BackendDiagnosis {
  const d = run(specSnapshot(spec), extra);
  const b = d.backends.find((x) => x.name === Object.keys(spec)[0]);
  assert.ok(b);
  return b;
}

const codes = (b: BackendDiagnosis): { causes: string[]; risks: string[] } => ({ causes: b.causes.map((c) => c.code), risks: b.risks.map((r) => r.code) });

describe('backend causes and risks, from snapshots', () => {
  const table: Array<[string, Spec, string, string[], string[]]> = [
    ['healthy', { be: { servers: { a: { status: 'UP' }, b: { status: 'UP' } } } }, 'ok', [], []],
    ['no server at all', { be: { servers: {} } }, 'failing', ['no_servers'], []],
    ['every server DOWN', { be: { servers: { a: { status: 'DOWN' }, b: { status: 'DOWN' } } } }, 'failing', ['servers_down'], []],
    ['every server in MAINT', { be: { servers: { a: { status: 'MAINT' }, b: { status: 'MAINT' } } } }, 'failing', ['servers_maint'], []],
    ['only DRAIN left', { be: { servers: { a: { status: 'DRAIN' } } } }, 'failing', ['servers_maint'], []],
    [
      'one DOWN, one MAINT: both causes',
      { be: { servers: { a: { status: 'DOWN' }, b: { status: 'MAINT' } } } },
      'failing',
      ['servers_down', 'servers_maint'],
      [],
    ],
    ['NOLB servers take no new request', { be: { servers: { a: { status: 'NOLB' } } } }, 'failing', ['servers_down'], []],
    [
      'primaries DOWN, backup UP: a risk, not a cause',
      { be: { servers: { a: { status: 'DOWN' }, spare: { status: 'UP', backup: true } } } },
      'at_risk',
      [],
      ['last_server_up'],
    ],
    ['one UP, one MAINT', { be: { servers: { a: { status: 'UP' }, b: { status: 'MAINT' } } } }, 'at_risk', [], ['last_server_up', 'servers_held']],
    ['a single server', { be: { servers: { a: { status: 'UP' } } } }, 'at_risk', [], ['last_server_up']],
    ['no check counts as up', { be: { servers: { a: { status: 'no check' }, b: { status: 'no check' } } } }, 'ok', [], []],
    [
      'checks failing on one of two',
      { be: { servers: { a: { status: 'UP 2/3', health: 3, check: 'L4CON' }, b: { status: 'UP' } } } },
      'at_risk',
      [],
      ['checks_failing'],
    ],
    [
      'the last server failing its checks',
      { be: { servers: { a: { status: 'UP 1/3', health: 2, check: 'L7STS', detail: 'HTTP status check returned code <500>' }, b: { status: 'DOWN' } } } },
      'at_risk',
      [],
      ['last_server_up', 'checks_failing'],
    ],
    [
      'at maxconn with a queue',
      { be: { queue: 5, servers: { a: { status: 'UP', scur: 10, maxconn: 10 }, b: { status: 'UP', scur: 10, maxconn: 10 } } } },
      'failing',
      ['pool_exhausted'],
      ['near_maxconn', 'queueing'],
    ],
    [
      '90% of maxconn',
      { be: { servers: { a: { status: 'UP', scur: 9, maxconn: 10 }, b: { status: 'UP', scur: 9, maxconn: 10 } } } },
      'at_risk',
      [],
      ['near_maxconn'],
    ],
    [
      'a queue while one server has no limit',
      { be: { queue: 2, servers: { a: { status: 'UP', scur: 3 }, b: { status: 'UP', scur: 0, maxconn: 4 } } } },
      'at_risk',
      [],
      ['queueing'],
    ],
  ];
  for (const [name, spec, verdict, causes, risks] of table) {
    test(name, () => {
      const b = backendOf(spec);
      assert.deepEqual(codes(b), { causes, risks });
      assert.equal(b.verdict, verdict);
    });
  }

  test('servers_down: the check result per server, the fix with the socket nosrv was given', () => {
    const b = backendOf({ be_api: { servers: { web1: { status: 'DOWN' }, web2: { status: 'DOWN' } } } });
    const cause = b.causes[0];
    assert.ok(cause);
    assert.match(cause.summary, /No server of be_api can take a request: 2 servers are DOWN/);
    assert.match(cause.evidence[0] ?? '', /^web1: DOWN for 1m; last check L4CON Connection refused; address 10\.0\.0\.1:8080$/);
    assert.deepEqual(cause.fix, ['nc -zv -w3 10.0.0.1 8080', 'nc -zv -w3 10.0.0.2 8080', `echo 'set server be_api/web1 health up' | ${SOCAT}`]);
  });

  test('servers_down: servers at one address get one probe and one sentence, not one each', () => {
    const down = { status: 'DOWN', address: '10.0.0.9:8080' };
    const b = backendOf({ be_api: { servers: { web1: down, web2: down, web3: down } } });
    assert.deepEqual(b.causes[0]?.fix, ['nc -zv -w3 10.0.0.9 8080', `echo 'set server be_api/web1 health up' | ${SOCAT}`]);
    assert.deepEqual(b.causes[0].advice.slice(0, 2), [
      'web1, web2 and web3: nothing accepts connections at 10.0.0.9:8080; start or fix the service there (try it from the HAProxy host).',
      'Once they answer, HAProxy marks web1, web2 and web3 UP after 2 good checks.',
    ]);
  });

  test('servers_down: what is true of many servers is said once, naming a few (the evidence lists each)', () => {
    const l7 = { status: 'DOWN', check: 'L7STS', detail: 'HTTP status check returned code <500>' };
    const servers = {
      web1: { status: 'DOWN' },
      web2: { status: 'DOWN' },
      app1: l7,
      app2: l7,
      app3: l7,
      app4: l7,
      app5: l7,
      t1: { status: 'DOWN', tracks: 'be_core/c1' },
      t2: { status: 'DOWN', tracks: 'be_core/c1' },
      t3: { status: 'DOWN', tracks: 'be_core/c2' },
    };
    const cause = backendOf({ be_api: { servers } }).causes[0];
    assert.ok(cause);
    assert.equal(cause.evidence.length, 10);
    assert.deepEqual(cause.advice, [
      'web1 and web2: nothing accepts connections at their addresses; start or fix the services there (try it from the HAProxy host).',
      'Once they answer, HAProxy marks web1, web2, app1 and 4 more UP after 2 good checks.',
      "app1, app2, app3 and 2 more: the service answers but fails the check (L7STS HTTP status check returned code <500>); try the check's request from the HAProxy host.",
      't1 and t2 follow be_core/c1: fix that server and they follow.',
      't3 follows be_core/c2: fix that server and t3 follows.',
      'If the service is healthy and only the check is wrong, "set server ... health up" forces web1 UP until its next check.',
    ]);
  });

  test('servers_maint: set server ... state ready for each held server', () => {
    const b = backendOf({ be: { servers: { a: { status: 'MAINT' }, b: { status: 'DRAIN' } } } });
    assert.deepEqual(b.causes[0]?.fix, [`echo 'set server be/a state ready' | ${SOCAT}`, `echo 'set server be/b state ready' | ${SOCAT}`]);
    assert.match(b.causes[0].evidence[0] ?? '', /held: set by an operator/);
  });

  test('without --haproxy.admin-socket, commands that change state name no socket that refuses them, and say which to use', () => {
    const user = 'socat stdio /run/haproxy/user.sock';
    const held = backendOf({ be: { servers: { a: { status: 'MAINT' } } } }, { socat: user, adminSocat: null });
    assert.deepEqual(held.causes[0]?.fix, [`echo 'set server be/a state ready' | socat stdio <admin socket>`]);
    assert.match(held.causes[0].advice.join('\n'), /admin socket.*"level user".*--haproxy\.admin-socket=PATH/);
    const down = backendOf({ be: { servers: { a: { status: 'DOWN', check: 'L4CON' } } } }, { socat: user, adminSocat: null });
    assert.ok(down.causes[0]?.fix.includes(`echo 'set server be/a health up' | socat stdio <admin socket>`));
    assert.equal(
      down.causes[0]?.fix.some((f) => f.includes('set server') && f.includes(user)),
      false,
    );
    assert.ok(down.causes[0].advice.some((a) => a.includes('--haproxy.admin-socket=PATH')));
  });

  test('checks_failing is raised after the first failed check, with the time left when the interval is known', () => {
    const config = parseHaproxyConfig('backend be\n    server a 10.0.0.1:8080 check inter 2s fall 3\n    server b 10.0.0.2:8080 check\n');
    const b = backendOf({ be: { servers: { a: { status: 'UP 3/3', health: 4, check: 'L4CON' }, b: { status: 'UP' } } } }, { config });
    const risk = b.risks.find((r) => r.code === 'checks_failing');
    assert.ok(risk, 'one failed check of three is enough');
    assert.match(risk.summary, /a in be is failing health checks \(L4CON Connection refused\): 3 more failed checks \(about 6s\) and HAProxy marks it DOWN\./);
  });

  test('the last usable server failing its checks is said in one sentence', () => {
    const b = backendOf({ be: { servers: { a: { status: 'UP 1/3', health: 2, check: 'L4CON' }, b: { status: 'DOWN' } } } });
    assert.match(
      b.risks.find((r) => r.code === 'last_server_up')?.summary ?? '',
      /last usable server a, and a is failing health checks: 1 more failed check and every request gets 503/,
    );
    assert.match(b.risks.find((r) => r.code === 'checks_failing')?.summary ?? '', /it is the last usable server/);
  });

  test('backends are listed failing first, then at risk, then fine', () => {
    const d = run(
      specSnapshot({ fine: { servers: { a: { status: 'UP' }, b: { status: 'UP' } } }, risky: { servers: { a: { status: 'UP' } } }, broken: { servers: {} } }),
    );
    assert.deepEqual(
      d.backends.map((b) => [b.name, b.verdict]),
      [
        ['broken', 'failing'],
        ['risky', 'at_risk'],
        ['fine', 'ok'],
      ],
    );
  });

  test('HAProxy unreadable: no verdict on what cannot be seen', () => {
    const d = run(null);
    assert.equal(d.haproxy.up, false);
    assert.equal(d.haproxy.error, 'no socket');
    assert.deepEqual(d.backends, []);
    assert.match(explainText(d, '/x.sock'), /CANNOT READ HAPROXY: no socket/);
  });
});

describe('many failing at once', () => {
  const fine = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`fine${i}`, { servers: { a: { status: 'UP' }, b: { status: 'UP' } } }]));
  const broken = { b1: { servers: {} }, b2: { servers: {} }, b3: { servers: {} } };
  const down = { d1: { servers: { a: { status: 'DOWN' } } }, d2: { servers: { a: { status: 'DOWN' } } } };
  const d = run(specSnapshot({ ...fine, ...broken, ...down, risky: { servers: { a: { status: 'UP' } } } }));

  test('what fails is counted by kind and by cause before each is told, in text and HTML', () => {
    assert.equal(tallyText(d, 'failing'), '5 backends: no_servers 3, servers_down 2');
    assert.equal(tallyText(d, 'at_risk'), '1 backend: last_server_up 1');
    const text = explainText(d, '/x.sock');
    assert.ok(text.indexOf('\nFAILING  5 backends: no_servers 3, servers_down 2\n') < text.indexOf('\nFAILING  backend b1\n'));
    assert.match(text, /\nAT RISK {2}1 backend: last_server_up 1\n/);
    const html = explainPage(d, '/x.sock', null);
    assert.match(html, /<h2 id="failing">Failing now \(5\)<\/h2>\n<p class="counts" id="failing-tally">5 backends: no_servers 3, servers_down 2<\/p>/);
    assert.doesNotMatch(html, /at_risk-tally/, 'one at risk needs no count');
  });

  test('one failing backend is told without a count', () => {
    const one = run(specSnapshot({ b1: { servers: {} }, fine: { servers: { a: { status: 'UP' }, b: { status: 'UP' } } } }));
    assert.doesNotMatch(explainText(one, '/x.sock'), /FAILING {2}1 backend:/);
  });

  test('past twenty, the healthy are counted, not all named', () => {
    assert.match(explainText(d, '/x.sock'), /\nOK {2}25 backend\(s\): fine0, fine1, .*, fine19 and 5 more; 0 frontend\(s\)\n/);
  });
});

describe('frontends, from the configuration file', () => {
  const frontendRisks = (text: string): Record<string, string[]> => {
    const d = run(specSnapshot({ be: { servers: { a: { status: 'UP' }, b: { status: 'UP' } } } }), {
      config: parseHaproxyConfig(text),
      configPath: '/etc/haproxy/haproxy.cfg',
    });
    return Object.fromEntries(d.frontends.map((f) => [f.name, f.risks.map((r) => r.code)]));
  };

  test('use_backend without default_backend is a risk; with one, or a listen with servers, it is not', () => {
    assert.deepEqual(
      frontendRisks(`
frontend fe_bad
    use_backend be if { path_beg /api }
frontend fe_good
    use_backend be if { path_beg /api }
    default_backend be
listen li_self
    use_backend be if { path_beg /api }
    server s1 10.0.0.1:80
frontend fe_plain
    default_backend be
`),
      { fe_bad: ['no_default_backend'], fe_good: [], li_self: [], fe_plain: [] },
    );
  });

  test('default_backend inherited from defaults counts', () => {
    assert.deepEqual(frontendRisks('defaults\n    default_backend be\nfrontend fe\n    use_backend be if TRUE\n'), { fe: [] });
  });

  test('the fix names the frontend and the file', () => {
    const d = run(specSnapshot({ be: { servers: { a: { status: 'UP' } } } }), {
      config: parseHaproxyConfig('frontend fe\n    use_backend be if TRUE\n'),
      configPath: '/etc/haproxy/haproxy.cfg',
    });
    assert.deepEqual(d.frontends[0]?.risks[0]?.fix, ['frontend fe\n    default_backend be', 'haproxy -c -f /etc/haproxy/haproxy.cfg']);
  });

  test('configuration findings: no check, a single server, no timeout queue', () => {
    const config = parseHaproxyConfig(
      'backend be\n    server a 10.0.0.1:80 check maxconn 10\n    server b 10.0.0.2:80\nbackend solo\n    server s 10.0.0.3:80 check\n',
    );
    const d = run(specSnapshot({ be: { servers: { a: { status: 'UP' }, b: { status: 'no check' } } }, solo: { servers: { s: { status: 'UP' } } } }), {
      config,
    });
    const findings = Object.fromEntries(d.backends.map((b) => [b.name, b.findings.map((f) => f.code)]));
    assert.deepEqual(findings, { be: ['servers_without_check', 'no_timeout_queue'], solo: ['single_server'] });
  });
});

describe('the process, from the master CLI', () => {
  const processOf = (name: string): Diagnosis['process'] =>
    run(specSnapshot({}), { procs: parseShowProc(fixture(name)), masterSocat: 'socat stdio /run/haproxy-master.sock', configPath: '/etc/haproxy/haproxy.cfg' })
      .process;

  test('a failed reload is a cause, with haproxy -c as the fix', () => {
    const p = processOf('haproxy-2.6.12-show-proc-failed-reload.txt');
    assert.equal(p.verdict, 'failing');
    assert.deepEqual(
      p.causes.map((c) => c.code),
      ['failed_reload'],
    );
    assert.equal(p.causes[0]?.fix[0], 'haproxy -c -f /etc/haproxy/haproxy.cfg');
  });

  test('old workers are a risk, with their age', () => {
    const p = processOf('haproxy-2.6.12-show-proc-old-workers.txt');
    assert.deepEqual([p.causes.map((c) => c.code), p.risks.map((r) => r.code)], [[], ['old_workers']]);
    assert.match(p.risks[0]?.evidence[0] ?? '', /old worker 27285: started 4s ago/);
  });

  test('a fresh start is fine, and without a master socket nothing is claimed', () => {
    assert.equal(processOf('haproxy-2.6.12-show-proc-fresh.txt').verdict, 'ok');
    const unknown = run(specSnapshot({})).process;
    assert.deepEqual([unknown.known, unknown.verdict], [false, 'ok']);
  });
});

describe('cause and risk metrics', () => {
  test('every code for every backend, 0 or 1; process families only when known', () => {
    const out = new ExpositionWriter();
    new HaproxyMetrics(ALL).writeDiagnosis(
      out,
      run(specSnapshot({ be_api: { servers: { a: { status: 'DOWN' } } }, be_ok: { servers: { a: { status: 'UP' }, b: { status: 'UP' } } } })),
    );
    const text = out.text();
    assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_api",cause="servers_down"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_503_cause{proxy="be_ok",cause="servers_down"}'), 0);
    assert.equal(sample(text, 'haproxy_backend_503_risk{proxy="be_ok",risk="last_server_up"}'), 0);
    assert.doesNotMatch(text, /haproxy_process_503/);
    const withMaster = new ExpositionWriter();
    new HaproxyMetrics(ALL).writeDiagnosis(withMaster, run(specSnapshot({}), { procs: parseShowProc(fixture('haproxy-2.6.12-show-proc-failed-reload.txt')) }));
    assert.equal(sample(withMaster.text(), 'haproxy_process_503_cause{cause="failed_reload"}'), 1);
    assert.equal(sample(withMaster.text(), 'haproxy_process_503_risk{risk="old_workers"}'), 0);
  });
});

describe('the texts of a finding', () => {
  test('are made when first read, then kept: /metrics reads only the codes', () => {
    const snapshot = specSnapshot({ be: { servers: { a: { status: 'DOWN' }, b: { status: 'DOWN' } } } });
    let addressReads = 0;
    const counted = snapshot.backends.map((b) => ({
      ...b,
      servers: b.servers.map(
        (s) =>
          new Proxy(s, {
            get: (target, key): unknown => {
              if (key === 'address') addressReads++;
              return Reflect.get(target, key) as unknown;
            },
          }),
      ),
    }));
    const cause = run({ ...snapshot, backends: counted }).backends[0]?.causes[0];
    assert.ok(cause);
    assert.equal(cause.code, 'servers_down');
    // Read through a function: each call sees the count as it is then.
    const readsSoFar = (): number => addressReads;
    assert.equal(readsSoFar(), 0, 'nothing read for the evidence or the fix yet');
    const evidence = cause.evidence;
    const reads = readsSoFar();
    assert.ok(reads > 0);
    assert.equal(cause.evidence, evidence);
    assert.equal(readsSoFar(), reads, 'made once');
    assert.deepEqual(JSON.parse(JSON.stringify(cause)), { code: cause.code, summary: cause.summary, evidence, fix: cause.fix, advice: cause.advice });
  });
});
