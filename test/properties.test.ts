// Every parser, on real captures mutated (cells cut, added and swapped, bytes changed, lines split,
// joined, dropped and repeated): a result consistent with its input, or a ParseError; never
// another exception, a hang, or an object invented from a fragment.

import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { parseLogMessage, parseSyslog } from '../src/logs/parse.js';
import { ParseError } from '../src/parse/errors.js';
import { parseHaproxyConfig } from '../src/parse/haproxyConfig.js';
import { parseInfo } from '../src/parse/info.js';
import { parseServersState } from '../src/parse/serversState.js';
import { parseShowProc } from '../src/parse/showProc.js';
import { parseStat } from '../src/parse/stat.js';
import { answers, fixture } from './support/fixtures.js';

const RUNS = 100_000;
/** Fixed, so that CI runs what ran here; a failure prints its own seed and path to replay. */
const SEED = 20261205;
const lab = answers('haproxy-2.6.12-lab.txt');

/** One change to a capture's lines: which line, where in it, what kind, and a character to put in. */
const mutation = fc.tuple(fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), fc.string({ maxLength: 2 }));

function mutate(text: string, separator: string, changes: ReadonlyArray<[number, number, number, string]>): string {
  const lines = text.split('\n');
  for (const [lineAt, at, kind, chars] of changes) {
    const i = lineAt % lines.length;
    const line = lines[i] ?? '';
    const cells = line.split(separator);
    const j = at % cells.length;
    const k = at % (line.length + 1);
    switch (kind) {
      case 0: // a cell cut
        cells.splice(j, 1);
        lines[i] = cells.join(separator);
        break;
      case 1: // a cell added
        cells.splice(j, 0, chars);
        lines[i] = cells.join(separator);
        break;
      case 2: // two cells swapped
        [cells[0], cells[j]] = [cells[j] ?? '', cells[0] ?? ''];
        lines[i] = cells.join(separator);
        break;
      case 3: // bytes changed
        lines[i] = line.slice(0, k) + chars + line.slice(k + chars.length);
        break;
      case 4: // a line split
        lines.splice(i, 1, line.slice(0, k), line.slice(k));
        break;
      case 5: // a line joined to the next
        lines.splice(i, 2, line + (lines[i + 1] ?? ''));
        break;
      case 6: // a line dropped
        lines.splice(i, 1);
        break;
      default: // a line repeated
        lines.splice(i, 0, line);
    }
    if (lines.length === 0) lines.push('');
  }
  return lines.join('\n');
}

/** Inputs made from `capture`, for a parser whose fields are split by `separator`. */
function mutated(capture: string, separator: string): fc.Arbitrary<string> {
  return fc.array(mutation, { minLength: 1, maxLength: 6 }).map((changes) => mutate(capture, separator, changes));
}

/** `parse` returns, or throws a ParseError: any other exception fails the property. */
function parsedOrRefused<T>(parse: () => T): T | null {
  try {
    return parse();
  } catch (err) {
    if (err instanceof ParseError) return null;
    throw err;
  }
}

/** The lines of `text` split by `separator`, as a set of their first two fields. */
function firstTwo(text: string, separator: string): Set<string> {
  return new Set(text.split('\n').map((l) => l.split(separator).slice(0, 2).join('\0')));
}

describe(`parsers on ${RUNS.toLocaleString('en')} mutated captures each`, { timeout: 600_000 }, () => {
  test('show stat: rows as wide as the header, each from a whole line of the input', () => {
    fc.assert(
      fc.property(mutated(lab.stat, ','), (text) => {
        const table = parsedOrRefused(() => parseStat(text));
        if (table === null) return;
        const width = (text.split('\n')[0] ?? '').split(',').length;
        const lines = firstTwo(text, ',');
        for (const row of table.rows()) {
          assert.ok(row.proxy !== '' && row.name !== '');
          // Quoted lines aside (none in the capture), a row's first two cells are a line's.
          if (!text.includes('"')) assert.ok(lines.has(`${row.proxy}\0${row.name}`), `${row.proxy}/${row.name} from no line`);
          assert.equal(row.cell(width - 1), '', 'a row as wide as the header ends in its trailing comma');
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test('show servers state: each server from a line that names it', () => {
    fc.assert(
      fc.property(mutated(lab.serversState, ' '), (text) => {
        const table = parsedOrRefused(() => parseServersState(text));
        if (table === null) return;
        for (const row of table.rows()) {
          assert.ok(
            text.split('\n').some((l) => l.split(' ').includes(row.backend) && l.split(' ').includes(row.server)),
            `${row.backend}/${row.server}`,
          );
          assert.ok(Number.isInteger(row.adminState));
        }
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test('show info: every field is a line of the input', () => {
    fc.assert(
      fc.property(mutated(lab.info, ': '), (text) => {
        const info = parsedOrRefused(() => parseInfo(text));
        if (info === null) return;
        const lines = text.split('\n');
        for (const [name, value] of info.fields)
          assert.ok(
            lines.some((l) => l.startsWith(`${name}:`) && l.includes(value)),
            name,
          );
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test('show proc: the master and workers each from a line with their pid', () => {
    const capture = fixture('haproxy-2.6.12-show-proc-old-workers.txt');
    fc.assert(
      fc.property(mutated(capture, ' '), (text) => {
        const procs = parsedOrRefused(() => parseShowProc(text));
        if (procs === null) return;
        for (const proc of [procs.master, ...procs.workers]) assert.ok(text.includes(String(proc.pid)), String(proc.pid));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test('syslog and log lines: never a throw; a 5xx names a backend that is in the line', () => {
    const lines = fixture('haproxy-2.6.12-syslog.txt').split('\n').filter(Boolean);
    fc.assert(
      fc.property(fc.nat(), mutated(lines.join('\n'), ' '), (pick, text) => {
        const all = text.split('\n');
        const datagram = all[pick % all.length] ?? '';
        const record = parseLogMessage(parseSyslog(datagram).message);
        if (record?.kind === 'http') assert.ok(datagram.includes(record.backend) && datagram.includes(record.frontend));
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });

  test('configuration file: never a throw; each proxy from a line that names it', () => {
    const capture = fixture('haproxy-2.6.12-lab.cfg');
    fc.assert(
      fc.property(mutated(capture, ' '), (text) => {
        const config = parsedOrRefused(() => parseHaproxyConfig(text));
        if (config === null) return;
        // HAProxy's quoting and escapes aside.
        const bare = (t: string): string => t.replace(/['"$\\]/g, '');
        for (const proxy of config.proxies) assert.ok(bare(text).includes(bare(proxy.name)), proxy.name);
      }),
      { numRuns: RUNS, seed: SEED },
    );
  });
});
