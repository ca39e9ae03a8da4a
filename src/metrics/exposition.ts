// Prometheus text exposition (format 0.0.4), written directly: at 10,000 servers the per-series
// objects and maps of a client library cost more than reading HAProxy does.

export type MetricType = 'gauge' | 'counter';

/** Lines are encoded once this many characters wait, so the string being built stays short. */
const PENDING_CHARS = 64 * 1024;

/**
 * Writes the exposition as encoded pieces. Lines are appended to one short string that is encoded
 * every PENDING_CHARS: at 200,000 series this is several times faster, and leaves far less
 * garbage, than joining one string per line and encoding the whole text at the end. Whole
 * families that did not change since the last scrape come from `SeriesCache` as they were.
 */
export class ExpositionWriter {
  /** The output, in order: encoded pieces and cached families. */
  private readonly parts: Buffer[] = [];
  private pending = '';

  /** Starts a family; its samples must follow before the next family starts. */
  family(name: string, type: MetricType, help: string): void {
    this.append(familyHeader(name, type, help));
  }

  /** `labels` is a pre-escaped `a="x",b="y"` list, or '' for none. */
  sample(name: string, labels: string, value: number): void {
    this.append(labels === '' ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`);
  }

  /** Text already in exposition form, such as prom-client's. */
  raw(text: string): void {
    for (let at = 0; at < text.length; at += PENDING_CHARS) this.append(text.slice(at, at + PENDING_CHARS));
  }

  /** Encoded exposition text, such as a cached family; it is sent as it is and never changed. */
  bytes(encoded: Buffer): void {
    this.flush();
    this.parts.push(encoded);
  }

  /** The exposition, encoded, in pieces to send one after the other (joining them is a copy). */
  encoded(): readonly Buffer[] {
    this.flush();
    return this.parts;
  }

  text(): string {
    return Buffer.concat(this.encoded()).toString('utf8');
  }

  private append(text: string): void {
    this.pending += text;
    if (this.pending.length >= PENDING_CHARS) this.flush();
  }

  private flush(): void {
    if (this.pending === '') return;
    this.parts.push(encode(this.pending));
    this.pending = '';
  }
}

/** HAProxy's names are ASCII, and ASCII text is copied as it is, without UTF-8 encoding. */
function encode(text: string): Buffer {
  return Buffer.from(text, Buffer.byteLength(text, 'utf8') === text.length ? 'latin1' : 'utf8');
}

function familyHeader(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/** Samples of one family that share a label suffix (`,code="5xx"`, or ''): a value per object, NaN for none. */
export interface SeriesColumn {
  readonly extra: string;
  readonly values: Float64Array;
}

/** What changed in a family's values since an earlier read of the same source. */
export type SeriesChange = 'none' | 'values' | 'samples';

/**
 * Where a family's columns come from, when that source tracks what changed in them: the cache
 * then keeps no copy of their values to compare with.
 */
export interface SeriesHistory {
  /** The values' owner; `read` counts only its own reads. */
  readonly source: object;
  readonly read: number;
  /** What changed in the family's columns after read `read` of the same source. */
  changeSince(read: number): SeriesChange;
}

interface CachedFamily {
  labelSets: readonly string[];
  readonly extras: readonly string[];
  /** The cache's own copies, to compare with (the columns it is given may be used again by the next read); null with a history. */
  readonly values: readonly Float64Array[] | null;
  /** The history's source and read the bytes were written from; null without one. */
  readonly from: { readonly source: object; readonly read: number } | null;
  readonly bytes: Buffer;
}

/**
 * Each family's encoded text, sent again as it is while its label sets and values are those of
 * the last scrape: most per-server families are configuration or states that seldom change, and
 * at 10,000 servers writing them again was most of the cost of a scrape.
 */
export class SeriesCache {
  private readonly families = new Map<string, CachedFamily>();
  /** Where `rewrite` writes a family before it is copied out at its size. */
  private scratch = Buffer.allocUnsafe(64 * 1024);
  /** The values `rewrite` writes into the run it copies next, and where. */
  private patchAt = new Int32Array(1024);
  private patchValues = new Float64Array(1024);
  private patches = 0;
  private readonly namesByKind = new Map<string, { readonly proxies: string[]; readonly servers: string[]; readonly labelSets: readonly string[] }>();

  /**
   * The label sets of `count` objects, each named by a proxy and, for a server, its own name: last
   * scrape's when every name is the same (so families compare them at once, and none is built
   * again), else built with `make`.
   */
  labelSets(kind: string, count: number, proxy: (i: number) => string, server: ((i: number) => string) | null, make: (i: number) => string): readonly string[] {
    const previous = this.namesByKind.get(kind);
    if (previous !== undefined && previous.proxies.length === count) {
      let same = true;
      for (let i = 0; i < count && same; i++) same = previous.proxies[i] === proxy(i) && (server === null || previous.servers[i] === server(i));
      if (same) return previous.labelSets;
    }
    const names = { proxies: [] as string[], servers: [] as string[], labelSets: [] as string[] };
    for (let i = 0; i < count; i++) {
      names.proxies.push(proxy(i));
      if (server !== null) names.servers.push(server(i));
      names.labelSets.push(make(i));
    }
    this.namesByKind.set(kind, names);
    return names.labelSets;
  }

  /**
   * Writes a whole family: the cached text when labels and values are those of last time; when
   * only values changed (counters under traffic), the cached lines with the new values.
   */
  family(
    out: ExpositionWriter,
    name: string,
    type: MetricType,
    help: string,
    labelSets: readonly string[],
    columns: readonly SeriesColumn[],
    history: SeriesHistory | null = null,
  ): void {
    const cached = this.families.get(name);
    const change = cached !== undefined && sameStrings(cached.labelSets, labelSets) && sameExtras(cached.extras, columns) ? changeOf(cached, columns, history) : 'samples';
    if (change === 'none') {
      (cached as CachedFamily).labelSets = labelSets;
      out.bytes((cached as CachedFamily).bytes);
      return;
    }
    const bytes = change === 'values' ? this.rewrite((cached as CachedFamily).bytes, columns) : encode(familyText(name, type, help, labelSets, columns));
    const extras = columns.map((c) => c.extra);
    if (history !== null) {
      this.families.set(name, { labelSets, extras, values: null, from: { source: history.source, read: history.read }, bytes });
    } else {
      // The last copies are filled again where they fit: megabytes a scrape not allocated.
      const values = columns.map((c, k) => {
        const before = cached?.values?.[k];
        const copy = before !== undefined && before.length === c.values.length ? before : new Float64Array(c.values.length);
        copy.set(c.values);
        return copy;
      });
      this.families.set(name, { labelSets, extras, values, from: null, bytes });
    }
    out.bytes(bytes);
  }

  /**
   * The family's last encoding with each sample's value replaced, in the order `familyText` wrote
   * them. Most new values are as long as the old ones (a counter seldom crosses a power of ten), so
   * the old bytes are copied in runs that end only where a value's length changed, and the values
   * inside a run are written over it once it is copied. Copied line by line, each `Buffer.copy`
   * made a view of the old bytes: at 10,000 servers under traffic, most of a scrape's render.
   */
  private rewrite(old: Buffer, columns: readonly SeriesColumn[]): Buffer {
    // The run not yet copied starts at old[runFrom] and goes to scratch[to].
    let runFrom = 0;
    let to = 0;
    let from = 0;
    this.patches = 0;
    for (const { values } of columns) {
      for (let i = 0; i < values.length; i++) {
        const v = values[i] as number;
        if (v !== v) continue;
        // HELP and TYPE lines stay in the run.
        while (old[from] === 35) from = lineEnd(old, from) + 1;
        const end = lineEnd(old, from);
        const valueAt = old.lastIndexOf(32, end) + 1;
        if (valueLength(v) === end - valueAt) {
          this.patch(to + end - runFrom, v);
        } else {
          to = this.copyRun(old, runFrom, valueAt, to);
          to = this.putValue(v, to);
          runFrom = end;
        }
        from = end + 1;
      }
    }
    to = this.copyRun(old, runFrom, old.length, to);
    const bytes = Buffer.allocUnsafe(to);
    this.scratch.copy(bytes, 0, 0, to);
    return bytes;
  }

  /** A value to write ending at `end` of the scratch once the run that holds it is copied. */
  private patch(end: number, value: number): void {
    if (this.patches === this.patchAt.length) {
      const places = new Int32Array(this.patches * 2);
      places.set(this.patchAt);
      this.patchAt = places;
      const values = new Float64Array(this.patches * 2);
      values.set(this.patchValues);
      this.patchValues = values;
    }
    this.patchAt[this.patches] = end;
    this.patchValues[this.patches++] = value;
  }

  /** Copies old[from, end) to the scratch at `to`, writes the values patched into it; returns where it ends. */
  private copyRun(old: Buffer, from: number, end: number, to: number): number {
    this.room(to + end - from);
    old.copy(this.scratch, to, from, end);
    for (let p = 0; p < this.patches; p++) this.putValueEnding(this.patchValues[p] as number, this.patchAt[p] as number);
    this.patches = 0;
    return to + end - from;
  }

  /** Writes `v` as `formatValue` does, at `to`; returns where it ends. */
  private putValue(v: number, to: number): number {
    this.room(to + 32);
    const end = to + valueLength(v);
    this.putValueEnding(v, end);
    return end;
  }

  /** Writes `v` as `formatValue` does, ending at `end`; integers digit by digit, without a string. */
  private putValueEnding(v: number, end: number): void {
    const scratch = this.scratch;
    if (!Number.isSafeInteger(v)) {
      const text = formatValue(v);
      scratch.write(text, end - text.length, 'latin1');
      return;
    }
    let rest = Math.abs(v);
    let at = end - 1;
    do {
      // Integer division where the value fits 31 bits, as almost every value does.
      const tenth = rest < 0x80000000 ? ((rest / 10) | 0) : Math.floor(rest / 10);
      scratch[at--] = 48 + (rest - tenth * 10);
      rest = tenth;
    } while (rest > 0);
    if (v < 0) scratch[at] = 45;
  }

  private room(size: number): void {
    if (size <= this.scratch.length) return;
    const grown = Buffer.allocUnsafe(Math.max(size, this.scratch.length * 2));
    this.scratch.copy(grown);
    this.scratch = grown;
  }
}

function lineEnd(text: Buffer, from: number): number {
  const end = text.indexOf(10, from);
  return end < 0 ? text.length : end;
}

/** 10^0 to 10^15: a safe integer has at most 16 digits. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** How many characters `formatValue` writes for `v`; an integer's digits counted by comparisons alone. */
function valueLength(v: number): number {
  if (!Number.isSafeInteger(v)) return formatValue(v).length;
  const x = Math.abs(v);
  let digits = 1;
  while (digits < 16 && x >= (POWERS_OF_TEN[digits] as number)) digits++;
  return v < 0 ? digits + 1 : digits;
}

function familyText(name: string, type: MetricType, help: string, labelSets: readonly string[], columns: readonly SeriesColumn[]): string {
  let text = familyHeader(name, type, help);
  for (const { extra, values } of columns) {
    for (let i = 0; i < values.length; i++) {
      const v = values[i] as number;
      if (v !== v) continue;
      const labels = labelSets[i] as string;
      const all = labels === '' ? extra.slice(1) : labels + extra;
      text += all === '' ? `${name} ${formatValue(v)}\n` : `${name}{${all}} ${formatValue(v)}\n`;
    }
  }
  return text;
}

/** What changed since the cached family, whose label sets and extras are the columns': from the history, else against its copies. */
function changeOf(cached: CachedFamily, columns: readonly SeriesColumn[], history: SeriesHistory | null): SeriesChange {
  if (history !== null) return cached.from !== null && cached.from.source === history.source ? history.changeSince(cached.from.read) : 'samples';
  if (cached.values === null) return 'samples';
  let change: SeriesChange = 'none';
  for (let c = 0; c < columns.length; c++) {
    const before = cached.values[c] as Float64Array;
    const now = (columns[c] as SeriesColumn).values;
    if (before.length !== now.length) return 'samples';
    for (let i = 0; i < now.length; i++) {
      const a = before[i] as number;
      const b = now[i] as number;
      if (a === b) continue;
      // NaN is no sample: equal to NaN, and a sample that comes or goes changes the lines.
      if (a !== a || b !== b) {
        if (a === a || b === b) return 'samples';
        continue;
      }
      change = 'values';
    }
  }
  return change;
}

function sameExtras(extras: readonly string[], columns: readonly SeriesColumn[]): boolean {
  if (extras.length !== columns.length) return false;
  for (let c = 0; c < columns.length; c++) if (extras[c] !== (columns[c] as SeriesColumn).extra) return false;
  return true;
}

function sameStrings(a: readonly string[], b: readonly string[]): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const NEEDS_ESCAPE = /[\\"\n]/;

export function escapeLabelValue(value: string): string {
  if (!NEEDS_ESCAPE.test(value)) return value;
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `name="value",...` from pairs, each value escaped. */
export function labels(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([name, value]) => `${name}="${escapeLabelValue(value)}"`)
    .join(',');
}
