import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { contiguous, escapeLabelValue, ExpositionWriter, formatValue, SeriesCache, type SeriesColumn } from '../src/metrics/exposition.js';
import { SERVER_METRIC_GROUPS } from '../src/config.js';
import { HaproxyMetrics } from '../src/metrics/haproxy.js';
import { Watcher } from '../src/watcher.js';
import { observeSnapshot, snapshotOf } from './support/fixtures.js';
import { missingTool } from './support/lab.js';
import { sample } from './support/metrics.js';

const ALL = { serverMetrics: new Set(SERVER_METRIC_GROUPS), backends: null, noMaint: false };

function render(fixtureName: string): string {
  const snapshot = snapshotOf(fixtureName);
  const history = observeSnapshot(new Watcher(), snapshot);
  const out = new ExpositionWriter();
  new HaproxyMetrics(ALL).write(out, snapshot, history);
  return out.text();
}

describe('haproxy_* metrics from the 2.6.12 lab', () => {
  const text = render('haproxy-2.6.12-lab.txt');

  test("the contract's backend families", () => {
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_api"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_empty"}'), 1);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers{proxy="be_backup"}'), 0, 'a backup serves');
    assert.equal(sample(text, 'haproxy_backend_up_servers{proxy="be_mixed"}'), 3);
    assert.equal(sample(text, 'haproxy_backend_servers{proxy="be_mixed"}'), 6);
    assert.equal(sample(text, 'haproxy_backend_current_queue{proxy="be_ok"}'), 0);
    assert.equal(sample(text, 'haproxy_backend_no_up_servers_seconds_total{proxy="be_api"}'), 0);
  });

  test("the contract's server families", () => {
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_api",server="api1",state="down"}'), 1);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_mixed",server="m_drain",state="drain"}'), 1);
    assert.equal(sample(text, 'haproxy_server_state{proxy="be_mixed",server="m_drain",state="up"}'), undefined, 'only the current state');
    assert.equal(sample(text, 'haproxy_server_check_status{proxy="be_api",server="api1",status="L4CON"}'), 1);
    assert.equal(sample(text, 'haproxy_server_check_status{proxy="be_ok",server="web2",status="L7OK"}'), undefined, 'checks paused in MAINT');
    assert.equal(sample(text, 'haproxy_server_checks_until_down{proxy="be_ok",server="web1"}'), 3);
    assert.equal(sample(text, 'haproxy_server_checks_until_down{proxy="be_api",server="api1"}'), 0);
    assert.equal(sample(text, 'haproxy_server_checks_until_down{proxy="be_mixed",server="m_nocheck"}'), undefined);
    assert.equal(sample(text, 'haproxy_server_sessions_utilization_ratio{proxy="be_ok",server="web2"}'), 0);
    assert.equal(sample(text, 'haproxy_server_state_changes_total{proxy="be_api",server="api1",to="down"}'), 0, 'exported as 0 before anything goes wrong');
  });

  test('promex names for the raw facts, in seconds, without rates and maxima', () => {
    assert.equal(
      sample(text, 'haproxy_server_check_failures_total{proxy="be_api",server="api1"}'),
      1,
      'HAProxy starts servers UP: the first failed check counts',
    );
    assert.match(text, /^haproxy_backend_http_responses_total\{proxy="be_ok",code="5xx"\} \d+$/m);
    assert.match(text, /^haproxy_frontend_http_responses_total\{proxy="fe_main",code="5xx"\} \d+$/m);
    assert.match(text, /^haproxy_process_build_info\{version="2.6.12-1\+deb12u4"\} 1$/m);
    assert.doesNotMatch(text, /_max\b|_rate\b|max_sessions|server="BACKEND"|server="FRONTEND"/);
  });

  test('UP 2/3 is visible before HAProxy marks the server DOWN', () => {
    const goingDown = render('haproxy-2.6.12-going-down.txt');
    assert.equal(sample(goingDown, 'haproxy_server_checks_until_down{proxy="be_ok",server="web1"}'), 2);
    assert.equal(sample(goingDown, 'haproxy_server_state{proxy="be_ok",server="web1",state="up"}'), 1);
  });

  test('promtool check metrics accepts the output', (t) => {
    const missing = missingTool('promtool', 'prometheus');
    if (missing) {
      t.skip(missing);
      return;
    }
    for (const name of ['haproxy-2.6.12-lab.txt', 'haproxy-2.6.12-going-down.txt', 'haproxy-2.6.12-nolb.txt']) {
      const result = spawnSync('promtool', ['check', 'metrics'], { input: render(name), encoding: 'utf8' });
      assert.equal(result.status, 0, `${name}: ${result.stdout}${result.stderr}`);
    }
  });
});

