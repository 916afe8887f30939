import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppState } from '../src/app-state.ts';
import * as msg from '../src/messages.ts';
import type { BoolKey, NumberKey } from '../src/settings.ts';

/** Saved preferences, as SettingsStore returns them. */
function prefs(numbers: Partial<Record<NumberKey, number>> = {}, bools: Partial<Record<BoolKey, boolean>> = {}) {
  return {
    number: (k: NumberKey) => numbers[k] ?? null,
    bool: (k: BoolKey) => bools[k] ?? null,
  };
}
const WIN = { w: 1280, h: 720 };

test('the first announcement on a channel is reconciled with the saved choice, later ones are news', () => {
  const s = new AppState(prefs({ videoBitRate: 4000 }));
  assert.equal(s.videoKbps, 4000);
  let fx = s.hostAnnounced('video_bitrate', '8000', WIN);
  assert.deepEqual(fx.send, [msg.videoBitrate(4000)], 'the saved bitrate is sent back');
  assert.equal(fx.drawer.videoBitrate, 4000);
  assert.equal(s.videoKbps, 4000);
  fx = s.hostAnnounced('video_bitrate', '6000', WIN);
  assert.deepEqual(fx.send, [], 'another tab changed it: taken as is');
  assert.equal(s.videoKbps, 6000);
  s.channelOpened();
  fx = s.hostAnnounced('video_bitrate', '6000', WIN);
  assert.deepEqual(fx.send, [msg.videoBitrate(4000)], 'a new channel reconciles again');
});

test('without a saved choice the host value is shown and nothing is sent', () => {
  const s = new AppState(prefs());
  const fx = s.hostAnnounced('framerate', '60', WIN);
  assert.deepEqual(fx.send, []);
  assert.equal(fx.drawer.framerate, 60);
  assert.equal(s.captureFps, 60);
  assert.deepEqual(s.hostAnnounced('audio_bitrate', 'x', WIN).drawer, {}, 'a non-number changes nothing');
});

test('resize: a saved "off" is sent; an unsaved "on" sends the window size; local scaling follows', () => {
  let s = new AppState(prefs({}, { resizeRemote: false }));
  let fx = s.hostAnnounced('resize', 'True', WIN);
  assert.deepEqual(fx.send, [msg.resizeSwitch(false, 1280, 720)]);
  assert.equal(fx.sendResize, false);
  assert.equal(s.resizeRemote, false);
  assert.equal(fx.drawer.scaleLocal, true, 'no remote resize: scale the frame locally');
  s = new AppState(prefs());
  fx = s.hostAnnounced('resize', 'true', WIN);
  assert.deepEqual(fx.send, []);
  assert.equal(fx.sendResize, true);
  assert.equal(fx.drawer.resizeRemote, true);
  assert.deepEqual(s.hostAnnounced('resize', 'maybe', WIN).drawer, {});
});

test('local_scaling applies only without a saved choice; other announcements', () => {
  let s = new AppState(prefs());
  assert.equal(s.hostAnnounced('local_scaling', 'true', WIN).drawer.scaleLocal, true);
  s = new AppState(prefs({}, { scaleLocal: false }));
  assert.deepEqual(s.hostAnnounced('local_scaling', 'true', WIN).drawer, {});
  assert.equal(s.scaleLocal, false);
  const r = s.hostAnnounced('resolution', '1920x1080', WIN);
  assert.equal(s.resolution, '1920x1080');
  assert.deepEqual(r.log, ['remote resolution 1920x1080']);
  s.hostAnnounced('encoder', 'x264enc', WIN);
  assert.equal(s.encoder, 'x264enc');
  assert.equal(s.hostAnnounced('reload', '', WIN).restart, true);
  assert.deepEqual(s.hostAnnounced('bogus', '1', WIN).debug, ['unknown system action bogus']);
});
