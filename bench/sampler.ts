// Loaded into the soak's nosrv (NODE_OPTIONS=--import): its RSS and V8 heap every
// SOAK_SAMPLE_MS, one line on stderr each, taken at the same instant from inside the process.

import { getHeapStatistics } from 'node:v8';
import { SAMPLE_PREFIX, type Sample } from './soakPlot.js';

setInterval(
  () => {
    const heap = getHeapStatistics();
    const sample: Sample = { at: Date.now(), rss: process.memoryUsage.rss(), heapUsed: heap.used_heap_size, heapTotal: heap.total_heap_size };
    process.stderr.write(`${SAMPLE_PREFIX}${JSON.stringify(sample)}\n`);
  },
  Number(process.env.SOAK_SAMPLE_MS ?? 10_000),
).unref();
