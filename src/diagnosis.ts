// Why HAProxy answers 503 now (causes) and why it soon will (risks), for every backend, frontend
// and the process, with the evidence and the commands that fix it. A pure function of what was
// read: metrics, /explain and `nosrv explain` all show this one result.

import { isFailedCheck } from './parse/checkStatus.js';
import type { ConfigProxy, ConfigServer, HaproxyConfig } from './parse/haproxyConfig.js';
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
 * A finding whose evidence, fix and advice are made when first read, then kept. /metrics reads
 * only the codes; with every server of 1,000 backends DOWN, making these texts for each read was
 * a fifth of a scrape's CPU and most of its garbage. They read the snapshot's servers, so, like
 * the snapshot's rows, they are read before the next read begins (/explain and `nosrv explain`
 * render as soon as their read is done).
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
    return { code: this.code, summary: this.summary, evidence: this.evidence, fix: this.fix, advice: this.advice, ...(this.servers ? { servers: this.servers } : {}) };
  }

  private texts(): FindingDetails {
    return (this.made ??= this.details());
  }
}

export interface BackendDiagnosis {
  readonly name: string;
  readonly verdict: Verdict;
  readonly servers: { readonly total: number; readonly up: number; readonly down: number; readonly maint: number; readonly drain: number; readonly nolb: number; readonly backup_up: number };
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
    adminNote: input.adminSocat === null ? ADMIN_SOCKET_NOTE : null,
  };
  const backends = (snapshot?.backends ?? []).map((b) => diagnoseBackend(b, configProxies.get(b.name) ?? null, input, cmd));
  const frontendNames = new Set([...(snapshot?.frontends ?? []).map((f) => f.name), ...(input.config?.proxies ?? []).filter((p) => p.kind !== 'backend').map((p) => p.name)]);
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

/** Shared by the backends that have none: a healthy backend's diagnosis makes no list of its servers. */
const NONE: readonly never[] = Object.freeze([]);

/** Runtime API commands as shell lines a person can paste. */
interface Commands {
  /** Read only: nosrv's own socket answers them. */
  show(command: string): string;
  /** Changes HAProxy's state: only a `level admin` socket accepts it. */
  admin(command: string): string;
  /** Where the admin socket is not known: which socket to use, said once per finding. */
  readonly adminNote: string | null;
}

const ADMIN_SOCKET_NOTE =
  'Run these through HAProxy\'s admin socket (a "stats socket ... level admin" line): the socket nosrv reads is "level user" and refuses them. Start nosrv with --haproxy.admin-socket=PATH to print its path here.';

