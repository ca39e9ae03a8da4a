// Health-check statuses: `show servers state` prints the number (enum healthcheck_status in
// include/haproxy/check-t.h), `show stat` the name and, in check_desc, the description.

export interface CheckStatusInfo {
  readonly name: string;
  readonly description: string;
}

/** In the order of HAProxy's enum healthcheck_status. */
export const CHECK_STATUSES: readonly CheckStatusInfo[] = [
  { name: 'UNK', description: 'Unknown' },
  { name: 'INI', description: 'Initializing' },
  { name: 'START', description: 'Check started' },
  { name: 'CHECKED', description: 'No status change' },
  { name: 'HANA', description: 'Health analyze' },
  { name: 'SOCKERR', description: 'Socket error' },
  { name: 'L4OK', description: 'Layer4 check passed' },
  { name: 'L4TOUT', description: 'Layer4 timeout' },
  { name: 'L4CON', description: 'Layer4 connection problem' },
  { name: 'L6OK', description: 'Layer6 check passed' },
  { name: 'L6TOUT', description: 'Layer6 timeout' },
  { name: 'L6RSP', description: 'Layer6 invalid response' },
  { name: 'L7TOUT', description: 'Layer7 timeout' },
  { name: 'L7RSP', description: 'Layer7 invalid response' },
  { name: 'L57DATA', description: 'Layer5-7 data' },
  { name: 'L7OK', description: 'Layer7 check passed' },
  { name: 'L7OKC', description: 'Layer7 check conditionally passed' },
  { name: 'L7STS', description: 'Layer7 wrong status' },
  { name: 'PROCERR', description: 'External check error' },
  { name: 'PROCTOUT', description: 'External check timeout' },
  { name: 'PROCOK', description: 'External check passed' },
];

export function checkStatusByNumber(value: number): CheckStatusInfo {
  return CHECK_STATUSES[value] ?? { name: `UNKNOWN_${value}`, description: `Unknown check status ${value}` };
}

const DESCRIPTIONS = new Map(CHECK_STATUSES.map((s) => [s.name, s.description]));

export function checkStatusDescription(name: string): string | null {
  return DESCRIPTIONS.get(name) ?? null;
}

/** The statuses that say the server failed its check (as opposed to passed, or not yet known). */
export const FAILED_CHECK_STATUSES = ['HANA', 'SOCKERR', 'L4TOUT', 'L4CON', 'L6TOUT', 'L6RSP', 'L7TOUT', 'L7RSP', 'L7STS', 'PROCERR', 'PROCTOUT'] as const;

const FAILED: ReadonlySet<string> = new Set(FAILED_CHECK_STATUSES);

export function isFailedCheck(name: string): boolean {
  return FAILED.has(name);
}
