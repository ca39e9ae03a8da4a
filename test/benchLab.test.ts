import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, ratioInterval, seededRandom, verdict } from '../bench/lab.js';

/** 45 runs of two targets whose times vary independently of each other. */
const nosrv = Array.from({ length: 45 }, (_, run) => 100 + ((run * 37) % 41));
const floor = Array.from({ length: 45 }, (_, run) => 70 + ((run * 13) % 29));

test("a ratio of medians moves by chance only as far as the runs' pairs differ", () => {
  // Each run's pair is resampled together: runs all in the same ratio leave it no room to move.
  const shortFloor = [71, 80, 69, 95, 74, 140, 70, 77];
  const scaled = shortFloor.map((t) => 1.4 * t);
  const same = median(scaled) / median(shortFloor);
  assert.deepEqual(ratioInterval(scaled, shortFloor, seededRandom(7)), [same, same]);

  const [low, high] = ratioInterval(nosrv, floor, seededRandom(7));
  const ratio = median(nosrv) / median(floor);
  assert.ok(low < ratio && ratio < high, `${low} < ${ratio} < ${high}`);
  const [low15, high15] = ratioInterval(nosrv.slice(0, 15), floor.slice(0, 15), seededRandom(7));
  assert.ok(high15 - low15 > high - low, 'fewer runs, a wider range');
});

test('the same runs give the same range, wherever the report prints it', () => {
  assert.deepEqual(ratioInterval(nosrv, floor), ratioInterval(nosrv, floor));
});

test('a verdict says whether the run met its limit, and whether chance alone could turn it', () => {
  assert.equal(verdict(1.29, 1.5, [1.21, 1.41]), 'yes');
  assert.equal(verdict(1.45, 1.5, [1.31, 1.6]), 'yes; by chance alone a rerun could miss');
  assert.equal(verdict(1.59, 1.5, [1.43, 1.76]), '**no**; by chance alone a rerun could pass');
  assert.equal(verdict(1.65, 1.5, [1.54, 1.86]), '**no**');
  assert.equal(verdict(138, 150), 'yes');
  assert.equal(verdict(151, 150), '**no**');
});
