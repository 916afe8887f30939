import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as o from '../src/options.ts';

test('legacy option lists (docs/web-client.md "What the client does")', () => {
  assert.equal(o.VIDEO_BITRATES_KBPS.length, 25);
  assert.equal(o.VIDEO_BITRATES_KBPS[0], 250);
  assert.equal(o.VIDEO_BITRATES_KBPS.at(-1), 400000);
  assert.deepEqual(o.FRAMERATES, [10, 15, 30, 45, 60, 75, 90, 100, 120, 144, 165, 180, 200, 240]);
  assert.deepEqual(o.AUDIO_BITRATES_BPS, [24000, 32000, 48000, 64000, 96000, 128000, 192000, 256000, 320000, 510000]);
  assert.ok(o.VIDEO_BITRATES_KBPS.includes(o.DEFAULT_VIDEO_KBPS));
  assert.ok(o.FRAMERATES.includes(o.DEFAULT_FRAMERATE));
  assert.ok(o.AUDIO_BITRATES_BPS.includes(o.DEFAULT_AUDIO_BPS));
});

test('labels', () => {
  assert.equal(o.videoBitrateLabel(750), '750 kbps');
  assert.equal(o.videoBitrateLabel(8000), '8 Mbps');
  assert.equal(o.videoBitrateLabel(2500), '2.5 Mbps');
  assert.equal(o.audioBitrateLabel(128000), '128 kb/s');
  assert.equal(o.framerateLabel(60), '60 fps');
});

test('a host value outside the list is inserted in order, never duplicated', () => {
  const l = o.optionsWith(o.FRAMERATES, 25, o.framerateLabel).map((x) => x.value);
  assert.deepEqual(l.slice(0, 4), [10, 15, 25, 30]);
  assert.equal(o.optionsWith(o.FRAMERATES, 30, o.framerateLabel).length, o.FRAMERATES.length);
  assert.equal(o.optionsWith(o.FRAMERATES, null, o.framerateLabel).length, o.FRAMERATES.length);
  assert.equal(o.optionsWith(o.FRAMERATES, Number.NaN, o.framerateLabel).length, o.FRAMERATES.length);
});
