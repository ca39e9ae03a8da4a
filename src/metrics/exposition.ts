// Prometheus text exposition (format 0.0.4), written directly: at 10,000 servers the per-series
// objects and maps of a client library cost more than reading HAProxy does.

import { withRoom } from '../room.js';
import { itemAt } from '../itemAt.js';

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
  /** The output kept when there is no `send`, in order: encoded pieces and cached families. */
  private readonly parts: Buffer[] = [];
  private pending = '';
  /** The cached families' texts in this answer: none may change until it is sent. */
  private readonly holding: Use[] = [];
  /** Sent (or its client gone): what is added from now on is never sent, and holds nothing. */
  private done = false;

  /** `send` takes each piece as soon as it is written, so sending overlaps writing the rest. */
  constructor(private readonly send: ((piece: Buffer) => void) | null = null) {}

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

  /** A cached family's text, sent as it is; the cache writes over it only once every answer holding it is `sent`. */
  cached(encoded: Buffer, use: Use): void {
    this.flush();
    this.emit(encoded);
    if (this.done) return;
    use.answers++;
    this.holding.push(use);
  }

  /** The answer is in the kernel's hands, or its client has gone: its cached texts may change. */
  sent(): void {
    for (const use of this.holding) use.answers--;
    this.holding.length = 0;
    this.done = true;
  }

  /** The exposition, encoded, in pieces to send one after the other (joining them is a copy); none when given `send`. */
  encoded(): readonly Buffer[] {
    this.flush();
    return this.parts;
  }

  /** Gives `send` the lines still waiting. */
  end(): void {
    this.flush();
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
    this.emit(encode(this.pending));
    this.pending = '';
  }

  private emit(piece: Buffer): void {
    if (this.send) this.send(piece);
    else this.parts.push(piece);
  }
}

/** HAProxy's names are ASCII, and ASCII text is copied as it is, without UTF-8 encoding. */
function encode(text: string): Buffer {
  return Buffer.from(text, Buffer.byteLength(text, 'utf8') === text.length ? 'latin1' : 'utf8');
}

function familyHeader(name: string, type: MetricType, help: string): string {
  return `# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}\n# TYPE ${name} ${type}\n`;
}

/**
 * Samples of one family that share a label suffix (`,code="5xx"`, or ''): a value per object, NaN
 * for none, object `i`'s at `values[first + i * step]`, so a family is read where its values are
 * kept (a server's values side by side) without gathering them first.
 */
export interface SeriesColumn {
  readonly extra: string;
  readonly values: Float64Array;
  readonly first: number;
  readonly step: number;
}

/** A column whose values are one after the other. */
export function contiguous(values: Float64Array, extra = ''): SeriesColumn {
  return { extra, values, first: 0, step: 1 };
}

/**
 * What changed in a family's values since an earlier read of the same source: nothing, values
 * only, or samples that came or went.
 */
export type SeriesChange = { readonly kind: 'none' | 'samples' } | ValuesChange;

/** Values changed, samples did not: in which columns, and of which objects (null: any of them). */
export interface ValuesChange {
  readonly kind: 'values';
  readonly columns: readonly boolean[];
  readonly objects: Int32Array | null;
}

export const NO_CHANGE: SeriesChange = { kind: 'none' };
export const SAMPLES_CHANGED: SeriesChange = { kind: 'samples' };

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

/** Where a family's values are in its text: the value of object `i` in column `c` at `c * count + i`. */
interface ValuePlaces {
  /** Where the value starts; -1 for no sample. */
  readonly valueAt: Int32Array;
  readonly valueLengths: Uint8Array;
}

/** A family's text, what holds it, and where its values are once a rewrite has needed to know. */
interface Encoded {
  readonly bytes: Buffer;
  /** The buffer `bytes` begins, with room for a text a little longer. */
  readonly room: Buffer;
  readonly use: Use;
  /** Where its values are, found when it is first written again and kept while it is: most families never change. */
  readonly places: ValuePlaces | null;
}

/** A text just encoded, in a buffer of its own size that no answer holds yet. */
function fresh(bytes: Buffer): Encoded {
  return { bytes, room: bytes, use: { answers: 0 }, places: null };
}

/** How many answers hold one encoded text and are not yet sent. */
export interface Use {
  answers: number;
}

