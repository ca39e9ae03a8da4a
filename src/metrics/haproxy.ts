// The haproxy_* families, from one snapshot and the watcher. Where the fact is the one HAProxy's
// built-in exporter (promex) exports, the name and meaning are promex's, so dashboards carry over;
// precomputed rates and maxima are left out (Prometheus computes them better).

import { BACKEND_CAUSES, BACKEND_RISKS, FRONTEND_CAUSES, FRONTEND_RISKS, PROCESS_CAUSES, PROCESS_RISKS, type Diagnosis, type Finding } from '../diagnosis.js';
import type { CollectOptions } from '../config.js';
import type { StatTable } from '../parse/stat.js';
import type { Backend, Frontend, Snapshot } from '../snapshot.js';
import type { ReadHistory } from '../watcher.js';
import { contiguous, escapeLabelValue, labels, SeriesCache, type ExpositionWriter, type SeriesColumn } from './exposition.js';
import { BackendSeriesGatherer, writeBackendSeries, type BackendSeries } from './backendSeries.js';
import { FamilyWriter, FRONTEND_FAMILIES, PROCESS_FAMILIES, readCells, statLayoutOf } from './families.js';
import { ServerSeriesGatherer, writeServerSeries, type ServerSeries } from './serverSeries.js';
import { itemAt } from '../itemAt.js';

/**
 * Writes the haproxy_* families of a read and of its diagnosis. Each family's text is cached and
 * sent again while it is unchanged; a read's per-backend and per-server series are gathered once,
 * by the first scrape that renders it, and compared with the last read's as they are.
 */
export class HaproxyMetrics {
  private readonly cache = new SeriesCache();
  private readonly serverSeries: SeriesOfRead<ServerSeries>;
  private readonly backendSeries: SeriesOfRead<BackendSeries>;

  constructor(private readonly collect: CollectOptions) {
    const servers = new ServerSeriesGatherer(collect);
    const backends = new BackendSeriesGatherer(collect);
    this.serverSeries = new SeriesOfRead((snapshot, history) => gatherServers(servers, snapshot, history));
    this.backendSeries = new SeriesOfRead((snapshot) => gatherBackends(backends, snapshot));
  }

  /**
   * A read's families, with what the watcher knew of it. The server families last: gathering their
   * values is most of the work, and the client reads the rest meanwhile.
   */
  write(out: ExpositionWriter, snapshot: Snapshot, history: ReadHistory): void {
    const filter = this.collect.backends;
    const backends = filter ? snapshot.backends.filter((b) => filter.test(b.name)) : snapshot.backends;
    writeProcess(out, snapshot);
    writeFrontends(out, this.cache, snapshot.stat, snapshot.frontends);
    writeBackends(out, this.cache, backends, history, this.backendSeries.of(snapshot, history));
    if (this.collect.serverMetrics.size > 0) writeServerSeries(out, this.cache, this.serverSeries.of(snapshot, history), proxyLabel);
  }

  writeDiagnosis(out: ExpositionWriter, diagnosis: Diagnosis): void {
    writeDiagnosisMetrics(out, diagnosis, this.collect.backends, this.cache);
  }
}

/**
 * A read's series, gathered by the first scrape that renders the read and kept for the scrapes
 * that share it, which render in the same turn; then let go, so that a read is not kept alive
 * beside the next one.
 */
class SeriesOfRead<T> {
  private last: { readonly snapshot: Snapshot; readonly series: T } | null = null;

  constructor(private readonly gather: (snapshot: Snapshot, history: ReadHistory) => T) {}

  of(snapshot: Snapshot, history: ReadHistory): T {
    if (this.last?.snapshot === snapshot) return this.last.series;
    const last = { snapshot, series: this.gather(snapshot, history) };
    this.last = last;
    setImmediate(() => {
      if (this.last === last) this.last = null;
    });
    return last.series;
  }
}

function gatherBackends(gatherer: BackendSeriesGatherer, { backends, stat }: Snapshot): BackendSeries {
  gatherer.begin();
  for (const backend of backends) gatherer.add(backend, stat);
  return gatherer.finish(stat.columns);
}

function gatherServers(gatherer: ServerSeriesGatherer, { backends, servers, stat }: Snapshot, history: ReadHistory): ServerSeries {
  gatherer.begin(servers, history);
  for (const backend of backends) for (const i of backend.serverIndexes) gatherer.add(i, stat);
  return gatherer.finish(stat.columns);
}

function writeProcess(out: ExpositionWriter, snapshot: Snapshot): void {
  const info = snapshot.info;
  if (info === null) return;
  out.family('haproxy_process_build_info', 'gauge', 'HAProxy version, as a label.');
  out.sample('haproxy_process_build_info', labels({ version: info.version ?? '' }), 1);
  for (const [field, suffix, type, help] of PROCESS_FAMILIES) {
    const text = info.fields.get(field);
    if (text === undefined || text === '' || !Number.isFinite(Number(text))) continue;
    out.family(`haproxy_process_${suffix}`, type, help);
    out.sample(`haproxy_process_${suffix}`, '', Number(text));
  }
}

/** A value per object; null or undefined for none. */
function column(count: number, value: (i: number) => number | null | undefined, extra = ''): SeriesColumn {
  const values = new Float64Array(count);
  for (let i = 0; i < count; i++) values[i] = value(i) ?? NaN;
  return contiguous(values, extra);
}

