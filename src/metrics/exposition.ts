// Prometheus text exposition (format 0.0.4), written directly: at 10,000 servers the per-series
// objects and maps of a client library cost more than reading HAProxy does.

export type MetricType = 'gauge' | 'counter';

/** Encoded in pieces of about this many characters: small enough to stay cheap to build, large enough to be few. */
const CHUNK_CHARS = 64 * 1024;

/**
 * Writes the exposition straight into UTF-8 chunks. Lines are appended to one short string that is
 * encoded every CHUNK_CHARS: at 200,000 series this is several times faster, and leaves far less
 * garbage, than joining one string per line and encoding the whole text at the end.
 */
export class ExpositionWriter {
  private readonly chunks: Buffer[] = [];
  private pending = '';

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

  /** Text already in exposition form, such as prom-client's. */
  raw(text: string): void {
    this.append(text);
  }

  /** The exposition so far, encoded, in pieces to send one after the other (joining them is a copy). */
  encoded(): readonly Buffer[] {
    this.flush();
    return this.chunks;
  }

  text(): string {
    return Buffer.concat(this.encoded()).toString('utf8');
  }

  private append(text: string): void {
    this.pending += text;
    if (this.pending.length >= CHUNK_CHARS) this.flush();
  }

  private flush(): void {
    if (this.pending === '') return;
    this.chunks.push(Buffer.from(this.pending, 'utf8'));
    this.pending = '';
  }
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
