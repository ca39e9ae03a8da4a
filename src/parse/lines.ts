// What the streamed parsers share: an answer arrives in pieces of whole lines, kept as bytes, and
// most of its fields are plain integers or names that need not become strings first.

/** The digits of bytes[start, end) as a number; null when there are none, more than 15, or anything else. */
export function digitsIn(bytes: Uint8Array, start: number, end: number): number | null {
  if (start >= end || end - start > 15) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (bytes[i] ?? 0) - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}

/** An answer's bytes in one growing buffer, outside the JavaScript heap. */
export class ByteStore {
  buffer: Buffer;
  length = 0;

  constructor(capacity: number) {
    this.buffer = Buffer.allocUnsafe(capacity);
  }

  /** Gives back the room past this answer, once it has all arrived. */
  trim(): void {
    const room = trimmedRoom(this.buffer.length, this.length);
    if (room === null) return;
    const trimmed = Buffer.allocUnsafe(room);
    this.buffer.copy(trimmed, 0, 0, this.length);
    this.buffer = trimmed;
  }

  /** Copies `bytes` in; returns where they start. */
  append(bytes: Uint8Array): number {
    const start = this.length;
    if (start + bytes.length > this.buffer.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, start + bytes.length));
      this.buffer.copy(grown, 0, 0, start);
      this.buffer = grown;
    }
    this.buffer.set(bytes, start);
    this.length = start + bytes.length;
    return start;
  }

  /** Copies whole lines in and calls `visit` with where each of them starts and ends (without its newline). */
  appendLines(lines: Uint8Array, visit: (start: number, end: number) => void): void {
    const to = this.append(lines) + lines.length;
    const bytes = this.buffer;
    for (let start = to - lines.length; start < to;) {
      let end = bytes.indexOf(10, start);
      if (end < 0 || end > to) end = to;
      visit(start, end);
      start = end + 1;
    }
  }

  text(start: number, end: number): string {
    return this.buffer.toString('utf8', start, end);
  }
}

/**
 * Room for `used` and a sixteenth more (and a little for a tiny answer): what a buffer is trimmed
 * to, and what the next answer of about the same size is given at once, so that it never grows.
 */
export function roomFor(used: number): number {
  return used + (used >> 4) + 1024;
}

/** What a buffer of `capacity` holding `used` is trimmed to; null when it is no more than an eighth past `roomFor(used)`. */
export function trimmedRoom(capacity: number, used: number): number | null {
  const room = roomFor(used);
  return capacity <= room + (room >> 3) ? null : room;
}

/** bytes[start, end) is `text`, told without making a string while the text is ASCII. */
export function textIs(bytes: Buffer, start: number, end: number, text: string): boolean {
  // UTF-8 never takes fewer bytes than UTF-16 takes code units.
  if (end - start < text.length) return false;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    // Past ASCII a character is not its byte: the bytes are read as text.
    if (code > 127) return bytes.toString('utf8', start, end) === text;
    if (bytes[start + i] !== code) return false;
  }
  return end - start === text.length;
}
