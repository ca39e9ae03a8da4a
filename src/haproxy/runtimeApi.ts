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
  const answers = new AnswerSplitter(commands, sinks, target);
  return new Promise((resolve, reject) => {
    // One read buffer for the whole answer, not a fresh one per read: what a read brings is handed
    // on (or, for an unfinished line, copied) before the next read reuses it.
    const onread = {
      buffer: Buffer.allocUnsafe(READ_BUFFER_BYTES),
      callback: (nread: number, buffer: Buffer): boolean => (onData(buffer.subarray(0, nread)), true),
    };
    const socket = address.kind === 'unix' ? net.connect({ path: address.path, onread }) : net.connect({ host: address.host, port: address.port, onread });
    let settled = false;

    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === null) resolve(answers.timings);
      else reject(error);
    };

    const timer = setTimeout(
      () => {
        finish(new HaproxyReadError('timeout', `no complete answer from ${target} within the deadline: ${answers.progress}`));
      },
      Math.max(0, options.deadline - Date.now()),
    );

    socket.on('connect', () => socket.write(`${commands.join(';')}\n`));
    const onData = (chunk: Buffer): void => {
      if (settled) return;
      if (answers.received + chunk.length > options.maxBytes) {
        finish(new HaproxyReadError('answer_too_large', `the answer from ${target} passed ${options.maxBytes} bytes`));
        return;
      }
      try {
        answers.take(chunk);
      } catch (err) {
        finish(err instanceof Error ? err : new Error(String(err)));
        return;
      }
      if (answers.done) finish(null);
    };
    socket.on('end', () => {
      finish(new HaproxyReadError('truncated', `${target} closed the connection after ${answers.progress}`));
    });
    socket.on('error', (err) => {
      finish(fromSystemError(err, target));
    });
  });
}

/**
 * Splits one connection's answer stream at the empty lines that end its answers, and hands each
 * answer's whole lines to its sink as they arrive. Lines are handed on only once complete, so a
 * UTF-8 sequence is never cut, and the text is never appended to one growing string.
 */
export class AnswerSplitter {
  /** One per answer ended so far: from the previous answer's end (or the start) to this one's. */
  readonly timings: CommandTiming[] = [];
  /** Bytes taken so far; the offsets below are in bytes of the whole stream. */
  received = 0;
  /** Where the current answer starts: its first line is where HAProxy refuses a command. */
  private answerStart = 0;
  /** Bytes before this are handed to a sink (or are an answer's end). */
  private delivered = 0;
  /** Bytes from `delivered` to the current chunk: an unfinished line. */
  private carry: Buffer[] = [];
  /** As if a newline came before the stream: a newline as its first byte is an empty line. */
  private lastNewline = -1;
  private previousEnd = performance.now();

  constructor(
    private readonly commands: readonly string[],
    private readonly sinks: readonly AnswerSink[],
    private readonly target: string,
  ) {}

  get done(): boolean {
    return this.timings.length === this.commands.length;
  }

  /** How far the stream got, for messages. */
  get progress(): string {
    return `${this.timings.length} of ${this.commands.length} answers (${this.received} bytes)`;
  }

  /** The next chunk of the stream; throws HAProxy's refusal of a command, or what a sink threw. */
  take(chunk: Buffer): void {
    const offset = this.received;
    this.received += chunk.length;
    for (let at = chunk.indexOf(10); at >= 0 && !this.done; at = chunk.indexOf(10, at + 1)) {
      const newline = offset + at;
      if (newline === this.lastNewline + 1) {
        // An empty line: the answer is what came before it (empty when nothing did).
        this.deliver(chunk, offset, newline);
        const now = performance.now();
        this.timings.push({ command: this.commands[this.timings.length] ?? '', seconds: (now - this.previousEnd) / 1000 });
        this.previousEnd = now;
        this.answerStart = this.delivered = newline + 1;
      }
      this.lastNewline = newline;
    }
    if (this.done) return;
    if (this.lastNewline >= offset) this.deliver(chunk, offset, this.lastNewline + 1);
    const rest = Math.max(this.delivered, offset) - offset;
    if (rest < chunk.length) this.carry.push(Buffer.from(chunk.subarray(rest)));
  }

  /** Hands bytes [delivered, to) to the current answer's sink; `chunk` starts at `offset`. */
  private deliver(chunk: Buffer, offset: number, to: number): void {
    if (to <= this.delivered) return;
    if (this.delivered < offset) {
      // Only the line that began in an earlier chunk is copied whole; the chunk's other lines go as they are.
      this.hand(Buffer.concat([...this.carry, chunk.subarray(0, chunk.indexOf(10) + 1)]));
      this.carry = [];
    }
    if (to > this.delivered) this.hand(chunk.subarray(this.delivered - offset, to - offset));
  }

  /** Hands whole lines, the bytes from `delivered` on, to the current answer's sink. */
  private hand(bytesOfLines: Buffer): void {
    const index = this.timings.length;
    if (this.delivered === this.answerStart) {
      const newline = bytesOfLines.indexOf(10);
      const firstLine = bytesOfLines.toString('utf8', 0, newline < 0 ? bytesOfLines.length : newline);
      const refusal = haproxyRefusal(firstLine, this.commands[index] ?? '', this.target);
      if (refusal) throw refusal;
    }
    this.delivered += bytesOfLines.length;
    const sink = itemAt(this.sinks, index);
    if ('writeBytes' in sink) sink.writeBytes(bytesOfLines);
    else sink.write(bytesOfLines.toString('utf8'));
  }
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
