/** An answer from HAProxy that does not have the shape its command promises. */
export class ParseError extends Error {
  readonly code = 'malformed_answer';
  constructor(
    readonly command: string,
    detail: string,
  ) {
    super(`${command}: ${detail}`);
    this.name = 'ParseError';
  }
}
