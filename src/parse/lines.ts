// What the streamed parsers share: an answer arrives in pieces of whole lines, and most of its
// fields are plain integers that need not become strings first.

/** Calls `visit` with each line of `text`; a last line may lack its "\n". */
export function eachLine(text: string, visit: (line: string) => void): void {
  let start = 0;
  while (start < text.length) {
    let end = text.indexOf('\n', start);
    if (end < 0) end = text.length;
    visit(text.slice(start, end));
    start = end + 1;
  }
}

/** The digits of text[start, end) as a number; null when there are none, more than 15, or anything else. */
export function digitsAt(text: string, start: number, end: number): number | null {
  if (start >= end || end - start > 15) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = text.charCodeAt(i) - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}

/** The digits of bytes[start, end) as a number; null when there are none, more than 15, or anything else. */
export function digitsIn(bytes: Uint8Array, start: number, end: number): number | null {
  if (start >= end || end - start > 15) return null;
  let value = 0;
  for (let i = start; i < end; i++) {
    const digit = (bytes[i] as number) - 48;
    if (digit < 0 || digit > 9) return null;
    value = value * 10 + digit;
  }
  return value;
}
