// Why HAProxy answers 503 now (causes) and why it soon will (risks), for every backend, frontend
// and the process, with the evidence and the commands that fix it. A pure function of what was
// read: metrics, /explain and `nosrv explain` all show this one result.

import * as words from './diagnosisText.js';
import type { FindingText } from './diagnosisText.js';
import type { ConfigProxy, HaproxyConfig } from './parse/haproxyConfig.js';
import type { Logged503 } from './logs/ingest.js';
import type { ProcList } from './parse/showProc.js';
import type { Backend, Server, Snapshot } from './snapshot.js';
import type { StateEvent } from './watcher.js';

export const BACKEND_CAUSES = ['no_servers', 'servers_down', 'servers_maint', 'pool_exhausted'] as const;
export const BACKEND_RISKS = ['last_server_up', 'checks_failing', 'near_maxconn', 'queueing', 'servers_held'] as const;
export const FRONTEND_CAUSES = ['no_backend_match'] as const;
export const FRONTEND_RISKS = ['no_default_backend'] as const;
export const PROCESS_CAUSES = ['failed_reload'] as const;
export const PROCESS_RISKS = ['old_workers'] as const;
type BackendCause = (typeof BACKEND_CAUSES)[number];
type BackendRisk = (typeof BACKEND_RISKS)[number];
type FrontendCause = (typeof FRONTEND_CAUSES)[number];
type FrontendRisk = (typeof FRONTEND_RISKS)[number];
type ProcessCause = (typeof PROCESS_CAUSES)[number];
type ProcessRisk = (typeof PROCESS_RISKS)[number];

export type Verdict = 'failing' | 'at_risk' | 'ok';

export interface Finding {
  readonly code: string;
  readonly summary: string;
  readonly evidence: readonly string[];
  /** Commands and configuration lines a person can paste, nothing else. */
  readonly fix: readonly string[];
  /** What to do, in sentences, where a command alone would not say it. */
  readonly advice: readonly string[];
  /** The servers the finding is about, where it is about some of them (servers_held, checks_failing). */
  readonly servers?: readonly FindingServer[];
}

export interface FindingServer {
  readonly name: string;
  /** ISO time the server entered its state, where HAProxy says. */
  readonly since: string | null;
}

type FindingDetails = Pick<Finding, 'evidence' | 'fix' | 'advice'>;

/**
 * A finding whose evidence, fix and advice are made when first read, then kept: /metrics reads
 * only the codes, and most reads are never shown in words.
 */
class LaterFinding implements Finding {
  private made: FindingDetails | null = null;

  constructor(
    readonly code: string,
    readonly summary: string,
    private readonly details: () => FindingDetails,
    readonly servers?: readonly FindingServer[],
  ) {}

  get evidence(): readonly string[] {
    return this.texts().evidence;
  }

  get fix(): readonly string[] {
    return this.texts().fix;
  }

  get advice(): readonly string[] {
    return this.texts().advice;
  }

  /** As JSON, the plain finding: its getters are not its own properties. */
  toJSON(): Finding {
    return {
      code: this.code,
      summary: this.summary,
      evidence: this.evidence,
      fix: this.fix,
      advice: this.advice,
      ...(this.servers ? { servers: this.servers } : {}),
    };
  }

  private texts(): FindingDetails {
    return (this.made ??= this.details());
  }
}

export interface BackendDiagnosis {
  readonly name: string;
  readonly verdict: Verdict;
  readonly servers: {
    readonly total: number;
    readonly up: number;
    readonly down: number;
    readonly maint: number;
    readonly drain: number;
    readonly nolb: number;
    /** Servers whose `status` text nosrv does not know: no verdict is drawn from them. */
    readonly unknown: number;
    readonly backup_up: number;
  };
  readonly causes: readonly Finding[];
  readonly risks: readonly Finding[];
  /** From the configuration file: weaknesses that are not yet a risk. */
  readonly findings: readonly Finding[];
  readonly events: readonly StateEvent[];
  /** The last 503 lines HAProxy logged for this backend (with --logs.listen). */
  readonly recent_503: readonly Logged503[];
}

