// The diagnosis in words: each cause's and risk's summary, evidence, fix and advice, and the
// words the pages share (counts, durations, server lists). The rules that decide what holds are in
// diagnosis.ts; this file only says it.

import type { BackendFacts, Commands, Diagnosis, Finding, FrontendFacts, ProcessFacts } from './diagnosis.js';
import type { ConfigProxy, ConfigServer } from './parse/haproxyConfig.js';
import type { Backend, Server } from './snapshot.js';

type FindingDetails = Pick<Finding, 'evidence' | 'fix' | 'advice'>;

/** A finding's words: its summary now, the rest when first read (/metrics reads only codes). */
export interface FindingText {
  readonly summary: string;
  readonly details: () => FindingDetails;
}

export const ADMIN_SOCKET_NOTE =
  'Run these through HAProxy\'s admin socket (a "stats socket ... level admin" line): the socket nosrv reads is "level user" and refuses them. Start nosrv with --haproxy.admin-socket=PATH to print its path here.';

// --- backend causes and risks --------------------------------------------------------------

export function noServers({ backend: b, config }: BackendFacts): FindingText {
  return {
    summary: `${b.name} has no server at all: HAProxy answers 503 to every request sent to it.`,
    details: () => ({
      evidence: [`show stat lists no server under ${b.name}${config ? ` (the configuration's backend at line ${config.line} has no "server" line)` : ''}.`],
      fix: [`backend ${b.name}\n    server app1 <address>:<port> check`],
      advice: [`Add a server to the backend and reload HAProxy, or stop routing here: remove the "use_backend ${b.name}" rules.`],
    }),
  };
}

export function serversDown({ backend: b, down, held, now, cmd, config }: BackendFacts): FindingText {
  return {
    summary: `No server of ${b.name} can take a request: ${count(down.length, 'server is', 'servers are')} DOWN by health checks${held.length ? ` and ${count(held.length, 'is', 'are')} held in MAINT/DRAIN` : ''}. HAProxy answers 503.`,
    details: () => ({ evidence: down.map((s) => serverEvidence(s, now)), ...downFixes(b, down, cmd, config) }),
  };
}

export function serversMaint({ backend: b, down, held, now, cmd }: BackendFacts): FindingText {
  return {
    summary: `No server of ${b.name} can take a request: ${count(held.length, 'server is', 'servers are')} held in MAINT or DRAIN${down.length ? ` and the others are DOWN` : ''}. HAProxy answers 503.`,
    details: () => ({ evidence: held.map((s) => serverEvidence(s, now)), ...heldFixes(held, cmd) }),
  };
}

export function poolExhausted({ backend: b, usable, cmd, queueBudget }: BackendFacts): FindingText {
  return {
    summary: `Every usable server of ${b.name} is at maxconn and ${count(b.queue, 'request waits', 'requests wait')} in the queue: they get 503 once "timeout queue" passes${queueBudget !== null ? ` (${formatMs(queueBudget)})` : ''}.`,
    details: () => ({
      evidence: [...capacityEvidence(usable), `${b.queue} queued in the backend (qcur).`],
      ...capacityFixes(b, usable, cmd, queueBudget),
    }),
  };
}

/** `last`: the one usable server; `failing`: its checks fail. */
export function lastServerUp({ backend: b, config, down, held, now, cmd }: BackendFacts, last: Server, failing: boolean): FindingText {
  const hasBackup = b.servers.some((s) => s.backup);
  const summary = failing
    ? `${b.name} runs on its last usable server ${last.name}, and ${last.name} is failing health checks: ${untilDown(last, configServerOf(config, last.name))} every request gets 503.`
    : b.counts.total === 1
      ? `${b.name} has a single server, ${last.name}: if it fails, every request gets 503.`
      : `${b.name} runs on its last usable server, ${last.name} (${b.counts.total - 1} of ${b.counts.total} cannot take requests): one more failure and every request gets 503.`;
  return {
    summary,
    details: () => {
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
    },
  };
}

export function checksFailing({ backend: b, config, usable, now, cmd }: BackendFacts, s: Server): FindingText {
  const lastOne = usable.length === 1;
  const check = s.check;
  return {
    summary: `${s.name} in ${b.name} is failing health checks (${checkText(s)}): ${untilDown(s, configServerOf(config, s.name))}${lastOne ? ' HAProxy marks it DOWN, and it is the last usable server: then every request gets 503.' : ' HAProxy marks it DOWN.'}`,
    details: () => ({
      evidence: [
        serverEvidence(s, now),
        ...(check && check.health !== null && check.rise !== null
          ? [`health ${check.health} (UP while health >= rise ${check.rise}, fall ${check.fall ?? '?'}).`]
          : []),
      ],
      ...checkFixes(b, s, cmd, configServerOf(config, s.name)),
    }),
  };
}

export function nearMaxconn({ backend: b, usable, cmd, queueBudget }: BackendFacts, utilization: number): FindingText {
  return {
    summary: `${b.name} uses ${Math.round(utilization * 100)}% of its servers' maxconn: at 100% new requests queue, then get 503.`,
    details: () => ({ evidence: capacityEvidence(usable), ...capacityFixes(b, usable, cmd, queueBudget) }),
  };
}

export function queueing({ backend: b, usable, cmd, queueBudget }: BackendFacts): FindingText {
  return {
    summary: `${count(b.queue, 'request is', 'requests are')} waiting in ${b.name}'s queue: if they wait past "timeout queue"${queueBudget !== null ? ` (${formatMs(queueBudget)})` : ''} they get 503.`,
    details: () => ({
      evidence: [`${b.queue} queued in the backend (qcur).`, ...capacityEvidence(usable)],
      ...capacityFixes(b, usable, cmd, queueBudget),
    }),
  };
}

export function serversHeld({ backend: b, usable, held, now, cmd }: BackendFacts): FindingText {
  return {
    summary: `${count(held.length, 'server', 'servers')} of ${b.name} ${held.length === 1 ? 'is' : 'are'} held in MAINT or DRAIN while ${usable.length} serve${usable.length === 1 ? 's' : ''}: forgotten after a deploy, ${held.length === 1 ? 'it takes' : 'they take'} capacity away.`,
    details: () => ({ evidence: held.map((s) => serverEvidence(s, now)), ...heldFixes(held, cmd) }),
  };
}

// --- frontend and process causes and risks --------------------------------------------------

export function noBackendMatch({ name, config, now, configPath, recent }: FrontendFacts, lastNoMatch: number): FindingText {
  return {
    summary: `${name} answers 503 to requests that match no use_backend rule: it has no default_backend. The last one was ${formatMs(now - lastNoMatch)} ago.`,
    details: () => ({
      evidence: recent.filter((r) => r.reason === 'no_backend_match').map((r) => `${r.at}: ${r.line}`),
      fix: [
        `${config?.kind ?? 'frontend'} ${name}\n    default_backend ${config?.useBackends[0]?.target ?? '<backend>'}`,
        `haproxy -c -f ${configPath ?? '<configuration file>'}`,
      ],
      advice: [
        'HAProxy logs these with its own frontend as the backend and <NOSRV> as the server. Route them on purpose: add a default_backend, or a use_backend rule for those requests, check the file, then reload.',
      ],
    }),
  };
}

export function noDefaultBackend({ name, configPath }: FrontendFacts, config: ConfigProxy): FindingText {
  return {
    summary: `${name} routes with use_backend and has no default_backend: a request that no rule matches gets 503.`,
    details: () => ({
      evidence: [
        ...config.useBackends.map((u) => `line ${u.line}: use_backend ${u.target} ...`),
        `no "default_backend" in ${config.kind} ${name} (line ${config.line}) nor in its defaults section.`,
      ],
      fix: [
        `${config.kind} ${name}\n    default_backend ${config.useBackends[0]?.target ?? '<backend>'}`,
        `haproxy -c -f ${configPath ?? '<configuration file>'}`,
      ],
      advice: ['Send unmatched requests somewhere on purpose; check the file, then reload HAProxy.'],
    }),
  };
}

export function failedReload({ procs, current, failed, configPath }: ProcessFacts, serving: NonNullable<ProcessFacts['serving']>): FindingText {
  return {
    summary: `The last reload failed: HAProxy still runs the configuration it loaded ${formatMs(serving.uptimeSeconds * 1000)} ago, not the one in the file.`,
    details: () => ({
      evidence: [
        `master ${procs.master.pid}: ${procs.master.reloads} reloads${procs.master.failedReloads === null ? '' : `, ${failed} failed since the last good one`}.`,
        current
          ? `current worker ${current.pid} has lived through ${count(current.reloads, 'reload', 'reloads')}; a successful reload starts a new worker.`
          : `no current worker: worker ${serving.pid}, listed among the old ones, still serves; a successful reload starts a new worker.`,
      ],
      fix: [`haproxy -c -f ${configPath ?? '<configuration file>'}`, 'systemctl reload haproxy'],
      advice: ['The check prints the error that stopped the reload; fix it, check again, then reload.'],
    }),
  };
}

export function oldWorkers({ oldWorkers: workers, masterSocat }: ProcessFacts): FindingText {
  return {
    summary: `${count(workers.length, 'old worker', 'old workers')} from earlier reloads still ${workers.length === 1 ? 'runs' : 'run'}, serving the old configuration to ${workers.length === 1 ? 'its' : 'their'} open connections.`,
    details: () => ({
      evidence: workers.map((w) => `old worker ${w.pid}: started ${formatMs(w.uptimeSeconds * 1000)} ago, ${count(w.reloads, 'reload', 'reloads')} behind.`),
      fix: [`echo 'show proc' | ${masterSocat ?? 'socat stdio <master socket>'}`, 'global\n    hard-stop-after 30m'],
      advice: ['Old workers leave when their last connection closes; "hard-stop-after" in the global section bounds how long that may take.'],
    }),
  };
}

// --- the configuration's weaknesses ------------------------------------------------------------

export function serversWithoutCheck(config: ConfigProxy, unchecked: readonly ConfigServer[]): FindingText {
  return {
    summary: `${count(unchecked.length, 'server', 'servers')} of ${config.name} ${unchecked.length === 1 ? 'has' : 'have'} no health check: HAProxy keeps sending requests to ${unchecked.length === 1 ? 'it' : 'them'} when ${unchecked.length === 1 ? 'it dies' : 'they die'}.`,
    details: () => ({
      evidence: unchecked.map((s) => `line ${s.line}: server ${s.name} ${s.address} (no "check")`),
      fix: [`backend ${config.name}\n    default-server check`],
      advice: ['Add "check" to each server line, or "default-server check" to the backend.'],
    }),
  };
}

export function singleServer(config: ConfigProxy, only: ConfigServer | undefined): FindingText {
  return {
    summary: `${config.name} has a single server and no backup: when it fails, every request gets 503.`,
    details: () => ({
      evidence: [`line ${config.line}: backend ${config.name}, one server (${only?.name ?? '?'})`],
      fix: [`backend ${config.name}\n    server fallback <address>:<port> check backup`],
      advice: ['Add a second server, or a backup that serves a maintenance page.'],
    }),
  };
}

export function noTimeoutQueue(config: ConfigProxy, limited: readonly ConfigServer[]): FindingText {
  return {
    summary: `${config.name}'s servers have maxconn but no "timeout queue" is set: queued requests wait "timeout connect"${config.timeoutConnectMs !== null ? ` (${formatMs(config.timeoutConnectMs)})` : ''}, then get 503.`,
    details: () => ({
      evidence: limited.map((s) => `line ${s.line}: server ${s.name} maxconn ${s.maxconn ?? ''}`),
      fix: [`backend ${config.name}\n    timeout queue 10s`],
      advice: ['Say how long a request may wait for a free slot.'],
    }),
  };
}

// --- shared words --------------------------------------------------------------------------------

// --- evidence and fixes ---------------------------------------------------------------------

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
    fix: limitedOf(usable).map((s) => cmd.admin(`set maxconn server ${b.name}/${s.name} ${(s.sessions.limit ?? 0) * 2}`)),
    advice: [
      'Raise maxconn at runtime only as far as the servers can take it; add servers to the backend, and raise "maxconn" on the server lines in the configuration.',
      `Requests wait in the queue at most "timeout queue"${queueBudget !== null ? ` (now ${formatMs(queueBudget)})` : ''}; a longer one trades 503s for slow answers.`,
      ...(cmd.adminNote && limitedOf(usable).length > 0 ? [cmd.adminNote] : []),
    ],
  };
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

// One pass over the servers, each thing to say said once for all it is true of: longer than most.
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
        servers.length === 1
          ? `${nameList(servers)} follows ${tracked}: fix that server and ${nameList(servers)} follows.`
          : `${nameList(servers)} follow ${tracked}: fix that server and they follow.`,
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
      say(
        `fails ${check}`,
        s,
        (servers) => `${nameList(servers)}: the service answers but fails the check (${check}); try the check's request from the HAProxy host.`,
      );
      fix.push(`curl -sv --max-time 5 http://${address}/`);
    } else {
      fix.push(cmd.show(`show servers state ${b.name}`));
    }
    const rise = s.check?.rise;
    if (rise) {
      const interMs = configServerOf(config, s.name)?.interMs;
      const after = `${count(rise, 'good check', 'good checks')}${interMs ? ` (about ${formatMs(rise * interMs)})` : ''}`;
      say(
        `rise ${after}`,
        s,
        (servers) => `Once ${servers.length === 1 ? 'it answers' : 'they answer'}, HAProxy marks ${nameList(servers)} UP after ${after}.`,
      );
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

/** Servers' names for a sentence: the first three, then how many more (the evidence lists each). */
function nameList(servers: readonly Server[]): string {
  const names = servers.map((s) => s.name);
  const [first = ''] = names;
  if (names.length === 1) return first;
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
      if (s.held.includes('config'))
        advice.push(`${s.name} is "disabled" in the configuration: remove that word from its server line, or the next reload holds it again.`);
    }
  }
  if (fix.length > 0 && cmd.adminNote) advice.push(cmd.adminNote);
  return { fix, advice };
}

function checkFixes(b: Backend, s: Server, cmd: Commands, config: ConfigServer | null): Pick<Finding, 'fix' | 'advice'> {
  const address = s.address ?? '<address>';
  return {
    fix: [
      cmd.show(`show servers state ${b.name}`),
      s.check?.status?.startsWith('L7') ? `curl -sv --max-time 5 http://${address}/` : `nc -zv -w3 ${address.replace(/:(\d+)$/, ' $1')}`,
    ],
    advice: [
      'See what the check sees, and try the same from the HAProxy host.',
      ...(config ? [`The check runs every ${formatMs(config.fastinterMs ?? config.interMs)} while it fails (line ${config.line} of the configuration).`] : []),
    ],
  };
}

export function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

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
  return `${kinds.join(', ')}: ${[...codes]
    .sort((a, b) => b[1] - a[1])
    .map(([code, n]) => `${code} ${n}`)
    .join(', ')}`;
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
