import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildFrame, decoderCodec, h264CodecString, nalUnits, parseFrame } from '../src/ws-frame.ts';

const SPS = [0, 0, 0, 1, 0x67, 0x4d, 0x40, 0x28, 0xaa];
const PPS = [0, 0, 0, 1, 0x68, 0xee];
const IDR = [0, 0, 1, 0x65, 0x88, 0x84];

test('a frame round-trips through build and parse', () => {
  const payload = new Uint8Array([...SPS, ...PPS, ...IDR]);
  const msg = buildFrame({ stream: 'video', keyframe: true, config: true, codec: 'H264', captureUs: 1_733_000_000_123_456 }, payload);
  assert.deepEqual(Array.from(msg.subarray(0, 4)), [0, 3, 1, 0]);
  const f = parseFrame(msg);
  assert.ok(!('error' in f));
  assert.equal(f.stream, 'video');
  assert.equal(f.keyframe, true);
  assert.equal(f.config, true);
  assert.equal(f.codec, 'H264');
  assert.equal(f.captureUs, 1_733_000_000_123_456);
  assert.deepEqual(Array.from(f.payload), Array.from(payload));
});

test('bytes the host writes (big-endian timestamp) parse as such', () => {
  const msg = new Uint8Array([1, 0, 16, 0, 0, 0, 0, 0, 0, 0, 1, 2, 0xfc]);
  const f = parseFrame(msg);
  assert.ok(!('error' in f));
  assert.equal(f.stream, 'audio');
  assert.equal(f.codec, 'OPUS');
  assert.equal(f.captureUs, 258);
  assert.deepEqual(Array.from(f.payload), [0xfc]);
});

test('malformed frames give errors, never throw', () => {
  const bad = (bytes: number[]): string => {
    const f = parseFrame(new Uint8Array(bytes));
    assert.ok('error' in f, `accepted ${bytes}`);
    return f.error;
  };
  assert.match(bad([0, 0, 1]), /shorter/);
  assert.match(bad([5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /unknown stream id 5/);
  assert.match(bad([0, 0, 99, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /unknown codec 99/);
  assert.match(bad([0, 0, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /OPUS on the video/);
  assert.match(bad([0, 0x80, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0]), /reserved/);
});

test('NAL units split on 3- and 4-byte start codes', () => {
  const units = nalUnits(new Uint8Array([...SPS, ...PPS, ...IDR]));
  assert.deepEqual(
    units.map((u) => Array.from(u)),
    [
      [0x67, 0x4d, 0x40, 0x28, 0xaa],
      [0x68, 0xee],
      [0x65, 0x88, 0x84],
    ],
  );
});

test('the codec string comes from the SPS (profile, constraints, level)', () => {
  assert.equal(h264CodecString(new Uint8Array([...SPS, ...IDR])), 'avc1.4D4028');
  assert.equal(h264CodecString(new Uint8Array(IDR)), null);
  assert.equal(decoderCodec('H264', new Uint8Array(IDR)), 'avc1.42E01F');
  assert.equal(decoderCodec('VP8', new Uint8Array()), 'vp8');
  assert.equal(decoderCodec('OPUS', new Uint8Array()), null);
});