function diagnoseBackend(b: Backend, config: ConfigProxy | null, input: DiagnosisInput, cmd: Commands): BackendDiagnosis {
  const causes: Finding[] = [];
  const risks: Finding[] = [];
  const now = input.now;
  // From the counts first: at 1,000 backends, three lists and their closures a read otherwise.
  const usable = b.counts.usable === b.counts.total ? b.servers : b.servers.filter((s) => s.usable);
  const down = b.counts.down + b.counts.nolb > 0 ? b.servers.filter((s) => s.state === 'down' || s.state === 'nolb') : NONE;
  const held = b.counts.maint + b.counts.drain > 0 ? b.servers.filter((s) => s.state === 'maint' || s.state === 'drain') : NONE;

  if (b.counts.total === 0) {
    causes.push(
      new LaterFinding('no_servers', `${b.name} has no server at all: HAProxy answers 503 to every request sent to it.`, () => ({
        evidence: [`show stat lists no server under ${b.name}${config ? ` (the configuration's backend at line ${config.line} has no "server" line)` : ''}.`],
        fix: [`backend ${b.name}\n    server app1 <address>:<port> check`],
        advice: [`Add a server to the backend and reload HAProxy, or stop routing here: remove the "use_backend ${b.name}" rules.`],
      })),
    );
  } else if (usable.length === 0) {
    if (down.length > 0) {
      causes.push(
        new LaterFinding('servers_down', `No server of ${b.name} can take a request: ${count(down.length, 'server is', 'servers are')} DOWN by health checks${held.length ? ` and ${count(held.length, 'is', 'are')} held in MAINT/DRAIN` : ''}. HAProxy answers 503.`, () => ({
          evidence: down.map((s) => serverEvidence(s, now)),
          ...downFixes(b, down, cmd, config),
        })),
      );
    }
    if (held.length > 0) {
      causes.push(
        new LaterFinding('servers_maint', `No server of ${b.name} can take a request: ${count(held.length, 'server is', 'servers are')} held in MAINT or DRAIN${down.length ? ` and the others are DOWN` : ''}. HAProxy answers 503.`, () => ({
          evidence: held.map((s) => serverEvidence(s, now)),
          ...heldFixes(held, cmd),
        })),
      );
    }
  }

  const queueBudget = config ? (config.timeoutQueueMs ?? config.timeoutConnectMs) : null;
  if (b.queue > 0 && usable.length > 0 && usable.every((s) => s.sessions.limit !== null && s.sessions.limit > 0 && s.sessions.current >= s.sessions.limit)) {
    causes.push(
      new LaterFinding('pool_exhausted', `Every usable server of ${b.name} is at maxconn and ${count(b.queue, 'request waits', 'requests wait')} in the queue: they get 503 once "timeout queue" passes${queueBudget !== null ? ` (${formatMs(queueBudget)})` : ''}.`, () => ({
        evidence: [...capacityEvidence(usable), `${b.queue} queued in the backend (qcur).`],
        ...capacityFixes(b, usable, cmd, queueBudget),
      })),
    );
  }

  if (usable.length === 1 && b.counts.total > 0) {
    const last = usable[0] as Server;
    const failing = isFailing(last);
    const hasBackup = b.servers.some((s) => s.backup);
    const summary = failing
      ? `${b.name} runs on its last usable server ${last.name}, and ${last.name} is failing health checks: ${untilDown(last, configServerOf(config, last.name))} every request gets 503.`
      : b.counts.total === 1
        ? `${b.name} has a single server, ${last.name}: if it fails, every request gets 503.`
        : `${b.name} runs on its last usable server, ${last.name} (${b.counts.total - 1} of ${b.counts.total} cannot take requests): one more failure and every request gets 503.`;
    risks.push(
      new LaterFinding('last_server_up', summary, () => {
        const release = heldFixes(held, cmd);
        return {
          evidence: [serverEvidence(last, now), ...b.servers.filter((s) => !s.usable).map((s) => serverEvidence(s, now))],
          fix: [...release.fix, ...(hasBackup ? [] : [`backend ${b.name}\n    server fallback <address>:<port> check backup`])],
          advice: [
            ...release.advice,
            ...(down.length > 0 ? [`Bring the DOWN servers back (${down.map((s) => s.name).join(', ')}): their check results are above.`] : []),
            ...(hasBackup ? [] : ['A backup server serves when the others cannot, so a failure shows a page instead of a 503.']),
          ],
        };
      }),
    );
  }

  for (const s of usable) {
    if (!isFailing(s)) continue;
    const lastOne = usable.length === 1;
    risks.push(
      new LaterFinding('checks_failing', `${s.name} in ${b.name} is failing health checks (${checkText(s)}): ${untilDown(s, configServerOf(config, s.name))}${lastOne ? ' HAProxy marks it DOWN, and it is the last usable server: then every request gets 503.' : ' HAProxy marks it DOWN.'}`, () => ({
        evidence: [serverEvidence(s, now), ...(s.check?.health !== null && s.check?.rise !== null ? [`health ${s.check?.health} (UP while health >= rise ${s.check?.rise}, fall ${s.check?.fall}).`] : [])],
        ...checkFixes(b, s, cmd, configServerOf(config, s.name)),
      }), findingServers([s])),
    );
  }

  // These stay raised while pool_exhausted holds: an alert on them must not go quiet as it worsens.
  const utilization = b.capacity ? b.capacity.sessions / b.capacity.limit : null;
  if (utilization !== null && utilization >= 0.9) {
    risks.push(
      new LaterFinding('near_maxconn', `${b.name} uses ${Math.round(utilization * 100)}% of its servers' maxconn: at 100% new requests queue, then get 503.`, () => ({
        evidence: capacityEvidence(usable),
        ...capacityFixes(b, usable, cmd, queueBudget),
      })),
    );
  }
  if (b.queue > 0) {
    risks.push(
      new LaterFinding('queueing', `${count(b.queue, 'request is', 'requests are')} waiting in ${b.name}'s queue: if they wait past "timeout queue"${queueBudget !== null ? ` (${formatMs(queueBudget)})` : ''} they get 503.`, () => ({
        evidence: [`${b.queue} queued in the backend (qcur).`, ...capacityEvidence(usable)],
        ...capacityFixes(b, usable, cmd, queueBudget),
      })),
    );
  }

  if (usable.length > 0 && held.length > 0) {
    risks.push(
      new LaterFinding('servers_held', `${count(held.length, 'server', 'servers')} of ${b.name} ${held.length === 1 ? 'is' : 'are'} held in MAINT or DRAIN while ${usable.length} serve${usable.length === 1 ? 's' : ''}: forgotten after a deploy, ${held.length === 1 ? 'it takes' : 'they take'} capacity away.`, () => ({
        evidence: held.map((s) => serverEvidence(s, now)),
        ...heldFixes(held, cmd),
      }), findingServers(held)),
    );
  }

  return {
    name: b.name,
    verdict: verdictOf(causes, risks),
    servers: { total: b.counts.total, up: b.counts.usable, down: b.counts.down, maint: b.counts.maint, drain: b.counts.drain, nolb: b.counts.nolb, backup_up: b.counts.backupUsable },
    causes,
    risks,
    findings: config ? backendFindings(config) : NONE,
    events: input.events(b.name),
    recent_503: input.logs?.recent503('backend', b.name) ?? [],
  };
}

function configServerOf(config: ConfigProxy | null, name: string): ConfigServer | null {
  return config?.servers.find((s) => s.name === name) ?? null;
}

/** The servers with a maxconn. */
function limitedOf(servers: readonly Server[]): Server[] {
  return servers.filter((s) => s.sessions.limit !== null && s.sessions.limit > 0);
}

function capacityEvidence(usable: readonly Server[]): string[] {
  return limitedOf(usable).map((s) => `${s.name}: ${s.sessions.current}/${s.sessions.limit} sessions (maxconn)`);
}

function capacityFixes(b: Backend, usable: readonly Server[], cmd: Commands, queueBudget: number | null): Pick<Finding, 'fix' | 'advice'> {
  return {
    fix: limitedOf(usable).map((s) => cmd.admin(`set maxconn server ${b.name}/${s.name} ${(s.sessions.limit as number) * 2}`)),
    advice: [
      'Raise maxconn at runtime only as far as the servers can take it; add servers to the backend, and raise "maxconn" on the server lines in the configuration.',
      `Requests wait in the queue at most "timeout queue"${queueBudget !== null ? ` (now ${formatMs(queueBudget)})` : ''}; a longer one trades 503s for slow answers.`,
      ...(cmd.adminNote && limitedOf(usable).length > 0 ? [cmd.adminNote] : []),
    ],
  };
}

/**
 * The last check failed while the server still takes requests. Not "health below its top":
 * HAProxy starts servers at health = rise, so that is also true of a healthy server before its
 * first check.
 */
function isFailing(s: Server): boolean {
  const c = s.check;
  return c !== null && !c.paused && c.status !== null && isFailedCheck(c.status);
}

function untilDown(s: Server, config: ConfigServer | null): string {
  const left = s.check?.failuresUntilDown;
  if (left === null || left === undefined) return 'it may go DOWN soon;';
  const interval = config ? (config.fastinterMs ?? config.interMs) : null;
  return `${count(left, 'more failed check', 'more failed checks')}${interval !== null ? ` (about ${formatMs(left * interval)})` : ''} and`;
}

function checkText(s: Server): string {
  const c = s.check;
  if (!c?.status) return 'no result yet';
  return [c.status, c.detail ?? c.description].filter(Boolean).join(' ');
}

function serverEvidence(s: Server, now: number): string {
  const age = s.lastChangeAt === null ? null : now - s.lastChangeAt;
  const since = age === null ? '' : age < 1000 ? ' for under a second' : ` for ${formatMs(age)}`;
  const parts = [`${s.name}${s.backup ? ' (backup)' : ''}: ${s.status || s.state.toUpperCase()}${since}`];
  if (s.held.length > 0 && (s.state === 'maint' || s.state === 'drain')) parts.push(`held: ${s.held.map(holdText).join(', ')}`);
  if (s.check?.status) parts.push(`last check ${checkText(s)}${s.check.paused ? ' (checks paused)' : ''}`);
  if (s.tracks) parts.push(`tracks ${s.tracks}`);
  if (s.sessions.limit) parts.push(`${s.sessions.current}/${s.sessions.limit} sessions`);
  if (s.address) parts.push(`address ${s.address}`);
  return parts.join('; ');
}

function holdText(reason: string): string {
  return (
    {
      forced: 'set by an operator (set server ... state)',
      inherited: 'inherited from the tracked server',
      config: '"disabled" in the configuration',
      resolution: 'its name does not resolve',
      agent: 'the agent check said so',
      weight_zero: 'weight 0',
      unknown: 'reason unknown (the stats page does not say)',
    }[reason] ?? reason
  );
}

function downFixes(b: Backend, down: readonly Server[], cmd: Commands, config: ConfigProxy | null): Pick<Finding, 'fix' | 'advice'> {
  const fix: string[] = [];
  // Each thing to say is said once for all the servers it is true of: ten servers refused at one
  // address are one sentence and one probe, not ten of each.
  const advice = new Map<string, { servers: Server[]; say: (servers: readonly Server[]) => string }>();
  const say = (key: string, s: Server, text: (servers: readonly Server[]) => string): void => {
    const said = advice.get(key);
    if (said) said.servers.push(s);
    else advice.set(key, { servers: [s], say: text });
  };
  for (const s of down) {
    if (s.tracks) {
      const tracked = s.tracks;
      say(`tracks ${tracked}`, s, (servers) =>
        servers.length === 1 ? `${nameList(servers)} follows ${tracked}: fix that server and ${nameList(servers)} follows.` : `${nameList(servers)} follow ${tracked}: fix that server and they follow.`,
      );
      continue;
    }
    const status = s.check?.status ?? '';
    const address = s.address ?? '<address>';
    if (status.startsWith('L4') || status === 'SOCKERR') {
      const what = status === 'L4TOUT' ? 'nothing answers in time at' : 'nothing accepts connections at';
      say(what, s, (servers) => {
        const addresses = new Set(servers.map((x) => x.address ?? '<address>'));
        const one = addresses.size === 1;
        return `${nameList(servers)}: ${what} ${one ? [...addresses][0] : 'their addresses'}; start or fix the ${one ? 'service' : 'services'} there (try it from the HAProxy host).`;
      });
      fix.push(`nc -zv -w3 ${address.replace(/:(\d+)$/, ' $1')}`);
    } else if (status.startsWith('L7') || status.startsWith('L6')) {
      const check = checkText(s);
      say(`fails ${check}`, s, (servers) => `${nameList(servers)}: the service answers but fails the check (${check}); try the check's request from the HAProxy host.`);
      fix.push(`curl -sv --max-time 5 http://${address}/`);
    } else {
      fix.push(cmd.show(`show servers state ${b.name}`));
    }
    const rise = s.check?.rise;
    if (rise) {
      const interMs = configServerOf(config, s.name)?.interMs;
      const after = `${count(rise, 'good check', 'good checks')}${interMs ? ` (about ${formatMs(rise * interMs)})` : ''}`;
      say(`rise ${after}`, s, (servers) => `Once ${servers.length === 1 ? 'it answers' : 'they answer'}, HAProxy marks ${nameList(servers)} UP after ${after}.`);
    }
  }
  const first = down.find((s) => !s.tracks);
  const sentences = [...advice.values()].map(({ servers, say: text }) => text(servers));
  if (first) {
    sentences.push(`If the service is healthy and only the check is wrong, "set server ... health up" forces ${first.name} UP until its next check.`);
    if (cmd.adminNote) sentences.push(cmd.adminNote);
    fix.push(cmd.admin(`set server ${b.name}/${first.name} health up`));
  }
  // Servers at one address (or with no check to say more) would repeat the same command.
  return { fix: [...new Set(fix)], advice: sentences };
}

function findingServers(servers: readonly Server[]): FindingServer[] {
  return servers.map((s) => ({ name: s.name, since: s.lastChangeAt === null ? null : new Date(s.lastChangeAt).toISOString() }));
}

/** Servers' names for a sentence: the first three, then how many more (the evidence lists each). */
function nameList(servers: readonly Server[]): string {
  const names = servers.map((s) => s.name);
  if (names.length === 1) return names[0] as string;
  if (names.length <= 4) return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
  return `${names.slice(0, 3).join(', ')} and ${names.length - 3} more`;
}

function heldFixes(held: readonly Server[], cmd: Commands): Pick<Finding, 'fix' | 'advice'> {
  const fix: string[] = [];
  const advice: string[] = [];
  for (const s of held) {
    const path = `${s.backend}/${s.name}`;
    if (s.held.includes('inherited')) advice.push(`${s.name} follows ${s.tracks ?? 'the server it tracks'}: set that one ready and ${s.name} follows.`);
    else if (s.held.includes('resolution')) advice.push(`${s.name}: its name does not resolve; check DNS and the "resolvers" section.`);
    else if (s.held.includes('agent')) advice.push(`${s.name}: its agent check asked for DRAIN; fix it on the server's agent.`);
    else if (s.held.includes('weight_zero')) fix.push(cmd.admin(`set server ${path} weight 100%`));
    else {
      fix.push(cmd.admin(`set server ${path} state ready`));
      if (s.held.includes('config')) advice.push(`${s.name} is "disabled" in the configuration: remove that word from its server line, or the next reload holds it again.`);
    }
  }
  if (fix.length > 0 && cmd.adminNote) advice.push(cmd.adminNote);
  return { fix, advice };
}

function checkFixes(b: Backend, s: Server, cmd: Commands, config: ConfigServer | null): Pick<Finding, 'fix' | 'advice'> {
  const address = s.address ?? '<address>';
  return {
    fix: [cmd.show(`show servers state ${b.name}`), s.check?.status?.startsWith('L7') ? `curl -sv --max-time 5 http://${address}/` : `nc -zv -w3 ${address.replace(/:(\d+)$/, ' $1')}`],
    advice: [
      'See what the check sees, and try the same from the HAProxy host.',
      ...(config ? [`The check runs every ${formatMs(config.fastinterMs ?? config.interMs)} while it fails (line ${config.line} of the configuration).`] : []),
    ],
  };
}

function backendFindings(config: ConfigProxy): Finding[] {
  const findings: Finding[] = [];
  const servers = config.servers;
  const unchecked = servers.filter((s) => !s.check && s.track === null);
  if (servers.length > 1 && unchecked.length > 0) {
    findings.push(
      new LaterFinding('servers_without_check', `${count(unchecked.length, 'server', 'servers')} of ${config.name} ${unchecked.length === 1 ? 'has' : 'have'} no health check: HAProxy keeps sending requests to ${unchecked.length === 1 ? 'it' : 'them'} when ${unchecked.length === 1 ? 'it dies' : 'they die'}.`, () => ({
        evidence: unchecked.map((s) => `line ${s.line}: server ${s.name} ${s.address} (no "check")`),
        fix: [`backend ${config.name}\n    default-server check`],
        advice: ['Add "check" to each server line, or "default-server check" to the backend.'],
      })),
    );
  }
  const active = servers.filter((s) => !s.backup);
  if (active.length === 1 && servers.every((s) => !s.backup)) {
    findings.push(
      new LaterFinding('single_server', `${config.name} has a single server and no backup: when it fails, every request gets 503.`, () => ({
        evidence: [`line ${config.line}: backend ${config.name}, one server (${active[0]?.name})`],
        fix: [`backend ${config.name}\n    server fallback <address>:<port> check backup`],
        advice: ['Add a second server, or a backup that serves a maintenance page.'],
      })),
    );
  }
  const limited = servers.filter((s) => s.maxconn !== null);
  if (limited.length > 0 && config.timeoutQueueMs === null) {
    findings.push(
      new LaterFinding('no_timeout_queue', `${config.name}'s servers have maxconn but no "timeout queue" is set: queued requests wait "timeout connect"${config.timeoutConnectMs !== null ? ` (${formatMs(config.timeoutConnectMs)})` : ''}, then get 503.`, () => ({
        evidence: limited.map((s) => `line ${s.line}: server ${s.name} maxconn ${s.maxconn}`),
        fix: [`backend ${config.name}\n    timeout queue 10s`],
        advice: ['Say how long a request may wait for a free slot.'],
      })),
    );
  }
  return findings;
}

// --- frontends and the process -------------------------------------------------------------

function diagnoseFrontend(name: string, config: ConfigProxy | null, input: DiagnosisInput): FrontendDiagnosis {
  const causes: Finding[] = [];
  const risks: Finding[] = [];
  const recent = input.logs?.recent503('frontend', name) ?? [];
  const lastNoMatch = input.logs?.lastNoBackendMatch(name) ?? null;
  if (lastNoMatch !== null && input.now - lastNoMatch < NO_BACKEND_MATCH_WINDOW_MS) {
    causes.push({
      code: 'no_backend_match',
      summary: `${name} answers 503 to requests that match no use_backend rule: it has no default_backend. The last one was ${formatMs(input.now - lastNoMatch)} ago.`,
      evidence: recent.filter((r) => r.reason === 'no_backend_match').map((r) => `${r.at}: ${r.line}`),
      fix: [`${config?.kind ?? 'frontend'} ${name}\n    default_backend ${config?.useBackends[0]?.target ?? '<backend>'}`, `haproxy -c -f ${input.configPath ?? '<configuration file>'}`],
      advice: ['HAProxy logs these with its own frontend as the backend and <NOSRV> as the server. Route them on purpose: add a default_backend, or a use_backend rule for those requests, check the file, then reload.'],
    });
  }
  // A `listen` with servers of its own serves what no rule matched.
  if (config && config.useBackends.length > 0 && config.defaultBackend === null && !(config.kind === 'listen' && config.servers.length > 0)) {
    risks.push({
      code: 'no_default_backend',
      summary: `${name} routes with use_backend and has no default_backend: a request that no rule matches gets 503.`,
      evidence: [
        ...config.useBackends.map((u) => `line ${u.line}: use_backend ${u.target} ...`),
        `no "default_backend" in ${config.kind} ${name} (line ${config.line}) nor in its defaults section.`,
      ],
      fix: [`${config.kind} ${name}\n    default_backend ${config.useBackends[0]?.target ?? '<backend>'}`, `haproxy -c -f ${input.configPath ?? '<configuration file>'}`],
      advice: ['Send unmatched requests somewhere on purpose; check the file, then reload HAProxy.'],
    });
  }
  return { name, verdict: verdictOf(causes, risks), causes, risks, recent_503: recent };
}

function diagnoseProcess(input: DiagnosisInput): ProcessDiagnosis {
  const procs = input.procs;
  if (procs === null) return { verdict: 'ok', known: false, causes: [], risks: [] };
  const causes: Finding[] = [];
  const risks: Finding[] = [];
  // After a failed reload the worker it meant to replace still serves: HAProxy 2.6 lists it as
  // the current worker, having lived through the reload; 2.2 and 3.x list no current worker, and
  // it among the old ones (the youngest). 2.6 and 3.x also count failures since the last good one.
  const current = procs.workers[0] ?? null;
  const serving = current ?? youngest(procs.oldWorkers);
  const failed = procs.master.failedReloads ?? 0;
  const check = `haproxy -c -f ${input.configPath ?? '<configuration file>'}`;
  if (serving && (failed > 0 || (current?.reloads ?? 0) > 0 || current === null)) {
    causes.push({
      code: 'failed_reload',
      summary: `The last reload failed: HAProxy still runs the configuration it loaded ${formatMs(serving.uptimeSeconds * 1000)} ago, not the one in the file.`,
      evidence: [
        `master ${procs.master.pid}: ${procs.master.reloads} reloads${procs.master.failedReloads === null ? '' : `, ${failed} failed since the last good one`}.`,
        current
          ? `current worker ${current.pid} has lived through ${count(current.reloads, 'reload', 'reloads')}; a successful reload starts a new worker.`
          : `no current worker: worker ${serving.pid}, listed among the old ones, still serves; a successful reload starts a new worker.`,
      ],
      fix: [check, 'systemctl reload haproxy'],
      advice: ['The check prints the error that stopped the reload; fix it, check again, then reload.'],
    });
  }
  const oldWorkers = procs.oldWorkers.filter((w) => w !== serving);
  if (oldWorkers.length > 0) {
    risks.push({
      code: 'old_workers',
      summary: `${count(oldWorkers.length, 'old worker', 'old workers')} from earlier reloads still ${oldWorkers.length === 1 ? 'runs' : 'run'}, serving the old configuration to ${oldWorkers.length === 1 ? 'its' : 'their'} open connections.`,
      evidence: oldWorkers.map((w) => `old worker ${w.pid}: started ${formatMs(w.uptimeSeconds * 1000)} ago, ${count(w.reloads, 'reload', 'reloads')} behind.`),
      fix: [`echo 'show proc' | ${input.masterSocat ?? 'socat stdio <master socket>'}`, 'global\n    hard-stop-after 30m'],
      advice: ['Old workers leave when their last connection closes; "hard-stop-after" in the global section bounds how long that may take.'],
    });
  }
  return { verdict: verdictOf(causes, risks), known: true, causes, risks };
}

/** The worker started last: the shortest uptime. */
function youngest(workers: readonly ProcList['workers'][number][]): ProcList['workers'][number] | null {
  return workers.reduce<ProcList['workers'][number] | null>((best, w) => (best === null || w.uptimeSeconds < best.uptimeSeconds ? w : best), null);
}

// --- words -----------------------------------------------------------------------------------

function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * What is failing (or at risk), counted by kind and then by cause (or risk) code, most first:
 * "1000 backends: servers_down 990, servers_maint 10". Read first when many fail at once.
 */
export function tallyText(d: Diagnosis, verdict: 'failing' | 'at_risk'): string {
  const items = [...d.backends, ...d.frontends];
  const backends = d.backends.filter((b) => b.verdict === verdict).length;
  const frontends = d.frontends.filter((f) => f.verdict === verdict).length;
  const kinds = [
    ...(backends ? [count(backends, 'backend', 'backends')] : []),
    ...(frontends ? [count(frontends, 'frontend', 'frontends')] : []),
    ...(d.process.verdict === verdict ? ['the process'] : []),
  ];
  const codes = new Map<string, number>();
  for (const item of [...items, d.process].filter((i) => i.verdict === verdict)) {
    for (const f of verdict === 'failing' ? item.causes : item.risks) codes.set(f.code, (codes.get(f.code) ?? 0) + 1);
  }
  return `${kinds.join(', ')}: ${[...codes].sort((a, b) => b[1] - a[1]).map(([code, n]) => `${code} ${n}`).join(', ')}`;
}

export function formatMs(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h${m % 60 ? `${m % 60}m` : ''}`;
  return `${Math.floor(h / 24)}d`;
}
