import assert from 'node:assert/strict';
import { test } from 'node:test';
import { chooseTransport } from '../src/transport.ts';
import { streamRequest } from '../src/ws-transport.ts';

test('the URL parameter forces a transport, else the host decides, else auto', () => {
  assert.equal(chooseTransport('?transport=websocket', 'webrtc'), 'websocket');
  assert.equal(chooseTransport('?e2e=1&transport=webrtc', 'auto'), 'webrtc');
  assert.equal(chooseTransport('?transport=carrier-pigeon', 'websocket'), 'websocket');
  assert.equal(chooseTransport('', null), 'auto');
  assert.equal(chooseTransport('', 'nonsense'), 'auto');
});

test('the stream request carries the HELLO metadata', () => {
  const line = streamRequest(961, 540, 2, 'tok', ['H264']);
  assert.ok(line.startsWith('WSSTREAM '));
  const meta = JSON.parse(atob(line.slice(9))) as Record<string, unknown>;
  assert.deepEqual(meta, { res: '1922x1080', scale: 2, codecs: ['H264'], token: 'tok' });
});
