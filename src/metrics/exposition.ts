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

interface CachedFamily {
  labelSets: readonly string[];
  readonly extras: readonly string[];
  /** The cache's own copies: the columns it is given may be used again by the next read. */
  readonly values: readonly Float64Array[];
  readonly bytes: Buffer;
}

/**
 * Each family's encoded text, sent again as it is while its label sets and values are those of
 * the last scrape: most per-server families are configuration or states that seldom change, and
 * at 10,000 servers writing them again was most of the cost of a scrape.
 */
export class SeriesCache {
  private readonly families = new Map<string, CachedFamily>();
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

  /** Writes a whole family: the cached text when labels and values are those of last time. */
  family(out: ExpositionWriter, name: string, type: MetricType, help: string, labelSets: readonly string[], columns: readonly SeriesColumn[]): void {
    const cached = this.families.get(name);
    if (cached !== undefined && sameStrings(cached.labelSets, labelSets) && sameColumns(cached, columns)) {
      cached.labelSets = labelSets;
      out.bytes(cached.bytes);
      return;
    }
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
    const bytes = encode(text);
    // The last copies are filled again where they fit: at 10,000 servers, megabytes a scrape not allocated.
    const values = columns.map((c, k) => {
      const before = cached?.values[k];
      const copy = before !== undefined && before.length === c.values.length ? before : new Float64Array(c.values.length);
      copy.set(c.values);
      return copy;
    });
    this.families.set(name, { labelSets, extras: columns.map((c) => c.extra), values, bytes });
    out.bytes(bytes);
  }
}

function sameColumns(cached: CachedFamily, columns: readonly SeriesColumn[]): boolean {
  if (cached.extras.length !== columns.length) return false;
  for (let c = 0; c < columns.length; c++) {
    const column = columns[c] as SeriesColumn;
    if (cached.extras[c] !== column.extra) return false;
    const before = cached.values[c] as Float64Array;
    const now = column.values;
    if (before.length !== now.length) return false;
    for (let i = 0; i < now.length; i++) {
      const a = before[i] as number;
      const b = now[i] as number;
      if (a !== b && (a === a || b === b)) return false; // NaN equals NaN here: no sample both times
    }
  }
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
