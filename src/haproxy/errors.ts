// Why a read of HAProxy failed, with a stable `code` that logs, /explain and metrics rely on.

export type ReadErrorCode =
  | 'socket_missing' // no such socket file
  | 'permission_denied' // the OS refused us the socket, or HTTP 401/403 on the stats page
  | 'connection_refused' // nothing listens (a stale socket file, HAProxy stopped)
  | 'connection_reset'
  | 'timeout' // no complete answer before the deadline
  | 'truncated' // the connection closed before every answer ended
  | 'answer_too_large'
  | 'haproxy_permission_denied' // HAProxy's own answer: the socket's level forbids the command
  | 'unknown_command' // HAProxy's own answer: this version lacks the command
  | 'http_status' // the stats page answered with an HTTP error
  | 'malformed_answer' // an answer without the shape its command promises
  | 'io_error';

export class HaproxyReadError extends Error {
  constructor(
    readonly code: ReadErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'HaproxyReadError';
  }
}

const ERRNO_CODES: Record<string, ReadErrorCode> = {
  ENOENT: 'socket_missing',
  EACCES: 'permission_denied',
  EPERM: 'permission_denied',
  ECONNREFUSED: 'connection_refused',
  ECONNRESET: 'connection_reset',
  EPIPE: 'connection_reset',
  ETIMEDOUT: 'timeout',
};

/** Turns a socket or HTTP client error into a HaproxyReadError, keeping the original as `cause`. */
export function fromSystemError(err: unknown, target: string): HaproxyReadError {
  if (err instanceof HaproxyReadError) return err;
  const errno = (err as NodeJS.ErrnoException | undefined)?.code ?? '';
  const code = ERRNO_CODES[errno] ?? 'io_error';
  const detail = err instanceof Error ? err.message : String(err);
  const sentence: Record<ReadErrorCode, string> = {
    socket_missing: `no socket at ${target}: is HAProxy running, and is this its "stats socket" path?`,
    permission_denied: `permission denied on ${target}: run nosrv as a user that may open it (the socket's owner or group)`,
    connection_refused: `connection refused by ${target}: HAProxy is not listening there`,
    connection_reset: `connection to ${target} reset before the answer ended`,
    timeout: `no answer from ${target} in time`,
    truncated: `answer from ${target} cut short`,
    answer_too_large: `answer from ${target} too large`,
    haproxy_permission_denied: `HAProxy refused the command on ${target}`,
    unknown_command: `HAProxy did not know the command on ${target}`,
    http_status: `HTTP error from ${target}`,
    malformed_answer: `malformed answer from ${target}`,
    io_error: `cannot read ${target}: ${detail}`,
  };
  return new HaproxyReadError(code, sentence[code], { cause: err });
}
