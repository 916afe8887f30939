import assert from 'node:assert/strict';
import { test } from 'node:test';
import { constraints, micMid } from '../src/mic.ts';

// The host's audio offer with the microphone section (docs/microphone.md), trimmed.
const offer = [
  'v=0',
  'a=group:BUNDLE audio0 audio1',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:audio0',
  'a=sendonly',
  'a=rtpmap:111 OPUS/48000/2',
  'm=audio 0 UDP/TLS/RTP/SAVPF 109',
  'a=mid:audio1',
  'a=recvonly',
  'a=rtpmap:109 OPUS/48000/2',
  '',
].join('\r\n');

test('the microphone section is the receive-only audio one', () => {
  assert.equal(micMid(offer), 'audio1');
});

test('an offer without it (legacy host, or microphone off) has none', () => {
  const legacy = offer.split('m=audio 0')[0];
  assert.equal(micMid(legacy), null);
  assert.equal(micMid(offer.replace('a=recvonly', 'a=sendrecv')), null);
  assert.equal(micMid(''), null);
  // A receive-only video section is not the microphone.
  assert.equal(micMid('v=0\nm=video 9 UDP 96\na=mid:v\na=recvonly\n'), null);
});

test('constraints follow the switches', () => {
  const c = constraints({ echoCancellation: false, noiseSuppression: true }).audio as MediaTrackConstraints;
  assert.equal(c.echoCancellation, false);
  assert.equal(c.noiseSuppression, true);
  assert.equal(c.channelCount, 1);
});

test('the opt-in rides in the HELLO metadata only when asked for', async () => {
  const { helloMessage } = await import('../src/signalling.ts');
  const meta = (line: string): Record<string, unknown> => JSON.parse(atob(line.split(' ')[2] ?? '')) as Record<string, unknown>;
  assert.equal(meta(helloMessage(3, 800, 600, 1, 't', undefined, { mic: true })).mic, true);
  assert.equal('mic' in meta(helloMessage(3, 800, 600, 1, 't')), false);
});