export interface FrontendDiagnosis {
  readonly name: string;
  readonly verdict: Verdict;
  readonly causes: readonly Finding[];
  readonly risks: readonly Finding[];
  readonly recent_503: readonly Logged503[];
}

/** What the logs tell the diagnosis (with --logs.listen). */
export interface LogEvidence {
  recent503(kind: 'backend' | 'frontend', name: string): readonly Logged503[];
  lastNoBackendMatch(frontend: string): number | null;
}

/** no_backend_match holds while such 503s were logged this recently. */
export const NO_BACKEND_MATCH_WINDOW_MS = 5 * 60_000;

export interface ProcessDiagnosis {
  readonly verdict: Verdict;
  /** False without --haproxy.master-socket: reloads and workers are then unknown. */
  readonly known: boolean;
  readonly causes: readonly Finding[];
  readonly risks: readonly Finding[];
}

export interface Diagnosis {
  readonly generated_at: string;
  readonly haproxy: { readonly up: boolean; readonly version: string | null; readonly error: string | null };
  readonly backends: readonly BackendDiagnosis[];
  readonly frontends: readonly FrontendDiagnosis[];
  readonly process: ProcessDiagnosis;
  /** What nosrv could not read, and so does not judge. */
  readonly unknown: readonly string[];
}

export interface DiagnosisInput {
  readonly now: number;
  readonly snapshot: Snapshot | null;
  readonly error: string | null;
  readonly events: (backend: string) => readonly StateEvent[];
  readonly procs: ProcList | null;
  readonly procsError: string | null;
  readonly config: HaproxyConfig | null;
  readonly configError: string | null;
  /** How to reach the runtime API from a shell, for `show` commands: `socat stdio /run/haproxy/user.sock`. */
  readonly socat: string;
  /** The same through the admin socket (--haproxy.admin-socket), for commands that change state. */
  readonly adminSocat: string | null;
  readonly masterSocat: string | null;
  readonly configPath: string | null;
  readonly logs: LogEvidence | null;
}

export function diagnose(input: DiagnosisInput): Diagnosis {
  const { snapshot } = input;
  const configProxies = new Map((input.config?.proxies ?? []).map((p) => [p.name, p]));
  const unknown = [...(snapshot?.unknown ?? [])];
  if (input.procsError) unknown.push(`reloads and workers: ${input.procsError}`);
  if (input.configError) unknown.push(`the configuration file: ${input.configError}`);

  const cmd: Commands = {
    show: (command) => `echo '${command}' | ${input.socat}`,
    admin: (command) => `echo '${command}' | ${input.adminSocat ?? 'socat stdio <admin socket>'}`,
    adminNote: input.adminSocat === null ? words.ADMIN_SOCKET_NOTE : null,
  };
  const backends = (snapshot?.backends ?? []).map((b) => diagnoseBackend(b, configProxies.get(b.name) ?? null, input, cmd));
  const frontendNames = new Set([
    ...(snapshot?.frontends ?? []).map((f) => f.name),
    ...(input.config?.proxies ?? []).filter((p) => p.kind !== 'backend').map((p) => p.name),
  ]);
  const frontends = [...frontendNames].map((name) => diagnoseFrontend(name, configProxies.get(name) ?? null, input));
  return {
    generated_at: new Date(input.now).toISOString(),
    haproxy: { up: snapshot !== null, version: snapshot?.info?.version ?? input.procs?.master.version ?? null, error: input.error },
    backends: order(backends),
    frontends: order(frontends),
    process: diagnoseProcess(input),
    unknown,
  };
}

const RANK: Record<Verdict, number> = { failing: 0, at_risk: 1, ok: 2 };

/** Failing first, then at risk, each in HAProxy's order (sort is stable). */
function order<T extends { verdict: Verdict }>(items: T[]): T[] {
  return items.sort((a, b) => RANK[a.verdict] - RANK[b.verdict]);
}

function verdictOf(causes: readonly Finding[], risks: readonly Finding[]): Verdict {
  return causes.length > 0 ? 'failing' : risks.length > 0 ? 'at_risk' : 'ok';
}

// --- backends ------------------------------------------------------------------------------

/**
 * Shared by the backends that have none: a healthy backend's diagnosis makes no list of its servers
 * or findings. Not frozen: V8 runs `for...of` over a frozen array through its iterator, making an
 * object per step, and the metrics loop over every backend's findings on every scrape.
 */
