// The dashboards: what is committed is what the code writes, and each follows the conventions of
// the best-kept exporter dashboards. test/integration/dashboards.test.ts runs every query.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { DASHBOARDS, dashboardJson } from '../grafana/dashboards.js';
import { committedDashboards, expressions, metricNames, variableQuery } from './support/dashboards.js';

const committed = committedDashboards();

describe('dashboards', () => {
  test('the committed JSON is what `npm run dashboards` writes', () => {
    for (const { file, build } of DASHBOARDS) {
      assert.equal(committed.find((d) => d.file === file)?.text, dashboardJson(build()), `${file}: run npm run dashboards`);
    }
  });

  test('fixed, unique uids', () => {
    const uids = committed.map((d) => d.uid);
    assert.ok(
      uids.every((u) => /^[a-z0-9-]{1,40}$/.test(u)),
      uids.join(),
    );
    assert.equal(new Set(uids).size, uids.length);
  });

  for (const d of committed) {
    test(`${d.file}: a datasource variable that every panel, query, variable and annotation uses`, () => {
      assert.ok(d.templating.list.some((v) => v.type === 'datasource' && v.name === 'datasource'));
      for (const p of d.panels) {
        assert.equal(p.datasource?.uid, '${datasource}', p.title);
        for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', `${p.title} ${t.refId}`);
      }
      for (const v of d.templating.list.filter((x) => x.type === 'query')) assert.equal(v.datasource?.uid, '${datasource}', v.name);
      for (const a of d.annotations?.list ?? []) assert.equal(a.datasource?.uid, '${datasource}', a.name);
    });

    test(`${d.file}: job and instance variables, from the metrics; links to the other dashboards keep them`, () => {
      const names = d.templating.list.map((v) => v.name);
      assert.ok(names.includes('job') && names.includes('instance'), names.join());
      for (const v of d.templating.list.filter((x) => x.type === 'query')) assert.match(variableQuery(v) ?? '', /^label_values\(/, v.name);
      assert.ok((d.links ?? []).length > 0 && (d.links ?? []).every((l) => l.includeVars === true && l.keepTime === true));
    });

    test(`${d.file}: every panel has a title, a description and a unit`, () => {
      for (const p of d.panels) {
        assert.ok(p.title && (p.description ?? '').length > 20, p.title);
        assert.ok(p.fieldConfig?.defaults?.unit, `${p.title}: unit`);
      }
    });

    test(`${d.file}: $__rate_interval in every rate and increase; the chosen job and instance in every query`, () => {
      for (const { where, expr } of expressions(d)) {
        for (const m of expr.matchAll(/\b(rate|increase|irate)\(([^()]|\([^()]*\))*?\[([^\]]+)\]/g)) assert.equal(m[3], '$__rate_interval', where);
        for (const name of metricNames(expr).filter((n) => n !== 'proxy_cause:haproxy_backend_503_cause:nodes')) {
          assert.match(expr.slice(expr.indexOf(name)), new RegExp(`^${name}\\{[^}]*job=~"\\$job"`), `${where}: ${name} selects $job`);
        }
      }
    });

    test(`${d.file}: no lifetime maximum`, () => {
      for (const { where, expr } of expressions(d))
        for (const name of metricNames(expr)) assert.doesNotMatch(name, /_max$|_max_|^haproxy_.*(?:smax|qmax|rate_max)/, `${where}: ${name}`);
    });
  }
});
