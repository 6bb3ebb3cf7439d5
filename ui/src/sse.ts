/**
 * Server-Sent Events read from a fetch() body (EventSource cannot send the Authorization header):
 * a parser for the text/event-stream format (WHATWG HTML, "Event stream interpretation"), pure so
 * it can be unit-tested, and a loop that feeds it from a stream reader.
 */

export interface SseEvent {
  /** The `event:` name, "message" when there was none. */
  event: string;
  /** The `data:` lines joined by "\n". */
  data: string;
  /** The last `id:` seen, if any. */
  id?: string;
}

/** Turns chunks of text into events; lines may end in CRLF, LF or CR, and be split across chunks. */
export class SseParser {
  #buf = '';
  #data: string[] = [];
  #event = '';
  #id: string | undefined;
  /** The previous chunk ended in CR: a LF starting this one belongs to that line end. */
  #skipLf = false;

  push(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    let s = this.#buf + text;
    if (this.#skipLf && s.startsWith('\n')) s = s.slice(1);
    this.#skipLf = false;
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      if (c !== 10 && c !== 13) continue;
      this.#line(s.slice(start, i), out);
      if (c === 13) {
        if (i + 1 === s.length) this.#skipLf = true;
        else if (s.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    this.#buf = s.slice(start);
    return out;
  }

  #line(line: string, out: SseEvent[]): void {
    if (line === '') { // end of an event
      if (this.#data.length > 0) {
        const e: SseEvent = { event: this.#event || 'message', data: this.#data.join('\n') };
        if (this.#id !== undefined) e.id = this.#id;
        out.push(e);
      }
      this.#data = [];
      this.#event = '';
      return;
    }
    if (line.startsWith(':')) return; // a comment (keep-alive)
    const colon = line.indexOf(':');
    const name = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (name === 'data') this.#data.push(value);
    else if (name === 'event') this.#event = value;
    else if (name === 'id' && !value.includes('\0')) this.#id = value;
    // "retry" and unknown fields: nothing to do here.
  }
}

/**
 * Reads `body` to its end, calling `onEvent` for each event. Rejects with the reader's error (an
 * AbortError when the fetch's signal aborted it).
 */
export async function readSse(body: ReadableStream<Uint8Array>, onEvent: (e: SseEvent) => void): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  const parser = new SseParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      for (const e of parser.push(decoder.decode(value, { stream: true }))) onEvent(e);
    }
  } finally {
    reader.releaseLock();
  }
}
