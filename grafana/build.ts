// `npm run dashboards`: writes grafana/dashboards/*.json and their Kubernetes ConfigMap from grafana/dashboards.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, dashboardJson, dashboardsConfigMap } from './dashboards.js';

// dist/grafana -> the clone
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
mkdirSync(path.join(ROOT, 'grafana/dashboards'), { recursive: true });
for (const { file, build } of DASHBOARDS) writeFileSync(path.join(ROOT, 'grafana/dashboards', file), dashboardJson(build()));
writeFileSync(path.join(ROOT, 'deploy/kubernetes/grafana-dashboards.yaml'), dashboardsConfigMap());
process.stdout.write(`wrote ${DASHBOARDS.map((d) => `grafana/dashboards/${d.file}`).join(', ')} and deploy/kubernetes/grafana-dashboards.yaml\n`);