describe('exposition text', () => {
  test('label values and help are escaped, special values spelled', () => {
    assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
    assert.equal(escapeLabelValue('plain'), 'plain');
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue(0.25), '0.25');
    const out = new ExpositionWriter();
    out.family('x', 'gauge', 'a\\b\nc');
    out.sample('x', '', 1);
    assert.equal(out.text(), '# HELP x a\\\\b\\nc\n# TYPE x gauge\nx 1\n');
  });

  // Label values past ASCII and with spaces, a label-less series, several columns.
  const labelSets = ['proxy="bé ok",server="s 1"', 'proxy="b2",server="s2"', '', 'proxy="b3",server="s\\"3"'];
  const columns = (values: number[][]): SeriesColumn[] => values.map((v, c) => contiguous(Float64Array.from(v), c === 0 ? '' : `,code="${c}xx"`));
  /** The family's answer, and the answer itself to tell when it is sent. */
  const write = (cache: SeriesCache, values: number[][]): { text: string; out: ExpositionWriter } => {
    const out = new ExpositionWriter();
    cache.family(out, 'x_total', 'counter', 'X.', labelSets, columns(values));
    return { text: out.text(), out };
  };

  for (const sent of [true, false]) {
    test(`a family whose values alone changed is the text written anew (answers ${sent ? 'sent, so written over in place' : 'never sent, so written over a copy'})`, () => {
      const cache = new SeriesCache();
      const rounds = [
        [
          [1, 2, NaN, 4],
          [NaN, 0, 7, NaN],
        ],
        [
          [10, 2_000_000, NaN, 4.5],
          [NaN, -3, 9_007_199_254_740_991, NaN],
        ],
        [
          [-0, 1e21, NaN, Infinity],
          [NaN, 0.1, 1e-7, NaN],
        ],
        [
          [3, 3, NaN, 3],
          [NaN, 3, 3, NaN],
        ],
        [
          [3, 3, 5, 3],
          [NaN, 3, 3, NaN],
        ], // a sample more: written anew
        [
          [4, 4, 4, 4],
          [NaN, 1, 2, NaN],
        ],
        // Values as long as before (written over the copied lines) beside longer and shorter ones.
        [
          [9, 40, 4, 5],
          [NaN, 10, 2, NaN],
        ],
        [
          [10, 41, 4, 3],
          [NaN, 9, 12, NaN],
        ],
        [
          [11, 42, 5, 2],
          [NaN, 8, 13, NaN],
        ],
        // Every value as long as before: the text keeps its layout.
        [
          [12, 43, 6, 1],
          [NaN, 7, 14, NaN],
        ],
        [
          [-12, 0.5, 7, 1],
          [NaN, -7, 99, NaN],
        ],
      ];
      for (const values of rounds) {
        const { text, out } = write(cache, values);
        assert.equal(text, write(new SeriesCache(), values).text, JSON.stringify(values));
        if (sent) out.sent();
      }
    });
  }

  test('a family written over in its own buffer through many rounds of values growing and shrinking is the text written anew', () => {
    // A fixed pseudo-random sequence: values from 0 to 6 digits, some objects with no sample.
    let seed = 12345;
    const random = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    const count = 300;
    const sets = Array.from({ length: count }, (_, i) => `proxy="p${i % 7}",server="s${i}"`);
    const absent = (c: number, i: number): boolean => (c + i) % 11 === 0;
    const cache = new SeriesCache();
    for (let round = 0; round < 60; round++) {
      // Kept object by object, as the gatherers keep them: column c of object i at 3i + c.
      const values = Float64Array.from({ length: 3 * count }, (_, at) =>
        absent(at % 3, Math.floor(at / 3)) ? NaN : Math.floor(random() * 10 ** Math.floor(random() * 7)),
      );
      const columns: SeriesColumn[] = [0, 1, 2].map((c) => ({ extra: c === 0 ? '' : `,code="${c}xx"`, values, first: c, step: 3 }));
      const out = new ExpositionWriter();
      cache.family(out, 'y_total', 'counter', 'Y.', sets, columns);
      const fresh = new ExpositionWriter();
      new SeriesCache().family(fresh, 'y_total', 'counter', 'Y.', sets, columns);
      assert.equal(out.text(), fresh.text(), `round ${round}`);
      out.sent();
    }
  });

  test('an answer whose client left before it was written holds nothing: the next rewrite is in place', () => {
    const cache = new SeriesCache();
    write(cache, [
      [1, 2, NaN, 3],
      [NaN, 4, 5, NaN],
    ]).out.sent();
    const gone = new ExpositionWriter();
    gone.sent();
    cache.family(
      gone,
      'x_total',
      'counter',
      'X.',
      labelSets,
      columns([
        [1, 2, NaN, 3],
        [NaN, 4, 5, NaN],
      ]),
    );
    const [text] = gone.encoded().filter((part) => part.includes('x_total{'));
    const before = text?.toString();
    write(cache, [
      [6, 7, NaN, 8],
      [NaN, 9, 1, NaN],
    ]);
    assert.notEqual(text?.toString(), before, 'written over in place: nothing held it');
  });

  test('a cached family is not written over while an answer that holds it is being sent', () => {
    const cache = new SeriesCache();
    write(cache, [
      [1, 2, NaN, 3],
      [NaN, 4, 5, NaN],
    ]).out.sent();
    const sending = write(cache, [
      [1, 2, NaN, 3],
      [NaN, 4, 5, NaN],
    ]).out;
    const [held] = sending.encoded().filter((part) => part.includes('x_total{'));
    const before = held?.toString();
    // Same lengths: with no answer holding it, this would be written in place.
    write(cache, [
      [6, 7, NaN, 8],
      [NaN, 9, 1, NaN],
    ]);
    assert.equal(held?.toString(), before);
    sending.sent();
  });
});
