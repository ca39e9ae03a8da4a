// Each HAProxy version's real answers (test/fixtures/haproxy-<version>-*, captured by
// scripts/captureFixtures.ts from Debian's packages) give the verdicts 2.6.12's give.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Diagnosis } from '../src/diagnosis.js';
import { parseLogMessage, parseSyslog, reasonFor503 } from '../src/logs/parse.js';
import { parseShowProc } from '../src/parse/showProc.js';
import { Watcher } from '../src/watcher.js';
import { parseStat } from '../src/parse/stat.js';
import { buildSnapshot } from '../src/snapshot.js';
import { diagnosisOf, fixture, observeSnapshot, snapshotOf } from './support/fixtures.js';

const VERSIONS = ['2.2.9', '2.6.12', '3.0.11', '3.2.26'];

/** Every backend's causes and risks, as `name: code, code`. */
function verdicts(d: Diagnosis): string[] {
  return d.backends.map((b) => `${b.name}: ${[...b.causes.map((c) => c.code), ...b.risks.map((r) => r.code)].join(', ')}`).sort();
}

/** The diagnosis from the stats page CSV alone, as with --haproxy.stats-url. */
function statsPageDiagnosis(version: string): Diagnosis {
  const snapshot = buildSnapshot({
    takenAt: Date.parse('2026-12-05T10:00:00Z'),
    source: 'stats_url',
    stat: parseStat(fixture(`haproxy-${version}-stats-page.csv`)),
    info: null,
    serversState: null,
  });
  return diagnosisOf(snapshot, observeSnapshot(new Watcher(), snapshot));
}

/** The 503s a syslog capture holds, as `backend reason`. */
function logged503s(file: string): string[] {
  return fixture(file)
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => parseLogMessage(parseSyslog(l).message))
    .filter((r) => r !== null && 'status' in r && r.status === 503)
    .map((r) => `${(r as { backend: string }).backend} ${reasonFor503(r as never)}`)
    .sort();
}

function labDiagnosis(version: string, procs: string | null = null): Diagnosis {
  const snapshot = snapshotOf(`haproxy-${version}-lab.txt`);
  return diagnosisOf(snapshot, observeSnapshot(new Watcher(), snapshot), procs ? parseShowProc(fixture(procs)) : null);
}

describe('every HAProxy version, from its own captures', () => {
  const reference = verdicts(labDiagnosis('2.6.12'));

  test("2.6.12's captures hold the lab's troubles: the comparisons are not empty", () => {
    for (const d of [labDiagnosis('2.6.12'), statsPageDiagnosis('2.6.12')]) {
      const v = verdicts(d);
      for (const want of ['be_api: servers_down', 'be_empty: no_servers']) assert.ok(v.includes(want), `${want} in ${v.join('; ')}`);
    }
  });

  for (const version of VERSIONS.filter((v) => v !== '2.6.12')) {
    test(`${version}: the lab's verdicts are 2.6.12's`, () => {
      assert.deepEqual(verdicts(labDiagnosis(version)), reference);
    });
  }

  for (const version of VERSIONS) {
    test(`${version}: show proc, fresh and after a failed reload`, () => {
      const fresh = parseShowProc(fixture(`haproxy-${version}-show-proc-fresh.txt`));
      assert.equal(fresh.master.type, 'master');
      assert.equal(fresh.workers.length, 1);
      assert.match(fresh.master.version, new RegExp(`^${version.replaceAll('.', '\\.')}`));
      const fine = labDiagnosis(version, `haproxy-${version}-show-proc-fresh.txt`).process;
      assert.deepEqual([fine.verdict, fine.causes.length, fine.risks.length], ['ok', 0, 0]);
      // 2.2 and 3.2 list the surviving worker among the old ones; 2.6 and 3.0 as the current one.
      const failed = labDiagnosis(version, `haproxy-${version}-show-proc-failed-reload.txt`).process;
      assert.deepEqual(
        failed.causes.map((c) => c.code),
        ['failed_reload'],
      );
      assert.deepEqual(failed.risks, [], 'the worker that still serves is no old worker');
    });

    test(`${version}: the stats page CSV gives the verdicts 2.6.12's stats page gives`, () => {
      assert.deepEqual(verdicts(statsPageDiagnosis(version)), verdicts(statsPageDiagnosis('2.6.12')));
    });

    test(`${version}: HAProxy's own 503s in its logs, with their reason, in RFC 3164 and RFC 5424`, () => {
      const reasons = logged503s(`haproxy-${version}-syslog.txt`);
      if (version !== '2.6.12') assert.deepEqual(logged503s(`haproxy-${version}-syslog-rfc5424.txt`), reasons);
      assert.ok(reasons.includes('be_api no_server'), reasons.join(', '));
      assert.ok(
        reasons.some((r) => r.endsWith(' no_backend_match')),
        reasons.join(', '),
      );
      // 2.6.12's lines were captured by hand before the script, from another lab.
      if (version !== '2.6.12') assert.ok(reasons.includes('be_empty no_server') && reasons.includes('fe_nodefault no_backend_match'), reasons.join(', '));
    });
  }
});
