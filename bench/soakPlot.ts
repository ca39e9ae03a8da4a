// The soak's samples as a line fitted by least squares, and as an SVG plot for docs/.

/** How the sampler's lines start on nosrv's stderr. */
export const SAMPLE_PREFIX = 'soak-sample ';

export interface Sample {
  /** Milliseconds since the epoch. */
  readonly at: number;
  readonly rss: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
}

export interface Line {
  readonly slope: number;
  readonly intercept: number;
  /** The slope's standard error: how far noise alone moves it. */
  readonly standardError: number;
}

/** The least-squares line through `points` ([x, y] pairs, at least three). */
export function fitLine(points: ReadonlyArray<readonly [number, number]>): Line {
  const n = points.length;
  const meanX = points.reduce((sum, [x]) => sum + x, 0) / n;
  const meanY = points.reduce((sum, [, y]) => sum + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - meanX) ** 2;
    sxy += (x - meanX) * (y - meanY);
  }
  const slope = sxy / sxx;
  const intercept = meanY - slope * meanX;
  const residuals = points.reduce((sum, [x, y]) => sum + (y - intercept - slope * x) ** 2, 0);
  return { slope, intercept, standardError: Math.sqrt(residuals / (n - 2) / sxx) };
}

const WIDTH = 760;
const HEIGHT = 320;
const MARGIN = { left: 56, right: 150, top: 20, bottom: 40 };

/** RSS and heap used (MB) against minutes, with their fitted lines over the samples after the warm-up. */
export function soakPlot(samples: readonly Sample[], startedAt: number, warmUpMs: number, fitted: { rss: Line; heap: Line }, rssTargetMb: number): string {
  const minutes = (s: Sample): number => (s.at - startedAt) / 60_000;
  const maxMinutes = Math.max(1, ...samples.map(minutes));
  const maxMb = Math.ceil(Math.max(rssTargetMb + 1, ...samples.map((s) => s.rss / 2 ** 20)) / 50) * 50;
  const plotWidth = WIDTH - MARGIN.left - MARGIN.right;
  const plotHeight = HEIGHT - MARGIN.top - MARGIN.bottom;
  const x = (m: number): number => MARGIN.left + (m / maxMinutes) * plotWidth;
  const y = (mb: number): number => MARGIN.top + plotHeight - (mb / maxMb) * plotHeight;
  const path = (mbOf: (s: Sample) => number): string =>
    samples.map((s, i) => `${i === 0 ? 'M' : 'L'}${x(minutes(s)).toFixed(1)},${y(mbOf(s)).toFixed(1)}`).join(' ');
  // Fitted lines are in MB against hours.
  const fit = (line: Line): string => {
    const from = warmUpMs / 60_000;
    const at = (m: number): number => line.intercept + (line.slope * m) / 60;
    return `M${x(from).toFixed(1)},${y(at(from)).toFixed(1)} L${x(maxMinutes).toFixed(1)},${y(at(maxMinutes)).toFixed(1)}`;
  };
  const yTicks = Array.from({ length: maxMb / 50 + 1 }, (_, i) => i * 50);
  const xStep = maxMinutes > 60 ? 15 : maxMinutes > 20 ? 5 : 1;
  const xTicks = Array.from({ length: Math.floor(maxMinutes / xStep) + 1 }, (_, i) => i * xStep);
  const legendX = WIDTH - MARGIN.right + 12;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">
<rect width="${WIDTH}" height="${HEIGHT}" fill="#fff"/>
${yTicks.map((t) => `<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(t)}" y2="${y(t)}" stroke="#e5e5e5"/><text x="${MARGIN.left - 6}" y="${y(t) + 4}" text-anchor="end">${t}</text>`).join('\n')}
${xTicks.map((t) => `<text x="${x(t)}" y="${HEIGHT - MARGIN.bottom + 16}" text-anchor="middle">${t}</text>`).join('\n')}
<text x="${MARGIN.left + plotWidth / 2}" y="${HEIGHT - 6}" text-anchor="middle">minutes</text>
<text x="14" y="${MARGIN.top + plotHeight / 2}" text-anchor="middle" transform="rotate(-90 14 ${MARGIN.top + plotHeight / 2})">MB</text>
<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${x(warmUpMs / 60_000) - MARGIN.left}" height="${plotHeight}" fill="#f4f4f4"/>
<line x1="${MARGIN.left}" x2="${WIDTH - MARGIN.right}" y1="${y(rssTargetMb)}" y2="${y(rssTargetMb)}" stroke="#d62728" stroke-dasharray="2 3"/>
<path d="${path((s) => s.rss / 2 ** 20)}" fill="none" stroke="#1f77b4" stroke-width="1.5"/>
<path d="${path((s) => s.heapUsed / 2 ** 20)}" fill="none" stroke="#ff7f0e" stroke-width="1.5"/>
<path d="${fit(fitted.rss)}" stroke="#1f77b4" stroke-dasharray="6 4" stroke-width="2"/>
<path d="${fit(fitted.heap)}" stroke="#ff7f0e" stroke-dasharray="6 4" stroke-width="2"/>
<line x1="${legendX}" x2="${legendX + 24}" y1="${MARGIN.top + 10}" y2="${MARGIN.top + 10}" stroke="#1f77b4" stroke-width="2"/><text x="${legendX + 30}" y="${MARGIN.top + 14}">RSS</text>
<line x1="${legendX}" x2="${legendX + 24}" y1="${MARGIN.top + 30}" y2="${MARGIN.top + 30}" stroke="#ff7f0e" stroke-width="2"/><text x="${legendX + 30}" y="${MARGIN.top + 34}">V8 heap used</text>
<line x1="${legendX}" x2="${legendX + 24}" y1="${MARGIN.top + 50}" y2="${MARGIN.top + 50}" stroke="#555" stroke-dasharray="6 4" stroke-width="2"/><text x="${legendX + 30}" y="${MARGIN.top + 54}">fitted line</text>
<line x1="${legendX}" x2="${legendX + 24}" y1="${MARGIN.top + 70}" y2="${MARGIN.top + 70}" stroke="#d62728" stroke-dasharray="2 3"/><text x="${legendX + 30}" y="${MARGIN.top + 74}">RSS target</text>
<rect x="${legendX}" y="${MARGIN.top + 84}" width="24" height="12" fill="#f4f4f4"/><text x="${legendX + 30}" y="${MARGIN.top + 94}">warm-up</text>
</svg>
`;
}
