// HAProxy's runtime API (the stats socket and the master CLI). One connection carries several
// commands separated by `;`; HAProxy ends every answer, errors included, with an empty line and,
// without `prompt`, closes once it has answered. An answer that stops before its empty line is cut
// short, never data.
//
// Only `show ...` commands can be sent (`@N show ...` through the master): nosrv runs on a
// `level user` socket and never changes HAProxy.

import net from 'node:net';
import { fromSystemError, HaproxyReadError } from './errors.js';
import { itemAt } from '../itemAt.js';

export type RuntimeApiAddress = { readonly kind: 'unix'; readonly path: string } | { readonly kind: 'tcp'; readonly host: string; readonly port: number };

/** `/run/haproxy/admin.sock`, `unix:/run/haproxy/admin.sock` or `tcp://127.0.0.1:9999`. */
export function parseRuntimeApiAddress(text: string): RuntimeApiAddress {
  if (text.startsWith('unix:')) {
    if (text === 'unix:') throw new Error('the socket path is empty');
    return { kind: 'unix', path: text.slice(5) };
  }
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

/** What one read from the socket takes at most (libuv's own default). */
const READ_BUFFER_BYTES = 64 * 1024;

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

/** Takes one answer as it arrives, in pieces of whole lines; may throw to abandon the read. */
export type AnswerSink =
  | { write(lines: string): void }
  /** The bytes are valid during the call only: the read buffer is then reused. */
  | { writeBytes(lines: Uint8Array): void };

export interface CommandTiming {
  readonly command: string;
  /** From the previous answer's end (or the request) to this answer's end. */
  readonly seconds: number;
}

/** Sends the commands and collects each answer whole. */
export function runShowCommands(address: RuntimeApiAddress, commands: readonly string[], options: ReadOptions): Promise<CommandAnswer[]> {
  const pieces = commands.map((): string[] => []);
  const sinks = pieces.map((own) => ({ write: (lines: string) => void own.push(lines) }));
  return streamShowCommands(address, commands, sinks, options).then((timings) => timings.map((t, i) => ({ ...t, text: itemAt(pieces, i).join('') })));
}

// Long: one socket's handlers share the answer's offsets and timings as local state.
/**
 * Sends the commands and hands each answer to its sink while it arrives, so parsing a large
 * answer overlaps with HAProxy still writing it. Rejects with a HaproxyReadError, or with what a
 * sink threw.
 */
export function streamShowCommands(
  address: RuntimeApiAddress,
  commands: readonly string[],
  sinks: readonly AnswerSink[],
  options: ReadOptions,
): Promise<CommandTiming[]> {
  for (const command of commands) {
    if (!SHOW_COMMAND.test(command)) throw new Error(`refusing to send ${JSON.stringify(command)}: nosrv only sends "show" commands`);
  }
  if (sinks.length !== commands.length) throw new Error('one sink per command');
  const target = describeAddress(address);
  return new Promise((resolve, reject) => {
    // One read buffer for the whole answer, not a fresh one per read: what a read brings is decoded
    // (or, for an unfinished line, copied) before the next read reuses it.
    const onread = {
      buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      callback: (nread: number, buffer: Buffer): boolean => (onData(buffer.subarray(0, nread)), true),
    };
    const socket = address.kind === 'unix' ? net.connect({ path: address.path, onread }) : net.connect({ host: address.host, port: address.port, onread });
    // Offsets are in bytes of the whole answer stream. Lines are decoded only once complete, so a
    // UTF-8 sequence is never cut, and the text is never appended to one growing string.
    const timings: CommandTiming[] = [];
    let bytes = 0;
    let answerStart = 0; // where the current answer starts
    let delivered = 0; // bytes before this are handed to a sink (or are an answer's end)
    let carry: Buffer[] = []; // bytes from `delivered` to the current chunk, an unfinished line
    let lastNewline = -2;
    let previousEnd = performance.now();
    let settled = false;

    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === null) resolve(timings);
      else reject(error);
    };

    /** Hands whole lines, the bytes from `delivered` on, to the current answer's sink. */
    const hand = (bytesOfLines: Buffer): void => {
      const index = timings.length;
      if (delivered === answerStart) {
        const newline = bytesOfLines.indexOf(10);
        const firstLine = bytesOfLines.toString('utf8', 0, newline < 0 ? bytesOfLines.length : newline);
        const refusal = haproxyRefusal(firstLine, commands[index] ?? '', target);
        if (refusal) throw refusal;
      }
      delivered += bytesOfLines.length;
      const sink = itemAt(sinks, index);
      if ('writeBytes' in sink) sink.writeBytes(bytesOfLines);
      else sink.write(bytesOfLines.toString('utf8'));
    };

    /** Hands bytes [delivered, to) to the current answer's sink; `chunk` starts at `offset`. */
    const deliver = (chunk: Buffer, offset: number, to: number): void => {
      if (to <= delivered) return;
      if (delivered < offset) {
        // Only the line that began in an earlier chunk is copied whole; the chunk's other lines go as they are.
        hand(Buffer.concat([...carry, chunk.subarray(0, chunk.indexOf(10) + 1)]));
        carry = [];
      }
      if (to > delivered) hand(chunk.subarray(delivered - offset, to - offset));
    };

    const onChunk = (chunk: Buffer, offset: number): void => {
      for (let at = chunk.indexOf(10); at >= 0 && timings.length < commands.length; at = chunk.indexOf(10, at + 1)) {
        const newline = offset + at;
        if (newline === answerStart || newline === lastNewline + 1) {
          // An empty line: the answer is what came before it (empty when nothing did).
          deliver(chunk, offset, newline);
          const now = performance.now();
          timings.push({ command: commands[timings.length] ?? '', seconds: (now - previousEnd) / 1000 });
          previousEnd = now;
          answerStart = delivered = newline + 1;
        }
        lastNewline = newline;
      }
      if (timings.length === commands.length) return;
      if (lastNewline >= offset) deliver(chunk, offset, lastNewline + 1);
      const rest = Math.max(delivered, offset) - offset;
      if (rest < chunk.length) carry.push(Buffer.from(chunk.subarray(rest)));
    };

    const timer = setTimeout(
      () => {
        finish(
          new HaproxyReadError(
            'timeout',
            `no complete answer from ${target} within the deadline (${timings.length} of ${commands.length} answers, ${bytes} bytes)`,
          ),
        );
      },
      Math.max(0, options.deadline - Date.now()),
    );

    socket.on('connect', () => socket.write(`${commands.join(';')}\n`));
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      const offset = bytes;
      bytes += chunk.length;
      if (bytes > options.maxBytes) {
        finish(new HaproxyReadError('answer_too_large', `the answer from ${target} passed ${options.maxBytes} bytes`));
        return;
      }
      try {
        onChunk(chunk, offset);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (timings.length === commands.length) finish(null);
    };
    socket.on('end', () => {
      finish(new HaproxyReadError('truncated', `${target} closed the connection after ${timings.length} of ${commands.length} answers (${bytes} bytes)`));
    });
    socket.on('error', (err) => {
      finish(fromSystemError(err, target));
    });
  });
}

/** HAProxy's refusals, told by an answer's first line. */
function haproxyRefusal(firstLine: string, command: string, target: string): HaproxyReadError | null {
  const trimmed = firstLine.trim();
  if (trimmed === 'Permission denied') {
    return new HaproxyReadError(
      'haproxy_permission_denied',
      `HAProxy at ${target} answered "Permission denied" to "${command}": the socket's level is too low`,
    );
  }
  if (trimmed.startsWith('Unknown command')) {
    return new HaproxyReadError('unknown_command', `HAProxy at ${target} does not know "${command}" (too old a version?)`);
  }
  return null;
}
