// Enough of HAProxy's configuration format to be right about what decides a 503: sections,
// `defaults` inheritance (named defaults and `from` included), comments and quoting, routing
// (`use_backend`, `default_backend`), servers with their check, backup, maxconn and interval,
// and `timeout queue`/`connect`. Every other directive is ignored, never an error.

export interface ConfigServer {
  readonly name: string;
  readonly address: string;
  readonly check: boolean;
  readonly backup: boolean;
  readonly disabled: boolean;
  readonly track: string | null;
  readonly maxconn: number | null;
  /** `inter`, or HAProxy's default of 2 s. */
  readonly interMs: number;
  /** `fastinter`: the interval while a server is changing state; `inter` when unset. */
  readonly fastinterMs: number | null;
  readonly line: number;
}

export interface ConfigProxy {
  readonly kind: 'frontend' | 'backend' | 'listen';
  readonly name: string;
  readonly line: number;
  readonly useBackends: ReadonlyArray<{ readonly target: string; readonly line: number }>;
  readonly defaultBackend: string | null;
  readonly servers: readonly ConfigServer[];
  /** `timeout queue`, own or inherited; null when unset (HAProxy then waits `timeout connect`). */
  readonly timeoutQueueMs: number | null;
  readonly timeoutConnectMs: number | null;
}

export interface HaproxyConfig {
  readonly proxies: readonly ConfigProxy[];
}

interface Section {
  kind: 'defaults' | 'frontend' | 'backend' | 'listen';
  name: string;
  line: number;
  useBackends: Array<{ target: string; line: number }>;
  defaultBackend: string | null;
  defaultServer: string[];
  serverLines: Array<{ words: string[]; line: number }>;
  timeouts: Map<string, number>;
}

const PROXY_KINDS = new Set(['defaults', 'frontend', 'backend', 'listen']);
const OTHER_SECTIONS = new Set([
  'global',
  'peers',
  'resolvers',
  'userlist',
  'mailers',
  'program',
  'http-errors',
  'ring',
  'cache',
  'log-forward',
  'crt-store',
  'traces',
]);

// Long: one switch over the keywords of every section, in the order the file gives them.
export function parseHaproxyConfig(text: string): HaproxyConfig {
  const sections: Section[] = [];
  const defaultsByName = new Map<string, Section>();
  let lastDefaults: Section | null = null;
  let current: Section | null = null;

  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    const words = splitWords(raw);
    const [keyword, ...args] = words;
    if (keyword === undefined) return;
    if (PROXY_KINDS.has(keyword)) {
      const name = args[0] && args[0] !== 'from' ? args[0] : '';
      const fromIndex = args.indexOf('from');
      // A proxy inherits the last `defaults` (or the one `from` names); a new `defaults` resets
      // everything, unless it too says `from`.
      const named = fromIndex >= 0 ? (defaultsByName.get(args[fromIndex + 1] ?? '') ?? null) : null;
      const parent = fromIndex >= 0 ? named : keyword === 'defaults' ? null : lastDefaults;
      current = inherit(keyword as Section['kind'], name, line, parent);
      if (keyword === 'defaults') {
        lastDefaults = current;
        if (name) defaultsByName.set(name, current);
      } else sections.push(current);
      return;
    }
    if (OTHER_SECTIONS.has(keyword)) {
      current = null;
      return;
    }
    if (current === null) return;
    const section: Section = current;
    switch (keyword) {
      case 'use_backend':
        if (args[0] && section.kind !== 'backend') section.useBackends.push({ target: args[0], line });
        break;
      case 'default_backend':
        if (args[0]) section.defaultBackend = args[0];
        break;
      case 'default-server':
        section.defaultServer = [...section.defaultServer, ...args];
        break;
      case 'server':
        if (section.kind === 'backend' || section.kind === 'listen') section.serverLines.push({ words: args, line });
        break;
      case 'server-template':
        if (section.kind === 'backend' || section.kind === 'listen') section.serverLines.push(...expandTemplate(args, line));
        break;
      case 'timeout': {
        const ms = args[1] === undefined ? null : parseTime(args[1]);
        if (args[0] && ms !== null) section.timeouts.set(args[0], ms);
        break;
      }
      case 'contimeout': {
        const ms = args[0] === undefined ? null : parseTime(args[0]);
        if (ms !== null) section.timeouts.set('connect', ms);
        break;
      }
      default:
        break;
    }
  });

  return {
    proxies: sections
      .filter((s): s is Section & { kind: ConfigProxy['kind'] } => s.kind !== 'defaults')
      .map((s) => ({
        kind: s.kind,
        name: s.name,
        line: s.line,
        useBackends: s.useBackends,
        // A backend never routes; `default_backend` inherited from defaults means nothing there.
        defaultBackend: s.kind === 'backend' ? null : s.defaultBackend,
        servers: s.serverLines.map((l) => buildServer(s.defaultServer, l.words, l.line)),
        timeoutQueueMs: s.timeouts.get('queue') ?? null,
        timeoutConnectMs: s.timeouts.get('connect') ?? null,
      })),
  };
}

