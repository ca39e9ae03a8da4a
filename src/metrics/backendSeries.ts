// The per-backend series of a read: each BACKEND row's cells and the counts worked out from its
// servers, compared with the last read's as they are gathered, as the servers' are.

import type { CollectOptions } from '../config.js';
import type { StatTable } from '../parse/stat.js';
import type { Backend } from '../snapshot.js';
import type { ExpositionWriter, MetricType, SeriesCache } from './exposition.js';
import { BACKEND_FAMILIES, readCells, sameStatLayout, statLayoutOf, type StatLayout } from './families.js';
import { trackedFamilies, TrackedValues, type TrackedSeries } from './tracked.js';

/** Families worked out from a backend's servers, written after its `show stat` families. */
const BACKEND_COUNTS: ReadonlyArray<{
  readonly name: string;
  readonly type: MetricType;
  readonly help: string;
  readonly value: (b: Backend) => number | null;
}> = [
  { name: 'haproxy_backend_servers', type: 'gauge', help: 'Servers configured, backups included.', value: (b) => b.counts.total },
  {
    name: 'haproxy_backend_up_servers',
    type: 'gauge',
    help: 'Servers that can take a new request: UP, not MAINT, DRAIN or NOLB, weight above 0; backups counted.',
    value: (b) => b.counts.usable,
  },
  {
    name: 'haproxy_backend_no_up_servers',
    type: 'gauge',
    help: '1 when no server of the backend can take a new request: HAProxy answers 503.',
    value: (b) => (b.noUsableServer ? 1 : 0),
  },
  {
    name: 'haproxy_backend_sessions_utilization_ratio',
    type: 'gauge',
    help: 'Sessions / maxconn, summed over usable servers that have a maxconn.',
    value: (b) => (b.capacity ? b.capacity.sessions / b.capacity.limit : null),
  },
];

/** The `show stat` columns of the backend families this HAProxy has, and the counts after them. */
interface Layout extends StatLayout {
  readonly width: number;
}

function layoutOf(columns: ReadonlyMap<string, number>): Layout {
  const cells = statLayoutOf(BACKEND_FAMILIES, columns, true);
  return { ...cells, width: cells.indexes.length + BACKEND_COUNTS.length };
}

/** A read's per-backend series, in the read's order. */
export interface BackendSeries extends TrackedSeries {
  readonly backends: readonly Backend[];
  readonly layout: Layout;
}

export class BackendSeriesGatherer {
  private readonly tracked = new TrackedValues(layoutOf, sameStatLayout);
  private backends: Backend[] = [];

  constructor(private readonly collect: CollectOptions) {}

  begin(): void {
    this.tracked.begin();
    this.backends = [];
  }

  /** One backend of the read, once its servers and its BACKEND row are in. */
  add(backend: Backend, stat: StatTable): void {
    const filter = this.collect.backends;
    if (filter !== null && !filter.test(backend.name)) return;
    const layout = this.tracked.layoutFor(stat.columns);
    const next = this.tracked.next;
    const cells = layout.indexes.length;
    // A backend without its row (never seen from HAProxy, but not assumed) has counts and no cells.
    if (backend.row !== null) readCells(stat, backend.row, layout, next, 0, 1);
    else next.fill(NaN, 0, cells);
    let k = cells;
    for (const count of BACKEND_COUNTS) next[k++] = count.value(backend) ?? NaN;
    this.tracked.add();
    this.backends.push(backend);
  }

  /** The read's series; `columns` are its `show stat` columns, for a read without backends. */
  finish(columns: ReadonlyMap<string, number>): BackendSeries {
    const layout = this.tracked.layoutFor(columns);
    const series = { ...this.tracked.finish(), backends: this.backends, layout };
    // Not kept past the scrapes that render it: its backends hold the whole read.
    this.backends = [];
    return series;
  }
}

/** The families `BackendSeriesGatherer` gathered, in the order of its values; `labelSets` by backend. */
export function writeBackendSeries(out: ExpositionWriter, cache: SeriesCache, series: BackendSeries, labelSets: readonly string[]): void {
  const families = trackedFamilies(out, cache, series, labelSets);
  families.statFamilies('backend', series.layout);
  for (const count of BACKEND_COUNTS) families.family(count.name, count.type, count.help);
}
