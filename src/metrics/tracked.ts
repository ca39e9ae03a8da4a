// The values of one kind of object (servers, backends) gathered read after read into one array,
// each compared with the value it replaces, so a read says which of its columns changed: the
// cache then sends a family as it was without comparing its values, or keeping a copy of them.

import { withRoom } from '../room.js';
import { NO_CHANGE, SAMPLES_CHANGED, type ExpositionWriter, type SeriesCache, type SeriesChange, type SeriesColumn, type SeriesHistory } from './exposition.js';
import { FamilyWriter } from './families.js';

/** Which of an answer's `show stat` columns become which values, and how many values an object has. */
export interface TrackedLayout {
  readonly width: number;
}

/** What a read's objects' values are, as `TrackedValues.finish` hands them over. */
export interface TrackedSeries {
  /** Value `k` of object `i` is at `i * width + k`; NaN for no sample. */
  readonly values: Float64Array;
  readonly width: number;
  readonly count: number;
  /** Who gathered them, and which of its reads this is. */
  readonly source: object;
  readonly read: number;
  /** Per value `k`: the last read in which an object's value changed, and in which one came or went (NaN). */
  readonly valuesChangedIn: Int32Array;
  readonly samplesChangedIn: Int32Array;
  /** The objects (by index) any of whose values changed in this read; null when every object may have. */
  readonly changedObjects: Int32Array | null;
}

/**
 * One array used again by every read, so a read's series are good until the next read begins: the
 * reader reads once at a time, and every scrape of a read renders it as soon as the read is done.
 * An object's values are side by side, as they are written and compared; a family reads its
 * column where it is (`trackedColumn`), not gathered into an array of its own.
 *
 * Each value is compared with the one it replaces: the same object's in the last read (or, where
 * the objects changed, whichever read wrote it last). Where the array is made again (more or fewer
 * objects, another width) every value is marked changed, since the old ones are gone.
 */
export class TrackedValues<L extends TrackedLayout> {
  private layout: L | null = null;
  private columns: ReadonlyMap<string, number> | null = null;
  private values = new Float64Array(0);
  /** Room for this many objects, of `width` values each. */
  private capacity = 0;
  private width = 0;
  private count = 0;
  /** Counts reads; a value is marked changed in the read that wrote it. */
  private read = 1;
  private valuesChangedIn = new Int32Array(0);
  private samplesChangedIn = new Int32Array(0);
  /** This read's objects with a value changed, the first `changedCount`; all of them once the array is made again. */
  private changedObjects = new Int32Array(64);
  private changedCount = 0;
  private allChanged = false;
  /** The next object's values, filled by the caller, then compared and put in place by `add`. */
  next = new Float64Array(0);

  constructor(
    private readonly layoutOf: (columns: ReadonlyMap<string, number>) => L,
    private readonly sameLayout: (a: L, b: L) => boolean,
  ) {}

  /** Starts a read, in the room the last one left. */
  begin(): void {
    this.read++;
    this.count = 0;
    this.changedCount = 0;
    this.allChanged = false;
  }

  /**
   * The layout of an answer's columns, worked out at a read's first object (or its end, for a read
   * without objects). Each answer has its own columns, nearly always where the last one had them:
   * only a layout that differs starts the values again, every one marked changed.
   */
  layoutFor(columns: ReadonlyMap<string, number>): L {
    if (this.columns === columns && this.layout !== null) return this.layout;
    this.columns = columns;
    const layout = this.layoutOf(columns);
    if (this.layout !== null && this.sameLayout(this.layout, layout)) return this.layout;
    this.layout = layout;
    this.next = new Float64Array(layout.width);
    this.valuesChangedIn = new Int32Array(layout.width);
    this.samplesChangedIn = new Int32Array(layout.width);
    this.resize(layout.width, this.capacity);
    return layout;
  }

  /** `next` as the values of the read's next object. */
  add(): void {
    // Room doubles as objects arrive; `finish` gives back what the next read will not need.
    if (this.count >= this.capacity) this.resize(this.width, Math.max(this.count + 1, this.capacity * 2, 64));
    const { next, values, read, valuesChangedIn, samplesChangedIn } = this;
    const object = this.count++;
    const at = object * this.width;
    let changed = false;
    for (let k = 0; k < next.length; k++) {
      const value = next[k] ?? 0;
      const before = values[at + k] ?? 0;
      // NaN (no sample) is equal to NaN.
      if (before === value || (before !== before && value !== value)) continue;
      values[at + k] = value;
      valuesChangedIn[k] = read;
      if (before !== before || value !== value) samplesChangedIn[k] = read;
      changed = true;
    }
    if (changed) {
      this.changedObjects = withRoom(this.changedObjects, this.changedCount + 1);
      this.changedObjects[this.changedCount++] = object;
    }
  }

  finish(): TrackedSeries {
    if (this.capacity > this.count + (this.count >> 3) + 64) this.resize(this.width, this.count);
    return {
      values: this.values,
      width: this.width,
      count: this.count,
      source: this,
      read: this.read,
      valuesChangedIn: this.valuesChangedIn.slice(),
      samplesChangedIn: this.samplesChangedIn.slice(),
      changedObjects: this.allChanged ? null : this.changedObjects.slice(0, this.changedCount),
    };
  }

  /** Room for `capacity` objects of `width` values, this read's so far kept; every value marked changed. */
  private resize(width: number, capacity: number): void {
    const values = new Float64Array(width * capacity);
    if (width === this.width) values.set(this.values.subarray(0, this.count * width));
    this.values = values;
    this.capacity = capacity;
    this.width = width;
    this.valuesChangedIn.fill(this.read);
    this.samplesChangedIn.fill(this.read);
    this.allChanged = true;
  }
}

/** Writes the series' families in the order of its values, each sent as cached while the series says its values did not change. */
export function trackedFamilies(out: ExpositionWriter, cache: SeriesCache, series: TrackedSeries, labelSets: readonly string[]): FamilyWriter {
  return new FamilyWriter(
    out,
    cache,
    labelSets,
    (k, extra) => trackedColumn(series, k, extra),
    (from, to) => historyOf(series, from, to),
  );
}

/** Value `k` of every object, as a family's column: read where it is kept, a family sent as cached reads none of it. */
function trackedColumn(series: TrackedSeries, k: number, extra: string): SeriesColumn {
  return { extra, values: series.values, first: k, step: series.width };
}

/** What changed in values `from` to `to` (not included) of the series after an earlier read of its source. */
function historyOf(series: TrackedSeries, from: number, to: number): SeriesHistory {
  return {
    source: series.source,
    read: series.read,
    changeSince(read: number): SeriesChange {
      const changed: boolean[] = [];
      for (let k = from; k < to; k++) {
        if ((series.samplesChangedIn[k] ?? 0) > read) return SAMPLES_CHANGED;
        changed.push((series.valuesChangedIn[k] ?? 0) > read);
      }
      if (!changed.includes(true)) return NO_CHANGE;
      // Which objects changed is known against the read just before only.
      return { kind: 'values', columns: changed, objects: read === series.read - 1 ? series.changedObjects : null };
    },
  };
}
