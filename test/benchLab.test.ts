import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, ratioInterval } from '../bench/lab.js';

/** A fixed sequence in [0, 1), so the resamples are the same on every run of the test. */
function seeded(seed: number): () => number {
  let state = seed;
  return () => (state = (state * 48271) % 2147483647) / 2147483647;
}

test("a ratio of medians moves by chance only as far as the runs' pairs differ", () => {
  // Each run's pair is resampled together: runs all in the same ratio leave it no room to move.
  const floor = [71, 80, 69, 95, 74, 140, 70, 77];
  const scaled = floor.map((t) => 1.4 * t);
  const same = median(scaled) / median(floor);
  assert.deepEqual(ratioInterval(scaled, floor, seeded(7)), [same, same]);

  const nosrv = Array.from({ length: 45 }, (_, run) => 100 + ((run * 37) % 41));
  const other = Array.from({ length: 45 }, (_, run) => 70 + ((run * 13) % 29));
  const [low, high] = ratioInterval(nosrv, other, seeded(7));
  const ratio = median(nosrv) / median(other);
  assert.ok(low < ratio && ratio < high, `${low} < ${ratio} < ${high}`);
  const [low15, high15] = ratioInterval(nosrv.slice(0, 15), other.slice(0, 15), seeded(7));
  assert.ok(high15 - low15 > high - low, 'fewer runs, a wider range');
});
