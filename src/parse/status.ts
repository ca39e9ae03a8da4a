// The `status` cell of `show stat`, as HAProxy 2.6 writes it (src/stats.c, srv_hlt_st[]):
// servers `UP`, `UP 2/3`, `DOWN`, `DOWN 1/2`, `DOWN (agent)`, `NOLB`, `NOLB 1/2`, `DRAIN`,
// `DRAIN 1/2`, `DRAIN (agent)`, `MAINT`, `MAINT (via be/s)`, `MAINT (resolution)`, `no check`;
// backends `UP`/`DOWN`; frontends `OPEN`/`FULL`/`STOP`.

export type StatusWord = 'UP' | 'DOWN' | 'NOLB' | 'DRAIN' | 'MAINT' | 'no check' | 'OPEN' | 'FULL' | 'STOP';

export interface ParsedStatus {
  readonly word: StatusWord;
  /**
   * `UP x/y`, `NOLB x/y`, `DRAIN x/y`: x failed checks left before DOWN, y = fall.
   * `DOWN x/y`: x = health so far, y = rise (rise - x successful checks before UP).
   */
  readonly progress: { readonly current: number; readonly total: number } | null;
  /** `MAINT (via be/s)`: the tracked server whose maintenance this server inherits. */
  readonly via: string | null;
  /** `MAINT (resolution)`: held because the server's name does not resolve. */
  readonly resolution: boolean;
  /** `DOWN (agent)` / `DRAIN (agent)`: the agent check decided. */
  readonly agent: boolean;
}

const WORDS: readonly StatusWord[] = ['no check', 'UP', 'DOWN', 'NOLB', 'DRAIN', 'MAINT', 'OPEN', 'FULL', 'STOP'];
const PROGRESS = /^(\d+)\/(\d+)$/;

/** Returns null for a status this grammar does not know, so a caller can say so instead of guessing. */
export function parseStatus(text: string): ParsedStatus | null {
  const word = WORDS.find((w) => text === w || text.startsWith(`${w} `));
  if (word === undefined) return null;
  const rest = text.slice(word.length).trim();
  const status = { word, progress: null, via: null, resolution: false, agent: false };
  if (rest === '') return status;
  const progress = PROGRESS.exec(rest);
  if (progress) return { ...status, progress: { current: Number(progress[1]), total: Number(progress[2]) } };
  if (rest === '(agent)') return { ...status, agent: true };
  if (rest === '(resolution)') return { ...status, resolution: true };
  if (rest.startsWith('(via ') && rest.endsWith(')')) return { ...status, via: rest.slice(5, -1) };
  return null;
}