interface CachedFamily extends Encoded {
  labelSets: readonly string[];
  readonly extras: readonly string[];
  /** The cache's own copies, to compare with (the columns it is given may be used again by the next read); null with a history. */
  readonly values: readonly Float64Array[] | null;
  /** The history's source and read the bytes were written from; null without one. */
  readonly from: { readonly source: object; readonly read: number } | null;
}

/**
 * Each family's encoded text, sent again as it is while its label sets and values are those of
 * the last scrape: most per-server families are configuration or states that seldom change.
 */
export class SeriesCache {
  private readonly families = new Map<string, CachedFamily>();
  /** Each sample's value length, as `rewrite` works them out. */
  private lengths = new Uint8Array(0);
  /** The runs of bytes `rewrite` moves: from where, to where, how many. */
  private runFrom: Int32Array = new Int32Array(64);
  private runTo: Int32Array = new Int32Array(64);
  private runLength: Int32Array = new Int32Array(64);
  private runs = 0;
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
    const names: { proxies: string[]; servers: string[]; labelSets: string[] } = { proxies: [], servers: [], labelSets: [] };
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
    const change =
      cached !== undefined && sameItems(cached.labelSets, labelSets) && sameExtras(cached.extras, columns)
        ? changeOf(cached, columns, history)
        : SAMPLES_CHANGED;
    if (cached !== undefined && change.kind === 'none') {
      cached.labelSets = labelSets;
      out.cached(cached.bytes, cached.use);
      return;
    }
    const encoded =
      cached !== undefined && change.kind === 'values'
        ? this.rewrite(cached, columns, change, labelSets.length)
        : fresh(familyBytes(name, type, help, labelSets, columns));
    const extras = columns.map((c) => c.extra);
    if (history !== null) {
      this.families.set(name, { ...encoded, labelSets, extras, values: null, from: { source: history.source, read: history.read } });
    } else {
      // The last copies are filled again where they fit: megabytes a scrape not allocated.
      const count = labelSets.length;
      const values = columns.map((c, k) => {
        const before = cached?.values?.[k];
        const copy = before !== undefined && before.length === count ? before : new Float64Array(count);
        for (let i = 0, at = c.first; i < count; i++, at += c.step) copy[i] = c.values[at] ?? 0;
        return copy;
      });
      this.families.set(name, { ...encoded, labelSets, extras, values, from: null });
    }
    out.cached(encoded.bytes, encoded.use);
  }

  // Long: one pass works out the new lengths, a second moves the bytes between the values that changed length.
  /**
   * The family's last encoding with the values that changed written over, found where that
   * encoding says they start. Only the changed columns are visited (under traffic the responses
   * other than 2xx stay as they were), and in them only the objects that changed when that is
   * known (between frequent scrapes most servers are idle). The text is rewritten in its own
   * buffer when no answer still being sent holds it and it fits, so that counters moving under
   * traffic allocate nothing. Most new values are as long as the old ones (a counter seldom
   * crosses a power of ten); where some are not, the bytes between them move in runs.
   */
  private rewrite(cached: CachedFamily, columns: readonly SeriesColumn[], change: ValuesChange, count: number): Encoded {
    const old = cached.bytes;
    const { valueAt: oldAt, valueLengths: oldLengths } = cached.places ?? placesIn(old, columns, count);
    if (this.lengths.length < oldLengths.length) this.lengths = new Uint8Array(oldLengths.length);
    const lengths = this.lengths;
    // Every value keeps its length but those visited below.
    lengths.set(oldLengths);
    const sizes = { growth: 0, alike: true };
    forEachChanged(columns, change.columns, change.objects, count, (at, value) => {
      if ((oldAt[at] ?? 0) < 0) return;
      const length = valueLength(value);
      lengths[at] = length;
      if (length !== oldLengths[at]) {
        sizes.growth += length - (oldLengths[at] ?? 0);
        sizes.alike = false;
      }
    });
    const { growth, alike } = sizes;
    const length = old.length + growth;
    const inPlace = cached.use.answers === 0 && length <= cached.room.length;
    // A new buffer has room for a text 1/32 longer, so that counters growing a digit fit in it next time.
    const room = inPlace ? cached.room : Buffer.allocUnsafe(length + (length >> 5));
    const bytes = inPlace && length === old.length ? old : room.subarray(0, length);
    let valueAt = oldAt;
    let valueLengths = oldLengths;
    if (alike) {
      if (!inPlace) old.copy(room);
    } else {
      valueAt = new Int32Array(oldAt.length);
      valueLengths = lengths.slice(0, oldLengths.length);
      this.runs = 0;
      // The run not yet placed starts at old[from] and goes to `to`.
      let from = 0;
      let to = 0;
      for (let k = 0; k < oldAt.length; k++) {
        const start = oldAt[k] ?? 0;
        if (start < 0) {
          valueAt[k] = -1;
          continue;
        }
        const oldLength = oldLengths[k] ?? 0;
        if (valueLengths[k] === oldLength) {
          valueAt[k] = to + start - from;
          continue;
        }
        this.run(from, to, start - from);
        to += start - from;
        valueAt[k] = to;
        to += valueLengths[k] ?? 0;
        from = start + oldLength;
      }
      this.run(from, to, old.length - from);
      this.moveRuns(old, room);
    }
    // The values not visited are where they were, or moved with their runs.
    forEachChanged(columns, change.columns, change.objects, count, (at, value) => {
      const start = valueAt[at] ?? 0;
      if (start >= 0) putValueEnding(bytes, value, start + (valueLengths[at] ?? 0));
    });
    return { bytes, room, use: inPlace ? cached.use : { answers: 0 }, places: { valueAt, valueLengths } };
  }

  /** Bytes `old[from, from + length)` go to `to`. */
  private run(from: number, to: number, length: number): void {
    this.runFrom = withRoom(this.runFrom, this.runs + 1);
    this.runTo = withRoom(this.runTo, this.runs + 1);
    this.runLength = withRoom(this.runLength, this.runs + 1);
    this.runFrom[this.runs] = from;
    this.runTo[this.runs] = to;
    this.runLength[this.runs++] = length;
  }

  /**
   * Moves the runs from `old` to `room`. In the same buffer, runs going left move first, from the
   * first, then runs going right, from the last: no run then lands on one not yet moved.
   */
  private moveRuns(old: Buffer, room: Buffer): void {
    const { runFrom, runTo, runLength, runs } = this;
    const move = (r: number): void => {
      const from = runFrom[r] ?? 0;
      if (runLength[r] ?? 0) old.copy(room, runTo[r], from, from + (runLength[r] ?? 0));
    };
    if (old.buffer !== room.buffer || old.byteOffset !== room.byteOffset) {
      for (let r = 0; r < runs; r++) move(r);
      return;
    }
    for (let r = 0; r < runs; r++) if ((runTo[r] ?? 0) < (runFrom[r] ?? 0)) move(r);
    for (let r = runs - 1; r >= 0; r--) if ((runTo[r] ?? 0) > (runFrom[r] ?? 0)) move(r);
  }
}