const NONE: readonly never[] = [];

/** Runtime API commands as shell lines a person can paste. */
export interface Commands {
  /** Read only: nosrv's own socket answers them. */
  show(command: string): string;
  /** Changes HAProxy's state: only a `level admin` socket accepts it. */
  admin(command: string): string;
  /** Where the admin socket is not known: which socket to use, said once per finding. */
  readonly adminNote: string | null;
}

/** What a backend's rules read: the backend, its servers by condition, its configuration, and how to write commands. */
export interface BackendFacts {
  readonly backend: Backend;
  readonly config: ConfigProxy | null;
  readonly usable: readonly Server[];
  /** DOWN or NOLB. */
  readonly down: readonly Server[];
  /** MAINT or DRAIN. */
  readonly held: readonly Server[];
  /** How long a request may wait in the queue: "timeout queue", else "timeout connect"; null without the configuration. */
  readonly queueBudget: number | null;
  readonly now: number;
  readonly cmd: Commands;
}

/** What a rule found once: its words, and the servers it is about where it is about some. */
interface Found {
  readonly text: FindingText;
  readonly servers?: readonly Server[];
}

/** A cause or a risk: what it finds in the facts, nothing when it does not hold. */
interface Rule<Code extends string, Facts> {
  readonly code: Code;
  find(facts: Facts): readonly Found[];
}

/** A rule that holds once for the object or not at all, worded by `text`. */
function once<Code extends string, Facts>(
  code: Code,
  holds: (f: Facts) => boolean,
  text: (f: Facts) => FindingText,
  servers?: (f: Facts) => readonly Server[],
): Rule<Code, Facts> {
  return { code, find: (f) => (holds(f) ? [{ text: text(f), servers: servers?.(f) }] : NONE) };
}

function laterFinding(code: string, { text, servers }: Found): Finding {
  return new LaterFinding(code, text.summary, text.details, servers ? findingServers(servers) : undefined);
}

/** No server can take a request although the backend has some. */
const noneUsable = (f: BackendFacts): boolean => f.backend.noUsableServer && f.backend.counts.total > 0;

function atMaxconn(s: Server): boolean {
  return s.sessions.limit !== null && s.sessions.limit > 0 && s.sessions.current >= s.sessions.limit;
}

function utilization(b: Backend): number | null {
  return b.capacity ? b.capacity.sessions / b.capacity.limit : null;
}

const BACKEND_CAUSE_RULES: ReadonlyArray<Rule<BackendCause, BackendFacts>> = [
  once('no_servers', (f) => f.backend.counts.total === 0, words.noServers),
  once('servers_down', (f) => noneUsable(f) && f.down.length > 0, words.serversDown),
  once('servers_maint', (f) => noneUsable(f) && f.held.length > 0, words.serversMaint),
  once('pool_exhausted', (f) => f.backend.queue > 0 && f.usable.length > 0 && f.usable.every(atMaxconn), words.poolExhausted),
];

const BACKEND_RISK_RULES: ReadonlyArray<Rule<BackendRisk, BackendFacts>> = [
  {
    code: 'last_server_up',
    find: (f) => {
      const last = f.backend.counts.usable === 1 ? f.usable[0] : undefined;
      return last ? [{ text: words.lastServerUp(f, last, isFailing(last)) }] : NONE;
    },
  },
  // One finding per server whose checks fail while it still takes requests.
  {
    code: 'checks_failing',
    find: (f) => (f.backend.counts.checksFailing === 0 ? NONE : f.usable.filter(isFailing).map((s) => ({ text: words.checksFailing(f, s), servers: [s] }))),
  },
  // near_maxconn and queueing stay raised while pool_exhausted holds: an alert on them must not go quiet as it worsens.
  {
    code: 'near_maxconn',
    find: (f) => {
      const used = utilization(f.backend);
      return used !== null && used >= 0.9 ? [{ text: words.nearMaxconn(f, used) }] : NONE;
    },
  },
  once('queueing', (f) => f.backend.queue > 0, words.queueing),
  once(
    'servers_held',
    (f) => f.backend.counts.usable > 0 && f.held.length > 0,
    words.serversHeld,
    (f) => f.held,
  ),
];

