import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AmqpError } from '../amqp-error.js';
import { FrameReader } from './frame-reader.js';
import type { FrameHandler } from './frame-reader.js';
import { FRAME_BODY, FRAME_HEADER, FRAME_HEARTBEAT, FRAME_METHOD } from './frame-types.js';
import { Rng, SEED } from './fuzz-values.js';

interface Frame { type: number; channel: number; payload: Buffer }

const PROTOCOL_HEADER = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
const TYPES = [FRAME_METHOD, FRAME_HEADER, FRAME_BODY, FRAME_HEARTBEAT];

function encodeFrame(f: Frame): Buffer {
  const b = Buffer.alloc(8 + f.payload.length);
  b[0] = f.type;
  b.writeUInt16BE(f.channel, 1);
  b.writeUInt32BE(f.payload.length, 3);
  f.payload.copy(b, 7);
  b[b.length - 1] = 0xce;
  return b;
}

/** A handler that records everything, copying payload views (they are only valid during the call). */
function recorder(): FrameHandler & { headers: Buffer[]; frames: Frame[] } {
  const headers: Buffer[] = [];
  const frames: Frame[] = [];
  return {
    headers, frames,
    onProtocolHeader(h) { headers.push(Buffer.from(h)); },
    onFrame(type, channel, buf, start, end) { frames.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)) }); },
  };
}

function randomFrames(rng: Rng, n: number): Frame[] {
  const frames: Frame[] = [];
  for (let i = 0; i < n; i++) {
    const big = rng.chance(0.05);
    frames.push({
      type: rng.pick(TYPES), channel: rng.int(0, 0xffff),
      payload: rng.bytes(big ? rng.int(1000, 20000) : rng.int(0, 60)),
    });
  }
  return frames;
}

/** Splits `data` at random points; `tiny` makes every chunk 1-3 bytes. */
function chunks(rng: Rng, data: Buffer, tiny: boolean): Buffer[] {
  const out: Buffer[] = [];
  for (let p = 0; p < data.length;) {
    const n = tiny ? rng.int(1, 3) : rng.pick([1, 2, 7, 8, 9, rng.int(1, 100), rng.int(1, 5000), rng.int(1, 40000)]);
    out.push(data.subarray(p, p + n));
    p += n;
  }
  return out;
}

function expect501(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof AmqpError, `expected AmqpError, got ${String(e)}`);
    assert.equal(e.replyCode, 501);
    assert.match(e.message, re);
    return true;
  });
}