/**
 * Calls `visit` with the place in the family and the value of each value in a changed column, of
 * the objects listed (null: of every object).
 */
function forEachChanged(
  columns: readonly SeriesColumn[],
  changed: readonly boolean[],
  objects: Int32Array | null,
  count: number,
  visit: (at: number, value: number) => void,
): void {
  const visited = objects === null ? count : objects.length;
  for (let c = 0; c < columns.length; c++) {
    if (changed[c] !== true) continue;
    const { values, first, step } = itemAt(columns, c);
    for (let j = 0; j < visited; j++) {
      const i = objects === null ? j : (objects[j] ?? 0);
      visit(c * count + i, values[first + i * step] ?? 0);
    }
  }
}

/** Writes `v` as `formatValue` does, ending at `end`; integers digit by digit, without a string. */
function putValueEnding(bytes: Buffer, v: number, end: number): void {
  if (!Number.isSafeInteger(v)) {
    const text = formatValue(v);
    bytes.write(text, end - text.length, 'latin1');
    return;
  }
  let rest = Math.abs(v);
  let at = end - 1;
  // Two digits a division: under traffic a scrape writes a quarter of a million counters.
  while (rest >= 100) {
    const hundredth = Math.floor(rest / 100);
    const pair = 2 * (rest - hundredth * 100);
    bytes[at--] = DIGIT_PAIRS[pair + 1] ?? 0;
    bytes[at--] = DIGIT_PAIRS[pair] ?? 0;
    rest = hundredth;
  }
  if (rest >= 10) {
    bytes[at--] = DIGIT_PAIRS[2 * rest + 1] ?? 0;
    bytes[at--] = DIGIT_PAIRS[2 * rest] ?? 0;
  } else {
    bytes[at--] = 48 + rest;
  }
  if (v < 0) bytes[at] = 45;
}