/**
 * A backend's facts. Its lists of servers are made when a rule first reads them: the rules ask the
 * counts first, and most backends are healthy and need none.
 */
class ReadBackendFacts implements BackendFacts {
  readonly queueBudget: number | null;
  private usableServers: readonly Server[] | null = null;
  private downServers: readonly Server[] | null = null;
  private heldServers: readonly Server[] | null = null;

  constructor(
    readonly backend: Backend,
    readonly config: ConfigProxy | null,
    readonly now: number,
    readonly cmd: Commands,
  ) {
    this.queueBudget = config ? (config.timeoutQueueMs ?? config.timeoutConnectMs) : null;
  }

  // `backend.servers` is read only where the counts say a list has servers: reading it makes them.
  get usable(): readonly Server[] {
    const b = this.backend;
    return (this.usableServers ??= b.counts.usable === b.counts.total ? b.servers : b.servers.filter((s) => s.usable));
  }

  get down(): readonly Server[] {
    const b = this.backend;
    return (this.downServers ??= b.counts.down + b.counts.nolb > 0 ? b.servers.filter((s) => s.state === 'down' || s.state === 'nolb') : NONE);
  }

  get held(): readonly Server[] {
    const b = this.backend;
    return (this.heldServers ??= b.counts.maint + b.counts.drain > 0 ? b.servers.filter((s) => s.state === 'maint' || s.state === 'drain') : NONE);
  }
}

function diagnoseBackend(b: Backend, config: ConfigProxy | null, input: DiagnosisInput, cmd: Commands): BackendDiagnosis {
  const facts = new ReadBackendFacts(b, config, input.now, cmd);
  const causes = findingsOf(BACKEND_CAUSE_RULES, facts);
  const risks = findingsOf(BACKEND_RISK_RULES, facts);
  return {
    name: b.name,
    verdict: verdictOf(causes, risks),
    servers: {
      total: b.counts.total,
      up: b.counts.usable,
      down: b.counts.down,
      maint: b.counts.maint,
      drain: b.counts.drain,
      nolb: b.counts.nolb,
      unknown: b.counts.unknown,
      backup_up: b.counts.backupUsable,
    },
    causes,
    risks,
    findings: config ? configFindings(config) : NONE,
    events: input.events(b.name),
    recent_503: input.logs?.recent503('backend', b.name) ?? [],
  };
}

function findingsOf<Facts>(rules: ReadonlyArray<Rule<string, Facts>>, facts: Facts): readonly Finding[] {
  let findings: Finding[] | null = null;
  for (const rule of rules) for (const found of rule.find(facts)) (findings ??= []).push(laterFinding(rule.code, found));
  return findings ?? NONE;
}

function isFailing(s: Server): boolean {
  return s.check?.failing === true;
}

function findingServers(servers: readonly Server[]): FindingServer[] {
  return servers.map((s) => ({ name: s.name, since: s.lastChangeAt === null ? null : new Date(s.lastChangeAt).toISOString() }));
}

/** The configuration's weaknesses that are not yet a risk. */
function configFindings(config: ConfigProxy): Finding[] {
  const findings: Finding[] = [];
  const servers = config.servers;
  const unchecked = servers.filter((s) => !s.check && s.track === null);
  if (servers.length > 1 && unchecked.length > 0) findings.push(laterFinding('servers_without_check', { text: words.serversWithoutCheck(config, unchecked) }));
  const active = servers.filter((s) => !s.backup);
  if (active.length === 1 && servers.every((s) => !s.backup)) findings.push(laterFinding('single_server', { text: words.singleServer(config, active[0]) }));
  const limited = servers.filter((s) => s.maxconn !== null);
  if (limited.length > 0 && config.timeoutQueueMs === null) findings.push(laterFinding('no_timeout_queue', { text: words.noTimeoutQueue(config, limited) }));
  return findings;
}

// --- frontends and the process -------------------------------------------------------------

/** What a frontend's rules read. */
export interface FrontendFacts {
  readonly name: string;
  readonly config: ConfigProxy | null;
  readonly now: number;
  readonly configPath: string | null;
  /** The 503s HAProxy logged for it lately, and when the last one that matched no use_backend rule was (ms). */
  readonly recent: readonly Logged503[];
  readonly lastNoMatch: number | null;
}

