import assert from 'node:assert/strict';
import { test } from 'node:test';
import { canSendCamera, parseSize, webcamMid } from '../src/webcam.ts';

const screenOnly =
  'v=0\r\no=- 1 0 IN IP4 0.0.0.0\r\ns=-\r\nt=0 0\r\na=group:BUNDLE video0 application1\r\n' +
  'm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:video0\r\na=sendonly\r\na=rtpmap:96 VP8/90000\r\n' +
  'm=application 0 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:application1\r\n';

test('a legacy-style offer (screen only) asks for no camera', () => {
  assert.equal(webcamMid(screenOnly), null);
});

test('the host-enabled offer names its receive-only video section', () => {
  const withCam = screenOnly.replace(
    'm=application',
    'm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=mid:video1\r\na=recvonly\r\na=rtpmap:102 VP8/90000\r\nm=application',
  );
  assert.equal(webcamMid(withCam), 'video1');
  // An audio section that is recvonly is not a camera.
  assert.equal(webcamMid(screenOnly.replace('m=video 9', 'm=audio 9').replace('a=sendonly', 'a=recvonly')), null);
});

test('drawer sizes parse, garbage does not', () => {
  assert.deepEqual(parseSize('1280x720'), [1280, 720]);
  assert.equal(parseSize('1280×720'), null);
  assert.equal(parseSize('x720'), null);
});

test('the camera is offered only by a browser that sends VP8', () => {
  assert.equal(canSendCamera({ codecs: [{ mimeType: 'video/H264' }, { mimeType: 'video/VP8' }] }), true);
  assert.equal(canSendCamera({ codecs: [{ mimeType: 'video/H264' }] }), false);
  assert.equal(canSendCamera(null), false);
});
