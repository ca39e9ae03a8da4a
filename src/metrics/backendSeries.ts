// The per-backend series of a read, gathered as each BACKEND row arrives, as the servers' are:
// at 1,000 backends, reading their cells and comparing them with the cache's copies after the read
// was a third of what a scrape wrote then.

import type { CollectOptions } from '../config.js';
import type { Backend } from '../snapshot.js';
import type { ExpositionWriter, MetricType, SeriesCache } from './exposition.js';
import { BACKEND_FAMILIES, HTTP_RESPONSES_HELP, sameStatLayout, statLayoutOf, type StatLayout } from './families.js';
import { historyOf, trackedColumn, TrackedValues, type TrackedSeries } from './tracked.js';

/** Families worked out from a backend's servers, written after its `show stat` families. */
export const BACKEND_COUNTS: ReadonlyArray<{ readonly name: string; readonly type: MetricType; readonly help: string; readonly value: (b: Backend) => number | null }> = [
  { name: 'haproxy_backend_servers', type: 'gauge', help: 'Servers configured, backups included.', value: (b) => b.counts.total },
  {
    name: 'haproxy_backend_up_servers',
    type: 'gauge',
    help: 'Servers that can take a new request: UP, not MAINT, DRAIN or NOLB, weight above 0; backups counted.',
    value: (b) => b.counts.usable,
  },
  { name: 'haproxy_backend_no_up_servers', type: 'gauge', help: '1 when no server of the backend can take a new request: HAProxy answers 503.', value: (b) => (b.noUsableServer ? 1 : 0) },
  {
    name: 'haproxy_backend_sessions_utilization_ratio',
    type: 'gauge',
    help: 'Sessions / maxconn, summed over usable servers that have a maxconn.',
    value: (b) => (b.capacity ? b.capacity.sessions / b.capacity.limit : null),
  },
];

/** A read's per-backend series: backends with a BACKEND row, in the read's order. */
export interface BackendSeries extends TrackedSeries {
  readonly backends: readonly Backend[];
  readonly layout: StatLayout;
}

export class BackendSeriesGatherer {
  private readonly tracked = new TrackedValues();
  private layout: StatLayout | null = null;
  private columns: ReadonlyMap<string, number> | null = null;
  private backends: Backend[] = [];

  constructor(private readonly collect: CollectOptions) {}

  begin(): void {
    this.tracked.begin();
    this.backends = [];
  }

  /** One backend of the read, once its servers and its BACKEND row are in. */
  add(backend: Backend, columns: ReadonlyMap<string, number>): void {
    const filter = this.collect.backends;
    // A backend without its row has no cells: the render then writes the backends from the snapshot.
    if (backend.row === null || (filter !== null && !filter.test(backend.name))) return;
    const layout = this.layoutFor(columns);
    const next = this.tracked.next;
    backend.row.numbers(layout.indexes, layout.scales, next, 0, 1);
    let k = layout.indexes.length;
    for (const count of BACKEND_COUNTS) next[k++] = count.value(backend) ?? NaN;
    this.tracked.add();
    this.backends.push(backend);
  }

  /** The read's series; `columns` are its `show stat` columns, for a read without backends. */
  finish(columns: ReadonlyMap<string, number>): BackendSeries {
    const layout = this.layoutFor(columns);
    const series = { ...this.tracked.finish(), backends: this.backends, layout };
    // Not kept past the scrapes that render it: its backends hold the whole read.
    this.backends = [];
    return series;
  }

  private layoutFor(columns: ReadonlyMap<string, number>): StatLayout {
    if (this.columns === columns && this.layout !== null) return this.layout;
    this.columns = columns;
    const layout = statLayoutOf(BACKEND_FAMILIES, columns, true);
    // Each answer has its own columns, nearly always where the last one had them.
    if (this.layout !== null && sameStatLayout(this.layout, layout)) return this.layout;
    this.layout = layout;
    this.tracked.relayout(layout.indexes.length + BACKEND_COUNTS.length);
    return layout;
  }
}

/** The families `BackendSeriesGatherer` gathered, in the order of its values; `labelSets` by backend. */
export function writeBackendSeries(out: ExpositionWriter, cache: SeriesCache, series: BackendSeries, labelSets: readonly string[]): void {
  const { layout } = series;
  let k = 0;
  for (const { family } of layout.families) {
    cache.family(out, `haproxy_backend_${family.suffix}`, family.type, family.help, labelSets, [trackedColumn(series, k)], historyOf(series, k, k + 1));
    k++;
  }
  if (layout.codes.length > 0) {
    const columns = layout.codes.map((c, j) => trackedColumn(series, k + j, `,code="${c.code}"`));
    cache.family(out, 'haproxy_backend_http_responses_total', 'counter', HTTP_RESPONSES_HELP, labelSets, columns, historyOf(series, k, k + columns.length));
    k += columns.length;
  }
  for (const count of BACKEND_COUNTS) {
    cache.family(out, count.name, count.type, count.help, labelSets, [trackedColumn(series, k)], historyOf(series, k, k + 1));
    k++;
  }
}
