// Where HAProxy's syslog datagrams arrive: `udp://HOST:PORT` or `unixgram:PATH`. Any number of
// HAProxy processes may send to one receiver: each datagram is a whole line.

import dgram from 'node:dgram';
import { readFile, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';

export interface LogReceiver {
  /** `udp://127.0.0.1:5140`, with the port the OS gave when 0 was asked. */
  readonly address: string;
  /** Datagrams the kernel dropped because nosrv did not read them fast enough (UDP on Linux). */
  dropped(): Promise<number | null>;
  close(): Promise<void>;
}

/** 4 MiB: room for bursts; the kernel caps it at net.core.rmem_max. */
const RECEIVE_BUFFER = 4 * 1024 * 1024;

export async function startLogReceiver(listen: string, onDatagram: (text: string) => void): Promise<LogReceiver> {
  if (listen.startsWith('unixgram:')) return startUnixgram(listen.slice('unixgram:'.length), onDatagram);
  const url = new URL(listen);
  if (url.protocol !== 'udp:') throw new Error(`--logs.listen: expected udp://HOST:PORT or unixgram:PATH, got ${listen}`);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const socket = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: RECEIVE_BUFFER });
  socket.on('message', (message) => {
    onDatagram(message.toString('utf8'));
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(Number(url.port), host, () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', () => {}); // a UDP socket has no peer to fail on; errors here are not fatal
  const { address, port, family } = socket.address();
  return {
    address: `udp://${family === 'IPv6' ? `[${address}]` : address}:${port}`,
    dropped: () => kernelDrops(family === 'IPv6' ? '/proc/net/udp6' : '/proc/net/udp', port),
    close: () =>
      new Promise((resolve) =>
        socket.close(() => {
          resolve();
        }),
      ),
  };
}

interface UnixDgramSocket {
  on(event: 'error', listener: (err: Error) => void): void;
  on(event: 'listening', listener: () => void): void;
  bind(path: string): void;
  close(): void;
}

async function startUnixgram(path: string, onDatagram: (text: string) => void): Promise<LogReceiver> {
  // Node has no Unix datagram sockets; unix-dgram is the maintained native binding.
  const { createSocket } = createRequire(import.meta.url)('unix-dgram') as {
    createSocket: (type: 'unix_dgram', listener?: (m: Buffer) => void) => UnixDgramSocket;
  };
  await rm(path, { force: true }); // a socket file left by an earlier run
  const socket = createSocket('unix_dgram', (message) => {
    onDatagram(message.toString('utf8'));
  });
  await new Promise<void>((resolve, reject) => {
    socket.on('error', reject);
    socket.on('listening', () => {
      resolve();
    });
    socket.bind(path);
  });
  return {
    address: `unixgram:${path}`,
    dropped: () => Promise.resolve(null),
    async close() {
      socket.close();
      await rm(path, { force: true });
    },
  };
}

/** The `drops` column of /proc/net/udp for our port; null where there is no such file. */
async function kernelDrops(file: string, port: number): Promise<number | null> {
  try {
    const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
    for (const line of (await readFile(file, 'utf8')).split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields[1]?.endsWith(`:${hexPort}`)) return Number(fields[12] ?? 0);
    }
    return 0;
  } catch {
    return null;
  }
}
