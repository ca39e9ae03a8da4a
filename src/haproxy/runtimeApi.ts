// HAProxy's runtime API (the stats socket and the master CLI). One connection carries several
// commands separated by `;`; HAProxy ends every answer, errors included, with an empty line and,
// without `prompt`, closes once it has answered. An answer that stops before its empty line is cut
// short, never data.
//
// Only `show ...` commands can be sent (`@N show ...` through the master): nosrv runs on a
// `level user` socket and never changes HAProxy.

import net from 'node:net';
import { StringDecoder } from 'node:string_decoder';
import { fromSystemError, HaproxyReadError } from './errors.js';

export type RuntimeApiAddress = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** `/run/haproxy/admin.sock`, `unix:/run/haproxy/admin.sock` or `tcp://127.0.0.1:9999`. */
export function parseRuntimeApiAddress(text: string): RuntimeApiAddress {
  if (text.startsWith('unix:')) return { kind: 'unix', path: text.slice(5) };
  if (text.startsWith('tcp://')) {
    const url = new URL(text);
    const port = Number(url.port);
    if (!url.hostname || !Number.isInteger(port) || port <= 0) throw new Error(`"${text}" is not tcp://HOST:PORT`);
    return { kind: 'tcp', host: url.hostname.replace(/^\[|\]$/g, ''), port };
  }
  if (/^[a-z]+:\/\//i.test(text)) throw new Error(`"${text}": use a socket path, unix:PATH or tcp://HOST:PORT`);
  if (text === '') throw new Error('the socket path is empty');
  return { kind: 'unix', path: text };
}

export function describeAddress(address: RuntimeApiAddress): string {
  return address.kind === 'unix' ? address.path : `tcp://${address.host}:${address.port}`;
}

/** How a person reaches the same socket from a shell, for the fix commands nosrv prints. */
export function socatCommand(address: RuntimeApiAddress): string {
  const target = address.kind === 'unix' ? address.path : `TCP:${address.host}:${address.port}`;
  return `socat stdio ${/^[\w./:@-]+$/.test(target) ? target : `'${target.replace(/'/g, "'\\''")}'`}`;
}

const SHOW_COMMAND = /^(@!?\d+ )?show( [^;\r\n]*)?$/;

export interface CommandAnswer {
  readonly command: string;
  /** The answer's lines, without the empty line that ends it. */
  readonly text: string;
  /** From the previous answer's end (or the request) to this answer's end. */
  readonly seconds: number;
}

export interface ReadOptions {
  /** Epoch ms by which every answer must have arrived. */
  readonly deadline: number;
  readonly maxBytes: number;
}

export function runShowCommands(address: RuntimeApiAddress, commands: readonly string[], options: ReadOptions): Promise<CommandAnswer[]> {
  for (const command of commands) {
    if (!SHOW_COMMAND.test(command)) throw new Error(`refusing to send ${JSON.stringify(command)}: nosrv only sends "show" commands`);
  }
  const target = describeAddress(address);
  return new Promise((resolve, reject) => {
    const socket = address.kind === 'unix' ? net.connect({ path: address.path }) : net.connect({ host: address.host, port: address.port });
    const decoder = new StringDecoder('utf8');
    // [start, stop) of each complete answer's text, and when it completed.
    const bounds: Array<readonly [number, number]> = [];
    const times: number[] = [];
    let text = '';
    let bytes = 0;
    let next = 0; // where the next answer starts
    let scanFrom = 0; // text before this holds no end of the current answer
    let settled = false;
    const started = performance.now();

    const finish = (error: HaproxyReadError | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error) return reject(error);
      const answers: CommandAnswer[] = [];
      let previous = started;
      for (let i = 0; i < commands.length; i++) {
        const [start, stop] = bounds[i] as readonly [number, number];
        const command = commands[i] as string;
        const answer = text.slice(start, stop);
        const refusal = haproxyRefusal(answer, command, target);
        if (refusal) return reject(refusal);
        answers.push({ command, text: answer, seconds: ((times[i] as number) - previous) / 1000 });
        previous = times[i] as number;
      }
      resolve(answers);
    };

    /** Records every answer that has ended in `text`: lines ending in "\n", then an empty line. */
    const collectAnswers = (): void => {
      while (next < text.length && bounds.length < commands.length) {
        let stop: number;
        if (text[next] === '\n') stop = next; // an empty answer
        else {
          const pair = text.indexOf('\n\n', Math.max(next, scanFrom));
          if (pair < 0) {
            scanFrom = Math.max(next, text.length - 1);
            return;
          }
          stop = pair + 1;
        }
        bounds.push([next, stop]);
        times.push(performance.now());
        next = stop + 1;
      }
    };

    const timer = setTimeout(
      () => finish(new HaproxyReadError('timeout', `no complete answer from ${target} within the deadline (${bounds.length} of ${commands.length} answers, ${bytes} bytes)`)),
      Math.max(0, options.deadline - Date.now()),
    );

    socket.on('connect', () => socket.write(`${commands.join(';')}\n`));
    socket.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (bytes > options.maxBytes) {
        return finish(new HaproxyReadError('answer_too_large', `the answer from ${target} passed ${options.maxBytes} bytes`));
      }
      text += decoder.write(chunk);
      collectAnswers();
      if (bounds.length === commands.length) finish(null);
    });
    socket.on('end', () =>
      finish(new HaproxyReadError('truncated', `${target} closed the connection after ${bounds.length} of ${commands.length} answers (${bytes} bytes)`)),
    );
    socket.on('error', (err) => finish(fromSystemError(err, target)));
  });
}

function haproxyRefusal(answer: string, command: string, target: string): HaproxyReadError | null {
  const trimmed = answer.trim();
  if (trimmed === 'Permission denied') {
    return new HaproxyReadError('haproxy_permission_denied', `HAProxy at ${target} answered "Permission denied" to "${command}": the socket's level is too low`);
  }
  if (trimmed.startsWith('Unknown command')) {
    return new HaproxyReadError('unknown_command', `HAProxy at ${target} does not know "${command}" (too old a version?)`);
  }
  return null;
}
