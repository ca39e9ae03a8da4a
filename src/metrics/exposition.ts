// Prometheus text exposition (format 0.0.4), written directly: at 10,000 servers the per-series
// objects and maps of a client library cost more than reading HAProxy does.

export type MetricType = 'gauge' | 'counter';

/** Lines are encoded once this many characters wait, so the string being built stays short. */
const PENDING_CHARS = 64 * 1024;
/** A pooled output buffer; UTF-8 needs at most 3 bytes per UTF-16 unit, so pending text always fits in an empty one. */
const BUFFER_BYTES = 1024 * 1024;
/** Buffers a pool keeps: enough for the largest exposition (29 MB at 10,000 servers with every family). */
const POOL_MAX_BUFFERS = 64;

/**
 * Output buffers reused from one scrape to the next. At 10,000 servers a scrape writes 12 MB or
 * more; fresh buffers each time are freed only when the garbage collector gets to them, and the
 * process's memory then grows with the scrape rate, not with the installation.
 */
export class BufferPool {
  private readonly free: Buffer[] = [];

  take(): Buffer {
    return this.free.pop() ?? Buffer.allocUnsafeSlow(BUFFER_BYTES);
  }

  give(buffers: readonly Buffer[]): void {
    for (const b of buffers) if (this.free.length < POOL_MAX_BUFFERS) this.free.push(b);
  }
}

/**
 * Writes the exposition straight into UTF-8 buffers. Lines are appended to one short string that
 * is encoded every PENDING_CHARS: at 200,000 series this is several times faster, and leaves far
 * less garbage, than joining one string per line and encoding the whole text at the end.
 */
export class ExpositionWriter {
  private readonly buffers: Buffer[] = [];
  /** Bytes written in each buffer. */
  private readonly used: number[] = [];
  private pending = '';

  constructor(private readonly pool: BufferPool = new BufferPool()) {}

  /** Starts a family; its samples must follow before the next family starts. */
  family(name: string, type: MetricType, help: string): void {
    this.append(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`);
  }

  /** `labels` is a pre-escaped `a="x",b="y"` list, or '' for none. */
  sample(name: string, labels: string, value: number): void {
    this.append(labels === '' ? `${name} ${formatValue(value)}\n` : `${name}{${labels}} ${formatValue(value)}\n`);
  }

  /** A value already in exposition form (an integer as HAProxy printed it, or 1). */
  sampleText(name: string, labels: string, value: string): void {
    this.append(labels === '' ? `${name} ${value}\n` : `${name}{${labels}} ${value}\n`);
  }

  /** A sample from a prefix of `SeriesCache.prefixes` and a value in exposition form. */
  samplePrefixed(prefix: string, value: string): void {
    this.append(prefix + value + '\n');
  }

  /** Text already in exposition form, such as prom-client's. */
  raw(text: string): void {
    for (let at = 0; at < text.length; at += PENDING_CHARS) this.append(text.slice(at, at + PENDING_CHARS));
  }

  /** The exposition so far, encoded, in pieces to send one after the other (joining them is a copy). */
  encoded(): Buffer[] {
    this.flush();
    return this.buffers.map((b, i) => b.subarray(0, this.used[i]));
  }

  text(): string {
    return Buffer.concat(this.encoded()).toString('utf8');
  }

  /** Gives the buffers back to the pool, once what `encoded` returned has been sent. */
  release(): void {
    this.pool.give(this.buffers);
    this.buffers.length = 0;
    this.used.length = 0;
  }

  private append(text: string): void {
    this.pending += text;
    if (this.pending.length >= PENDING_CHARS) this.flush();
  }

  private flush(): void {
    if (this.pending === '') return;
    let last = this.buffers.length - 1;
    if (last < 0 || (this.buffers[last] as Buffer).length - (this.used[last] as number) < this.pending.length * 3) {
      this.buffers.push(this.pool.take());
      this.used.push(0);
      last++;
    }
    // HAProxy's names are ASCII, and ASCII text is copied as it is, without UTF-8 encoding.
    const ascii = Buffer.byteLength(this.pending, 'utf8') === this.pending.length;
    (this.used[last] as number) += (this.buffers[last] as Buffer).write(this.pending, this.used[last] as number, ascii ? 'latin1' : 'utf8');
    this.pending = '';
  }
}

/**
 * The `name{labels} ` before each value, kept between scrapes while HAProxy's objects stay the
 * same: at 10,000 servers building them again is much of the cost of a scrape.
 */
export class SeriesCache {
  private readonly prefixesByFamily = new Map<string, { labelSets: readonly string[]; prefixes: readonly string[] }>();

  /** `name{labels} ` for each label set, with `extra` (`,code="5xx"`) after the labels; the cached ones while the label sets are equal. */
  prefixes(name: string, labelSets: readonly string[], extra = ''): readonly string[] {
    const key = extra === '' ? name : `${name}{${extra}`;
    const cached = this.prefixesByFamily.get(key);
    if (cached !== undefined && sameStrings(cached.labelSets, labelSets)) return cached.prefixes;
    const prefixes = labelSets.map((l) => (l === '' && extra === '' ? `${name} ` : `${name}{${l === '' ? extra.slice(1) : l + extra}} `));
    this.prefixesByFamily.set(key, { labelSets, prefixes });
    return prefixes;
  }
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