function inherit(kind: Section['kind'], name: string, line: number, parent: Section | null): Section {
  return {
    kind,
    name,
    line,
    useBackends: [],
    defaultBackend: parent?.defaultBackend ?? null,
    defaultServer: [...(parent?.defaultServer ?? [])],
    serverLines: [],
    timeouts: new Map(parent?.timeouts ?? []),
  };
}

/** Server keywords nosrv reads that take the next word as their value. */
const SERVER_VALUE_WORDS: ReadonlySet<string> = new Set(['track', 'maxconn', 'inter', 'fastinter']);

function buildServer(defaults: readonly string[], words: readonly string[], line: number): ConfigServer {
  const [name = '', address = '', ...own] = words;
  const params = [...defaults, ...own];
  let check = false;
  let backup = false;
  let disabled = false;
  let track: string | null = null;
  let maxconn: number | null = null;
  let interMs = 2000;
  let fastinterMs: number | null = null;
  for (let i = 0; i < params.length; i++) {
    const word = params[i] ?? '';
    const next = params[i + 1];
    if (word === 'check') check = true;
    else if (word === 'no-check') check = false;
    else if (word === 'backup') backup = true;
    else if (word === 'no-backup') backup = false;
    else if (word === 'disabled') disabled = true;
    else if (word === 'enabled') disabled = false;
    else if (next !== undefined && SERVER_VALUE_WORDS.has(word)) {
      if (word === 'track') track = next;
      else if (word === 'maxconn') maxconn = Number(next) || null;
      else if (word === 'inter') interMs = parseTime(next) ?? interMs;
      else fastinterMs = parseTime(next);
      i++;
    }
  }
  return { name, address, check, backup, disabled, track, maxconn, interMs, fastinterMs, line };
}

/** `server-template web 1-3 10.0.0.1:80 check` -> web1, web2, web3. */
function expandTemplate(args: readonly string[], line: number): Array<{ words: string[]; line: number }> {
  const [prefix = '', range = '', ...rest] = args;
  const m = /^(\d+)(?:-(\d+))?$/.exec(range);
  if (!m) return [];
  const from = m[2] === undefined ? 1 : Number(m[1]);
  const to = m[2] === undefined ? Number(m[1]) : Number(m[2]);
  const out: Array<{ words: string[]; line: number }> = [];
  for (let n = from; n <= to && out.length < 10_000; n++) out.push({ words: [`${prefix}${n}`, ...rest], line });
  return out;
}

/** HAProxy's time format: a number with an optional unit (us, ms, s, m, h, d); ms by default. */
export function parseTime(text: string): number | null {
  const m = /^(\d+(?:\.\d+)?)(us|ms|s|m|h|d)?$/.exec(text);
  if (!m) return null;
  const factor = { us: 0.001, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] ?? 'ms'] ?? 0;
  return Number(m[1]) * factor;
}

/** Words of a line: whitespace-separated, with quotes, backslash escapes and `#` comments. */
export function splitWords(line: string): string[] {
  const words: string[] = [];
  let word = '';
  let quote: '"' | "'" | null = null;
  let inWord = false;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i] ?? '';
    if (quote) {
      if (ch === quote) quote = null;
      else if (ch === '\\' && quote === '"' && i + 1 < line.length) word += line[++i] ?? '';
      else word += ch;
      continue;
    }
    if (ch === '#') break;
    if (ch === '\\' && i + 1 < line.length) {
      word += line[++i] ?? '';
      inWord = true;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      inWord = true;
    } else if (ch === ' ' || ch === '\t' || ch === '\r') {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += ch;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  return words;
}
