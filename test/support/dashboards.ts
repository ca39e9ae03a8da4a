// Reads the committed dashboards as Grafana would: every panel's targets, every variable's query,
// every annotation's expression, with Grafana's variables filled in.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARDS } from '../../grafana/dashboards.js';

const DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../grafana/dashboards');

export interface Panel {
  readonly type: string;
  readonly title: string;
  readonly description?: string;
  readonly datasource?: { type: string; uid: string };
  readonly fieldConfig?: { defaults?: { unit?: string } };
  readonly targets?: ReadonlyArray<{ refId: string; expr: string; instant?: boolean; range?: boolean; datasource?: { uid: string } }>;
}

export interface CommittedDashboard {
  readonly file: string;
  readonly text: string;
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { list: ReadonlyArray<{ type: string; name: string; query?: string | { query: string }; datasource?: { uid: string } }> };
  readonly annotations?: { list?: ReadonlyArray<{ name: string; expr?: string; datasource?: { uid: string } }> };
  readonly links?: ReadonlyArray<{ includeVars?: boolean; keepTime?: boolean }>;
}

export function committedDashboards(): CommittedDashboard[] {
  return DASHBOARDS.map(({ file }) => {
    const text = readFileSync(path.join(DIR, file), 'utf8');
    return { file, text, ...(JSON.parse(text) as Omit<CommittedDashboard, 'file' | 'text'>) };
  });
}

/** Every PromQL expression of a dashboard: panel targets and annotations. */
export function expressions(d: CommittedDashboard): Array<{ where: string; expr: string; instant: boolean }> {
  return [
    ...d.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ where: `${d.file}: ${p.title} ${t.refId}`, expr: t.expr, instant: t.instant === true }))),
    ...(d.annotations?.list ?? []).filter((a) => a.expr).map((a) => ({ where: `${d.file}: annotation ${a.name}`, expr: a.expr as string, instant: false })),
  ];
}

export function variableQuery(v: CommittedDashboard['templating']['list'][number]): string | null {
  if (v.type !== 'query') return null;
  return typeof v.query === 'string' ? v.query : (v.query?.query ?? null);
}

/** Grafana's variables as it fills them in a query (regex variables quoted for =~). */
export function fill(expr: string, values: Readonly<Record<string, string>>): string {
  return expr.replace(/\$(__rate_interval|__interval|__range|[a-z]+)\b/g, (whole, name: string) => values[name] ?? whole);
}

/** The metric names a query reads: every name followed by a selector. */
export function metricNames(expr: string): string[] {
  const noStrings = expr.replace(/"(?:[^"\\]|\\.)*"/g, '""');
  return [...noStrings.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)\s*\{/g)].map((m) => m[1] as string);
}
