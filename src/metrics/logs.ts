// Counters from HAProxy's log lines. Long-lived (they count since nosrv started), written from
// the ingest's own maps: their label sets are bounded there.

import { LINE_RESULTS, MAX_UNKNOWN_SERIES, OTHER, type LogIngest } from '../logs/ingest.js';
import { escapeLabelValue, type ExpositionWriter } from './exposition.js';

export function writeLogMetrics(out: ExpositionWriter, ingest: LogIngest, dropped: number | null): void {
  out.family(
    'haproxy_log_503_total',
    'counter',
    'HAProxy-made 503s in the logs by reason: no_server (SC, <NOSRV>), queue_timeout (sQ), no_backend_match, other.',
  );
  for (const [key, n] of ingest.unavailable) {
    const [frontend = '', backend = '', reason = ''] = key.split('\0');
    out.sample('haproxy_log_503_total', `frontend="${escapeLabelValue(frontend)}",backend="${escapeLabelValue(backend)}",reason="${reason}"`, n);
  }
  out.family(
    'haproxy_log_http_errors_total',
    'counter',
    "HTTP 5xx in the logs by status (500, 502, 503, 504, else 5xx), the termination state's first two letters, and who made it (haproxy or server).",
  );
  for (const [key, n] of ingest.errors) {
    const [frontend = '', backend = '', code = '', termination = '', origin = ''] = key.split('\0');
    out.sample(
      'haproxy_log_http_errors_total',
      `frontend="${escapeLabelValue(frontend)}",backend="${escapeLabelValue(backend)}",code="${code}",termination="${escapeLabelValue(termination)}",origin="${origin}"`,
      n,
    );
  }
  out.family('nosrv_log_datagrams_total', 'counter', 'Syslog datagrams received.');
  out.sample('nosrv_log_datagrams_total', '', ingest.datagrams);
  if (dropped !== null) {
    out.family('nosrv_log_datagrams_dropped_total', 'counter', "Datagrams the kernel dropped before nosrv read them (the socket's receive buffer was full).");
    out.sample('nosrv_log_datagrams_dropped_total', '', dropped);
  }
  out.family(
    'nosrv_log_lines_total',
    'counter',
    "Log lines by how they were understood: http, tcp, health, process (HAProxy's notices about itself: a proxy started or stopped), truncated (cut short by HAProxy's len), unparsed.",
  );
  for (const result of LINE_RESULTS) out.sample('nosrv_log_lines_total', `result="${result}"`, ingest.lines.get(result) ?? 0);
  out.family(
    'nosrv_log_lines_folded_total',
    'counter',
    `5xx lines counted under proxy "${OTHER}": they name a proxy HAProxy did not list, once ${MAX_UNKNOWN_SERIES} label sets of such names are taken.`,
  );
  out.sample('nosrv_log_lines_folded_total', '', ingest.folded);
}
