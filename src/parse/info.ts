// `show info`: one `Name: value` per line (`Build info: 2.6.12` has a space in its name).

import { ParseError } from './errors.js';

export interface Info {
  readonly fields: ReadonlyMap<string, string>;
  readonly version: string | null;
  readonly pid: number | null;
  readonly uptimeSeconds: number | null;
  readonly startTimeSeconds: number | null;
}

export function parseInfo(text: string): Info {
  const fields = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ParseError('show info', `not a "Name: value" line: ${JSON.stringify(line.slice(0, 80))}`);
    fields.set(line.slice(0, colon), line.slice(colon + 1).trim());
  }
  if (!fields.has('Name') && !fields.has('Version')) throw new ParseError('show info', 'no Name or Version field');
  const num = (name: string): number | null => {
    const text = fields.get(name);
    if (text === undefined || text === '') return null;
    const value = Number(text);
    return Number.isFinite(value) ? value : null;
  };
  return {
    fields,
    version: fields.get('Version') ?? null,
    pid: num('Pid'),
    uptimeSeconds: num('Uptime_sec'),
    startTimeSeconds: num('Start_time_sec'),
  };
}
