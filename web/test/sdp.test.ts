import assert from 'node:assert/strict';
import { test } from 'node:test';
import { mungeAnswer, mungeH264, mungeOpus } from '../src/sdp.ts';

const chromeH264 =
  'v=0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 H264/90000\r\n' +
  'a=fmtp:96 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f\r\n';
const chromeOpus = 'm=audio 9 UDP/TLS/RTP/SAVPF 97\r\na=rtpmap:97 OPUS/48000/2\r\na=fmtp:97 minptime=10;useinbandfec=1\r\n';

test('H.264 answer gains sps-pps-idr-in-keyframe=1', () => {
  const out = mungeH264(chromeH264);
  assert.match(out, /a=fmtp:96 level-asymmetry-allowed=1;sps-pps-idr-in-keyframe=1;packetization-mode=1;/);
  assert.equal(mungeH264(out), out);
  assert.equal(mungeH264(chromeH264.replace('packetization-mode=1', 'sps-pps-idr-in-keyframe=0;packetization-mode=1')).includes('sps-pps-idr-in-keyframe=1'), true);
});

test('VP8 answers are left alone', () => {
  const vp8 = 'm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n';
  assert.equal(mungeAnswer(vp8), vp8);
});

test('Opus answer gets stereo=1 and keeps minptime=10', () => {
  const out = mungeOpus(chromeOpus);
  assert.match(out, /a=fmtp:97 minptime=10;stereo=1;useinbandfec=1/);
  const forced = mungeOpus('a=fmtp:97 minptime=20;stereo=0;sprop-stereo=0;useinbandfec=1\r\n');
  assert.equal(forced, 'a=fmtp:97 minptime=10;stereo=1;sprop-stereo=0;useinbandfec=1\r\n');
});

test('multiopus and answers without useinbandfec are untouched', () => {
  const multi = 'a=rtpmap:97 multiopus/48000/6\r\na=fmtp:97 useinbandfec=1\r\n';
  assert.equal(mungeOpus(multi), multi);
  assert.equal(mungeOpus('a=fmtp:97 minptime=10\r\n'), 'a=fmtp:97 minptime=10\r\n');
});
