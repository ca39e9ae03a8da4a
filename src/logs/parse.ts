// HAProxy's log lines, from the datagram to a typed record. Pure functions.
//
// Framing: RFC 3164 (`<134>Nov 24 01:46:01 haproxy[20926]: ...`, HAProxy's default), RFC 5424
// (`<134>1 2026-11-24T01:46:01.535987+00:00 host haproxy 20926 - - ...`), either with an octet
// count in front (`123 <134>...`), and HAProxy's `short` (`<134>...`) and `raw` formats.
//
// Messages understood: the default `option httplog`, `option httpslog` and `option tcplog`
// formats, and the `option log-health-checks` lines. A custom `log-format` is understood when it
// starts like the httplog format (client, date, frontend, backend/server, timers, status, ...).

export interface SyslogFrame {
  readonly priority: number | null;
  readonly pid: number | null;
  readonly message: string;
}

const RFC3164_DATE = /^[A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d /;
const RFC3164_TAG = /^(?:\S+ )?[^\s[\]:]+(?:\[(\d+)\])?: /;

export function parseSyslog(datagram: string): SyslogFrame {
  let text = datagram.endsWith('\n') ? datagram.slice(0, -1) : datagram;
  const counted = /^(\d+) </.exec(text);
  if (counted) text = text.slice((counted[1] ?? '').length + 1);
  const pri = /^<(\d{1,3})>/.exec(text);
  if (!pri) return { priority: null, pid: null, message: text };
  text = text.slice(pri[0].length);
  const priority = Number(pri[1]);
  if (text.startsWith('1 ')) {
    // VERSION TIMESTAMP HOSTNAME APP-NAME PROCID MSGID STRUCTURED-DATA MSG
    const fields = text.split(' ', 6);
    let rest = text.slice(fields.join(' ').length + 1);
    if (rest.startsWith('-')) rest = rest.slice(2);
    else if (rest.startsWith('[')) rest = rest.slice(structuredDataEnd(rest) + 1);
    const pid = Number(fields[4]);
    return { priority, pid: Number.isInteger(pid) ? pid : null, message: rest.replace(/^\uFEFF/, '') };
  }
  if (RFC3164_DATE.test(text)) {
    const afterDate = text.slice(16);
    const tag = RFC3164_TAG.exec(afterDate);
    if (tag) return { priority, pid: tag[1] ? Number(tag[1]) : null, message: afterDate.slice(tag[0].length) };
    return { priority, pid: null, message: afterDate };
  }
  return { priority, pid: null, message: text };
}

function structuredDataEnd(text: string): number {
  let i = 0;
  while (text[i] === '[') {
    for (i++; i < text.length && text[i] !== ']'; i++) if (text[i] === '\\') i++;
    i++;
  }
  return i;
}

export type HealthEvent = 'check_failed' | 'check_passed' | 'down' | 'up' | 'maint' | 'nolb' | 'no_server_left';

export type LogRecord =
  | {
      readonly kind: 'http';
      readonly frontend: string;
      readonly backend: string;
      readonly server: string;
      readonly status: number;
      /** Four characters, `SC--`, `sQ--`, `----`. */
      readonly termination: string;
      /** The request was cut short (datagram longer than HAProxy's `len`). */
      readonly truncated: boolean;
    }
  | { readonly kind: 'tcp'; readonly frontend: string; readonly backend: string; readonly server: string; readonly termination: string }
  /** HAProxy's notices about itself: a proxy started or stopped (2.2 logs one per proxy at start). */
  | { readonly kind: 'process' }
  | { readonly kind: 'health'; readonly backend: string; readonly server: string | null; readonly event: HealthEvent; readonly reason: string | null };

// %ci:%cp [%tr] %ft %b/%s %TR/%Tw/%Tc/%Tr/%Ta %ST %B %CC %CS %tsc %ac/%fc/%bc/%sc/%rc %sq/%bq [{headers}] "request" [httpslog fields]
const HTTP =
  /^\S+ \[[^\]]+\] (\S+) ([^\s/]+)\/(\S+) -?\d+\/-?\d+\/-?\d+\/-?\d+\/\+?-?\d+ (-?\d+) \+?\d+ \S+ \S+ ([A-Za-z-]{4}) \d+\/\d+\/\d+\/\d+\/\+?\d+ \d+\/\d+(.*)$/;