/** "00" to "99", as bytes. */
const DIGIT_PAIRS = Uint8Array.from({ length: 200 }, (_, k) => 48 + (k % 2 === 0 ? Math.floor(k / 20) : (k >> 1) % 10));

/** 10^0 to 10^15: a safe integer has at most 16 digits. */
const POWERS_OF_TEN = Array.from({ length: 16 }, (_, i) => 10 ** i);

/** How many characters `formatValue` writes for `v`; an integer's digits counted by comparisons alone. */
function valueLength(v: number): number {
  if (!Number.isSafeInteger(v)) return formatValue(v).length;
  const x = Math.abs(v);
  let digits = 1;
  while (digits < 16 && x >= (POWERS_OF_TEN[digits] ?? 0)) digits++;
  return v < 0 ? digits + 1 : digits;
}

/** A family's text, encoded as `ExpositionWriter` encodes: no string as long as the family is made. */
function familyBytes(name: string, type: MetricType, help: string, labelSets: readonly string[], columns: readonly SeriesColumn[]): Buffer {
  const text = new ExpositionWriter();
  text.family(name, type, help);
  const count = labelSets.length;
  for (const { extra, values, first, step } of columns) {
    for (let i = 0, from = first; i < count; i++, from += step) {
      const v = values[from] ?? 0;
      if (v !== v) continue;
      const labels = labelSets[i] ?? '';
      text.sample(name, labels === '' ? extra.slice(1) : labels + extra, v);
    }
  }
  return Buffer.concat(text.encoded());
}

/**
 * Where each value is in a family's text, whose samples are those of `columns`: a sample's line
 * ends at the next newline, and its value starts after the line's last space (label values are
 * escaped, and may hold spaces but no newline).
 */
function placesIn(text: Buffer, columns: readonly SeriesColumn[], count: number): ValuePlaces {
  const valueAt = new Int32Array(columns.length * count);
  const valueLengths = new Uint8Array(columns.length * count);
  let lineStart = 0;
  // HELP and TYPE.
  while (text[lineStart] === 35) lineStart = text.indexOf(10, lineStart) + 1;
  let at = 0;
  for (const { values, first, step } of columns) {
    for (let i = 0, from = first; i < count; i++, at++, from += step) {
      const v = values[from] ?? 0;
      if (v !== v) {
        valueAt[at] = -1;
        continue;
      }
      const end = text.indexOf(10, lineStart);
      const start = text.lastIndexOf(32, end) + 1;
      valueAt[at] = start;
      valueLengths[at] = end - start;
      lineStart = end + 1;
    }
  }
  return { valueAt, valueLengths };
}

/** What changed since the cached family, whose label sets and extras are the columns': from the history, else against its copies. */
function changeOf(cached: CachedFamily, columns: readonly SeriesColumn[], history: SeriesHistory | null): SeriesChange {
  if (history !== null) return cached.from !== null && cached.from.source === history.source ? history.changeSince(cached.from.read) : SAMPLES_CHANGED;
  if (cached.values === null) return SAMPLES_CHANGED;
  const changed = columns.map(() => false);
  for (let c = 0; c < columns.length; c++) {
    const before = itemAt(cached.values, c);
    const { values, first, step } = itemAt(columns, c);
    for (let i = 0, at = first; i < before.length; i++, at += step) {
      const a = before[i] ?? 0;
      const b = values[at] ?? 0;
      if (a === b) continue;
      // NaN is no sample: equal to NaN, and a sample that comes or goes changes the lines.
      if (a !== a || b !== b) {
        if (a === a || b === b) return SAMPLES_CHANGED;
        continue;
      }
      changed[c] = true;
    }
  }
  return changed.includes(true) ? { kind: 'values', columns: changed, objects: null } : NO_CHANGE;
}

function sameExtras(extras: readonly string[], columns: readonly SeriesColumn[]): boolean {
  if (extras.length !== columns.length) return false;
  for (let c = 0; c < columns.length; c++) if (extras[c] !== itemAt(columns, c).extra) return false;
  return true;
}

/** The same items in the same order. */
export function sameItems<T>(a: readonly T[], b: readonly T[]): boolean {
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
