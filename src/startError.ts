// What stops the daemon from starting that the user must fix: a flag's address, file or value that
// the system refused. Said as one line naming the flag, and exit 2, as a bad flag is.

/** A setting the daemon cannot start with. */
export class StartError extends Error {
  constructor(flag: string, value: string, reason: string) {
    super(`--${flag}=${value}: ${reason}`);
    this.name = 'StartError';
  }
}

/** The system's errors, by errno name and (as unix-dgram reports them) by negative number. */
const REASONS: Readonly<Record<string, string>> = {
  EADDRINUSE: 'the address is in use by another process',
  EADDRNOTAVAIL: 'no interface of this machine has this address',
  ENOTFOUND: 'the host name does not resolve',
  EAI_AGAIN: 'the host name does not resolve (the resolver did not answer)',
  EACCES: 'permission denied (a port below 1024 needs privileges; a socket file, write access to its folder)',
  ENOENT: 'the folder does not exist',
  '-2': 'the folder does not exist',
  '-13': 'permission denied on the folder',
  '-98': 'the address is in use by another process',
};

/** Why the system refused, in words; its own message when nosrv has none better. */
export function refusalReason(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  const errno = /^bind (-\d+)$/.exec(message)?.[1];
  return REASONS[typeof code === 'string' ? code : ''] ?? REASONS[errno ?? ''] ?? message;
}
