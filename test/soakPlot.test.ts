import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fitLine, soakPlot } from '../bench/soakPlot.js';

test("the soak's fitted line: the slope of points on a line, and noise in its standard error", () => {
  const exact = fitLine([0, 1, 2, 3].map((x) => [x, 5 + 2 * x] as const));
  assert.deepEqual([exact.slope, exact.intercept, exact.standardError], [2, 5, 0]);
  // A sawtooth with no trend: a slope within its standard error of zero.
  const sawtooth = fitLine(Array.from({ length: 180 }, (_, i) => [i / 360, 140 + ((i * 7) % 13)] as const));
  assert.ok(Math.abs(sawtooth.slope) < 2 * sawtooth.standardError, JSON.stringify(sawtooth));
});

test('the soak plot is an SVG of both series and the RSS target', () => {
  const samples = Array.from({ length: 10 }, (_, i) => ({ at: i * 10_000, rss: 140 * 2 ** 20, heapUsed: 20 * 2 ** 20, heapTotal: 30 * 2 ** 20 }));
  const line = { slope: 0, intercept: 140, standardError: 0 };
  const svg = soakPlot(samples, 0, 30_000, { rss: line, heap: { ...line, intercept: 20 } }, 150);
  assert.match(svg, /^<svg xmlns="http:\/\/www.w3.org\/2000\/svg"/);
  assert.equal(svg.match(/<path /g)?.length, 4, 'two series and their fitted lines');
  assert.match(svg, />RSS target</);
});
