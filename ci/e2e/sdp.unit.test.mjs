import assert from 'node:assert/strict';
import { test } from 'node:test';
import { extmaps, fmtpParam, mediaSections } from './sdp.mjs';

const PD = 'http://www.webrtc.org/experiments/rtp-hdrext/playout-delay';
const SDP = [
  'v=0', 'o=- 1 0 IN IP4 0.0.0.0', 's=-', 't=0 0',
  'm=video 9 UDP/TLS/RTP/SAVPF 97', 'a=mid:video0', `a=extmap:1 ${PD}`, 'a=rtpmap:97 H264/90000',
  'a=fmtp:97 packetization-mode=1;profile-level-id=42e01f;level-asymmetry-allowed=1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111', 'a=extmap:3/sendonly urn:ietf:params:rtp-hdrext:ssrc-audio-level', 'a=rtpmap:111 OPUS/48000/2',
  '',
].join('\r\n');

test('sections and extmaps are per media kind', () => {
  assert.deepEqual(mediaSections(SDP).map((s) => s.kind), ['video', 'audio']);
  assert.equal(extmaps(SDP, 'video').get(PD), 1);
  assert.equal(extmaps(SDP, 'audio').get(PD), undefined);
  assert.equal(extmaps(SDP, 'audio').get('urn:ietf:params:rtp-hdrext:ssrc-audio-level'), 3);
  assert.equal(extmaps('v=0\r\n', 'video').size, 0);
});

test('fmtp parameters of a named codec', () => {
  assert.equal(fmtpParam(SDP, 'video', 'h264', 'profile-level-id'), '42e01f');
  assert.equal(fmtpParam(SDP, 'video', 'H264', 'missing'), null);
  assert.equal(fmtpParam(SDP, 'video', 'VP8', 'profile-level-id'), null);
});