const FRONTEND_CAUSE_RULES: ReadonlyArray<Rule<FrontendCause, FrontendFacts>> = [
  {
    code: 'no_backend_match',
    find: (f) => (f.lastNoMatch !== null && f.now - f.lastNoMatch < NO_BACKEND_MATCH_WINDOW_MS ? [{ text: words.noBackendMatch(f, f.lastNoMatch) }] : []),
  },
];

const FRONTEND_RISK_RULES: ReadonlyArray<Rule<FrontendRisk, FrontendFacts>> = [
  {
    code: 'no_default_backend',
    // A `listen` with servers of its own serves what no rule matched.
    find: (f) => {
      const { config } = f;
      return config && config.useBackends.length > 0 && config.defaultBackend === null && !(config.kind === 'listen' && config.servers.length > 0)
        ? [{ text: words.noDefaultBackend(f, config) }]
        : [];
    },
  },
];

function diagnoseFrontend(name: string, config: ConfigProxy | null, input: DiagnosisInput): FrontendDiagnosis {
  const facts: FrontendFacts = {
    name,
    config,
    now: input.now,
    configPath: input.configPath,
    recent: input.logs?.recent503('frontend', name) ?? [],
    lastNoMatch: input.logs?.lastNoBackendMatch(name) ?? null,
  };
  const causes = findingsOf(FRONTEND_CAUSE_RULES, facts);
  const risks = findingsOf(FRONTEND_RISK_RULES, facts);
  return { name, verdict: verdictOf(causes, risks), causes, risks, recent_503: facts.recent };
}

type Worker = ProcList['workers'][number];

/** What the process's rules read, from the master CLI's `show proc`. */
export interface ProcessFacts {
  readonly procs: ProcList;
  /** The current worker; null where the version lists none after a failed reload. */
  readonly current: Worker | null;
  /** The worker that serves: the current one, else the youngest old one. */
  readonly serving: Worker | null;
  /** Reloads failed since the last good one (0 where the version does not count them). */
  readonly failed: number;
  /** Old workers other than the one serving. */
  readonly oldWorkers: readonly Worker[];
  readonly configPath: string | null;
  readonly masterSocat: string | null;
}

const PROCESS_CAUSE_RULES: ReadonlyArray<Rule<ProcessCause, ProcessFacts>> = [
  {
    code: 'failed_reload',
    // After a failed reload the worker it meant to replace still serves: HAProxy 2.6 lists it as
    // the current worker, having lived through the reload; 2.2 and 3.x list no current worker, and
    // it among the old ones (the youngest). 2.6 and 3.x also count failures since the last good one.
    find: (f) => (f.serving && (f.failed > 0 || (f.current?.reloads ?? 0) > 0 || f.current === null) ? [{ text: words.failedReload(f, f.serving) }] : []),
  },
];

const PROCESS_RISK_RULES: ReadonlyArray<Rule<ProcessRisk, ProcessFacts>> = [once('old_workers', (f) => f.oldWorkers.length > 0, words.oldWorkers)];

function diagnoseProcess(input: DiagnosisInput): ProcessDiagnosis {
  const procs = input.procs;
  if (procs === null) return { verdict: 'ok', known: false, causes: [], risks: [] };
  const current = procs.workers[0] ?? null;
  const serving = current ?? youngest(procs.oldWorkers);
  const facts: ProcessFacts = {
    procs,
    current,
    serving,
    failed: procs.master.failedReloads ?? 0,
    oldWorkers: procs.oldWorkers.filter((w) => w !== serving),
    configPath: input.configPath,
    masterSocat: input.masterSocat,
  };
  const causes = findingsOf(PROCESS_CAUSE_RULES, facts);
  const risks = findingsOf(PROCESS_RISK_RULES, facts);
  return { verdict: verdictOf(causes, risks), known: true, causes, risks };
}

/** The worker started last: the shortest uptime. */
function youngest(workers: readonly Worker[]): Worker | null {
  return workers.reduce<Worker | null>((best, w) => (best === null || w.uptimeSeconds < best.uptimeSeconds ? w : best), null);
}