// %ci:%cp [%t] %ft %b/%s %Tw/%Tc/%Tt %B %ts %ac/%fc/%bc/%sc/%rc %sq/%bq
const TCP = /^\S+ \[[^\]]+\] (\S+) ([^\s/]+)\/(\S+) -?\d+\/-?\d+\/\+?-?\d+ \+?\d+ ([A-Za-z-]{2}) \d+\/\d+\/\d+\/\d+\/\+?\d+ \d+\/\d+/;
const CHECK =
  /^Health check for (?:backup )?server ([^\s/]+)\/(\S+) (succeeded|failed|conditionally succeeded), reason: (.*?)(?:, code: \d+)?(?:, info: "(.*)")?, check duration: \d+ms, status: \d+\/\d+ (?:UP|DOWN)\.?$/;
const SERVER = /^(?:Backup )?Server ([^\s/]+)\/(\S+) is (DOWN|UP|going DOWN for maintenance|stopping)(?: via (\S+?))?(?:\/READY)?[.,( ]/;
const NO_SERVER = /^backend (\S+) has no server available!$/;
const PROCESS = /^(?:Proxy \S+ (?:started|stopped|paused|resumed)\b|(?:Stopping|Pausing|Resuming) (?:frontend|backend|proxy) )/;

/** Null for a line nosrv does not understand: counted, never a crash. */
export function parseLogMessage(message: string): LogRecord | null {
  const http = HTTP.exec(message);
  if (http) {
    const rest = http[6] ?? '';
    const quote = rest.indexOf('"');
    return {
      kind: 'http',
      frontend: (http[1] ?? '').replace(/~$/, ''),
      backend: http[2] ?? '',
      server: http[3] ?? '',
      status: Number(http[4]),
      termination: http[5] ?? '',
      truncated: quote >= 0 && rest.indexOf('"', quote + 1) < 0,
    };
  }
  const tcp = TCP.exec(message);
  if (tcp) return { kind: 'tcp', frontend: (tcp[1] ?? '').replace(/~$/, ''), backend: tcp[2] ?? '', server: tcp[3] ?? '', termination: tcp[4] ?? '' };
  const check = CHECK.exec(message);
  if (check) {
    const reason = check[5] ? `${check[4]}: ${check[5]}` : (check[4] ?? '');
    return { kind: 'health', backend: check[1] ?? '', server: check[2] ?? '', event: check[3] === 'failed' ? 'check_failed' : 'check_passed', reason };
  }
  const server = SERVER.exec(message);
  if (server) {
    const word = server[3] ?? '';
    const event: HealthEvent = word === 'DOWN' ? 'down' : word === 'UP' ? 'up' : word === 'stopping' ? 'nolb' : 'maint';
    return { kind: 'health', backend: server[1] ?? '', server: server[2] ?? '', event, reason: server[4] ? `via ${server[4]}` : null };
  }
  const none = NO_SERVER.exec(message);
  if (none) return { kind: 'health', backend: none[1] ?? '', server: null, event: 'no_server_left', reason: null };
  if (PROCESS.test(message)) return { kind: 'process' };
  return null;
}

export type Reason503 = 'no_server' | 'queue_timeout' | 'no_backend_match' | 'other';

/** Why HAProxy answered 503, from the line: `<NOSRV>` and the termination state. */
export function reasonFor503(record: { frontend: string; backend: string; server: string; termination: string }): Reason503 {
  if (record.server === '<NOSRV>' && record.backend === record.frontend) return 'no_backend_match';
  if (record.termination.startsWith('sQ')) return 'queue_timeout';
  if (record.server === '<NOSRV>' && record.termination.startsWith('SC')) return 'no_server';
  return 'other';
}

/** HAProxy made the answer itself (no server, timeouts, aborts, denies), or passed the server's on. */
export function madeBy(record: { server: string; termination: string }): 'haproxy' | 'server' {
  return record.server === '<NOSRV>' || record.termination[0] !== '-' ? 'haproxy' : 'server';
}