/**
 * Label sets are joined, not written as templates: a template's result is a chain of pieces, one
 * heap object each, and label sets live as long as their series, so every full GC walks them.
 */
function proxyLabel(name: string): string {
  return ['proxy="', escapeLabelValue(name), '"'].join('');
}

function writeFrontends(out: ExpositionWriter, cache: SeriesCache, stat: StatTable, frontends: readonly Frontend[]): void {
  const labelSets = cache.labelSets(
    'frontend',
    frontends.length,
    (i) => itemAt(frontends, i).name,
    null,
    (i) => proxyLabel(itemAt(frontends, i).name),
  );
  // A few rows: their cells read after the read, into one array, compared with the cache's copies.
  const layout = statLayoutOf(FRONTEND_FAMILIES, stat.columns, true);
  const n = frontends.length;
  const cells = new Float64Array(layout.indexes.length * n);
  frontends.forEach((f, i) => {
    readCells(stat, f.row, layout, cells, i, n);
  });
  new FamilyWriter(out, cache, labelSets, (k, extra) => ({ extra, values: cells, first: k * n, step: 1 }), null).statFamilies('frontend', layout);
  const utilization = column(frontends.length, (i) => {
    const f = itemAt(frontends, i);
    return f.sessions.limit ? f.sessions.current / f.sessions.limit : null;
  });
  cache.family(
    out,
    'haproxy_frontend_sessions_utilization_ratio',
    'gauge',
    'Current sessions / maxconn of the frontend; at 1 it is FULL and new connections wait.',
    labelSets,
    [utilization],
  );
}

function writeBackends(out: ExpositionWriter, cache: SeriesCache, backends: readonly Backend[], history: ReadHistory, series: BackendSeries): void {
  const labelSets = cache.labelSets(
    'backend',
    backends.length,
    (i) => itemAt(backends, i).name,
    null,
    (i) => proxyLabel(itemAt(backends, i).name),
  );
  writeBackendSeries(out, cache, series, labelSets);
  cache.family(
    out,
    'haproxy_backend_no_up_servers_seconds_total',
    'counter',
    'Time the watcher saw the backend with no server able to take a request.',
    labelSets,
    [column(backends.length, (i) => history.noUsableSeconds(itemAt(backends, i).name))],
  );
}

/** The diagnosis as 0/1 series: every code for every object, so alerts see 0 before a 503. */
function writeDiagnosisMetrics(out: ExpositionWriter, diagnosis: Diagnosis, filter: RegExp | null, cache: SeriesCache): void {
  /** `proxy` is null for the process, which has no label. */
  type Found = { readonly proxy: string | null; readonly findings: readonly Finding[] };
  const family = (name: string, label: 'cause' | 'risk', help: string, codes: readonly string[], objects: readonly Found[]): void => {
    const at = (i: number): Found => itemAt(objects, i);
    const labelSets = cache.labelSets(
      name,
      objects.length,
      (i) => at(i).proxy ?? '',
      null,
      (i) => {
        const proxy = at(i).proxy;
        return proxy === null ? '' : proxyLabel(proxy);
      },
    );
    const columns = codes.map((code) => column(objects.length, (i) => (hasCode(at(i).findings, code) ? 1 : 0), `,${label}="${code}"`));
    cache.family(out, name, 'gauge', help, labelSets, columns);
  };
  const backends = filter ? diagnosis.backends.filter((b) => filter.test(b.name)) : diagnosis.backends;
  family(
    'haproxy_backend_503_cause',
    'cause',
    '1 while HAProxy answers 503 for this backend for this cause.',
    BACKEND_CAUSES,
    backends.map((b) => ({ proxy: b.name, findings: b.causes })),
  );
  family(
    'haproxy_backend_503_risk',
    'risk',
    '1 while this risk of a 503 holds for the backend.',
    BACKEND_RISKS,
    backends.map((b) => ({ proxy: b.name, findings: b.risks })),
  );
  const frontends = diagnosis.frontends;
  family(
    'haproxy_frontend_503_cause',
    'cause',
    '1 while HAProxy answers 503 on this frontend for this cause.',
    FRONTEND_CAUSES,
    frontends.map((f) => ({ proxy: f.name, findings: f.causes })),
  );
  family(
    'haproxy_frontend_503_risk',
    'risk',
    '1 while this risk of a 503 holds for the frontend.',
    FRONTEND_RISKS,
    frontends.map((f) => ({ proxy: f.name, findings: f.risks })),
  );
  if (!diagnosis.process.known) return;
  family('haproxy_process_503_cause', 'cause', '1 while this process-wide cause of 503s holds (from the master CLI).', PROCESS_CAUSES, [
    { proxy: null, findings: diagnosis.process.causes },
  ]);
  family('haproxy_process_503_risk', 'risk', '1 while this process-wide risk holds (from the master CLI).', PROCESS_RISKS, [
    { proxy: null, findings: diagnosis.process.risks },
  ]);
}

/** A loop, not `some` with a closure: asked for every code of every backend on each scrape. */
function hasCode(findings: readonly Finding[], code: string): boolean {
  for (const f of findings) if (f.code === code) return true;
  return false;
}
