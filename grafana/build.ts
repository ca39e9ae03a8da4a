// `npm run dashboards`: writes grafana/dashboards/*.json from grafana/dashboards.ts.

import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS, dashboardJson } from './dashboards.js';

// dist/grafana -> grafana/dashboards
const OUT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../grafana/dashboards');
mkdirSync(OUT, { recursive: true });
for (const { file, build } of DASHBOARDS) writeFileSync(path.join(OUT, file), dashboardJson(build()));
process.stdout.write(`wrote ${DASHBOARDS.map((d) => `grafana/dashboards/${d.file}`).join(', ')}\n`);