describe('frame reader', () => {
  it('yields the same frames for any chunking, including 1-byte chunks', () => {
    const rng = new Rng(SEED);
    for (let round = 0; round < 30; round++) {
      const frames = randomFrames(rng, 200);
      const data = Buffer.concat([PROTOCOL_HEADER, ...frames.map(encodeFrame)]);
      const h = recorder();
      const reader = new FrameReader(h, 1 << 20);
      for (const c of chunks(rng, data, round % 5 === 0)) {
        // Reuse-safety: the caller may overwrite its chunk after push() returns.
        const copy = Buffer.from(c);
        reader.push(copy);
        copy.fill(0xaa);
      }
      assert.deepStrictEqual(h.headers, [PROTOCOL_HEADER]);
      assert.equal(h.frames.length, frames.length, `seed ${SEED} round ${round}`);
      assert.deepStrictEqual(h.frames, frames, `seed ${SEED} round ${round}`);
      assert.equal(reader.bufferedBytes, 0);
    }
  });

  it('hands out ranges of the chunk when a frame lies within it', () => {
    const chunk = Buffer.concat([PROTOCOL_HEADER, encodeFrame({ type: 1, channel: 1, payload: Buffer.from('abcd') })]);
    let seen: Buffer | undefined;
    const reader = new FrameReader({ onProtocolHeader() {}, onFrame(_t, _c, b, start, end) { seen = b.subarray(start, end); } }, 4096);
    reader.push(chunk);
    assert.equal(seen!.buffer, chunk.buffer);
    assert.equal(seen!.toString(), 'abcd');
  });

  it('passes whatever 8 bytes arrive first as the protocol header', () => {
    const h = recorder();
    const reader = new FrameReader(h, 4096);
    reader.push(Buffer.from('GET '));
    reader.push(Buffer.from('/ HTTP/1.1'));
    assert.deepStrictEqual(h.headers.map(String), ['GET / HT']);
  });

  it('rejects a bad frame end, an unknown type and oversize frames with 501', () => {
    const good = encodeFrame({ type: 1, channel: 2, payload: Buffer.alloc(10) });
    const badEnd = Buffer.from(good);
    badEnd[badEnd.length - 1] = 0x00;
    let reader = new FrameReader(recorder(), 4096);
    reader.push(PROTOCOL_HEADER);
    expect501(() => reader.push(badEnd), /frame end byte 0x00 instead of 0xce/);
    expect501(() => reader.push(good), /frame end byte/); // the reader stays failed

    const badType = Buffer.from(good);
    badType[0] = 4;
    reader = new FrameReader(recorder(), 4096);
    expect501(() => reader.push(Buffer.concat([PROTOCOL_HEADER, badType])), /unknown frame type 4/);

    // Oversize is detected from the header alone, before the payload arrives.
    reader = new FrameReader(recorder(), 4096);
    reader.push(PROTOCOL_HEADER);
    const header = Buffer.from([3, 0, 1, 0, 0, 0x0f, 0xf9]); // payload 4089 → frame 4097
    expect501(() => reader.push(header), /4097 bytes \(payload 4089\) exceeds frame-max 4096/);
    // Exactly frame-max is fine; maxFrameSize can be changed between frames.
    const h = recorder();
    reader = new FrameReader(h, 4096);
    reader.push(PROTOCOL_HEADER);
    reader.push(encodeFrame({ type: 3, channel: 1, payload: Buffer.alloc(4088) }));
    reader.maxFrameSize = 100;
    expect501(() => reader.push(encodeFrame({ type: 3, channel: 1, payload: Buffer.alloc(93) })), /exceeds frame-max 100/);
    assert.equal(h.frames.length, 1);
  });

  it('never throws anything but AmqpError on random bytes, and always finishes', () => {
    const rng = new Rng(SEED ^ 0x5151);
    for (let i = 0; i < 3000; i++) {
      const reader = new FrameReader(recorder(), rng.pick([0, 4096, 131072]));
      let data: Buffer;
      if (rng.bool()) {
        data = rng.bytes(rng.int(0, 400));
      } else {
        // Valid frames with a few corrupted bytes get past the first header more often.
        data = Buffer.concat([PROTOCOL_HEADER, ...randomFrames(rng, 5).map(encodeFrame)]);
        for (let k = rng.int(1, 3); k > 0; k--) data[rng.int(0, data.length - 1)] = rng.next() & 0xff;
      }
      try {
        for (const c of chunks(rng, data, rng.chance(0.2))) reader.push(c);
      } catch (e) {
        assert.ok(e instanceof AmqpError && e.replyCode === 501, `seed ${SEED} iteration ${i}: ${String(e)}`);
      }
    }
  });

  it('pause() buffers frames and resume() dispatches them in order', () => {
    const rng = new Rng(SEED ^ 0x7777);
    const frames = randomFrames(rng, 300);
    const data = Buffer.concat([PROTOCOL_HEADER, ...frames.map(encodeFrame)]);
    const got: Frame[] = [];
    let reader!: FrameReader;
    const handler: FrameHandler = {
      onProtocolHeader() {},
      onFrame(type, channel, buf, start, end) {
        got.push({ type, channel, payload: Buffer.from(buf.subarray(start, end)) });
        if (rng.chance(0.2)) reader.pause();
        if (rng.chance(0.1)) reader.resume(); // pause and resume inside one handler call
      },
    };
    reader = new FrameReader(handler, 1 << 20);
    for (const c of chunks(rng, data, false)) {
      const before = got.length;
      const wasPaused = reader.isPaused;
      reader.push(Buffer.from(c));
      if (wasPaused) assert.equal(got.length, before, 'nothing dispatched while paused');
      if (rng.chance(0.5)) reader.resume();
    }
    while (reader.isPaused) reader.resume();
    assert.deepStrictEqual(got, frames);
    assert.equal(reader.bufferedBytes, 0);
  });

  it('keeps the following frames when the handler throws', () => {
    const frames: Frame[] = [1, 2, 3, 4].map((ch) => ({ type: 1, channel: ch, payload: Buffer.from([ch]) }));
    const got: number[] = [];
    const reader = new FrameReader({
      onProtocolHeader() {},
      onFrame(_t, channel) {
        got.push(channel);
        if (channel === 2) throw new Error('channel 2 exploded');
      },
    }, 4096);
    assert.throws(() => reader.push(Buffer.concat([PROTOCOL_HEADER, ...frames.map(encodeFrame)])), /exploded/);
    assert.deepStrictEqual(got, [1, 2]);
    reader.push(encodeFrame({ type: 8, channel: 0, payload: Buffer.alloc(0) }));
    assert.deepStrictEqual(got, [1, 2, 3, 4, 0]);
  });
});
