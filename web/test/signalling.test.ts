import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appName, clientToken, decodableVideoCodecs, helloMessage, parseSignal, signallingUrl } from '../src/signalling.ts';

test('HELLO meta matches the docs/protocol.md §12 vector', () => {
  assert.equal(helloMessage(1, 1920, 1080, 1), 'HELLO 1 eyJyZXMiOiIxOTIweDEwODAiLCJzY2FsZSI6MX0=');
  const meta = JSON.parse(atob(helloMessage(3, 1001.5, 701, 1.5).split(' ')[2] ?? ''));
  assert.deepEqual(meta, { res: '1502x1050', scale: 1.5 });
});

test('HELLO meta lists the video codecs the browser decodes, so the host never offers another', () => {
  const codecs = decodableVideoCodecs({
    codecs: [{ mimeType: 'video/VP8' }, { mimeType: 'video/rtx' }, { mimeType: 'video/H264' }, { mimeType: 'video/H264' }, { mimeType: 'video/red' }],
  });
  assert.deepEqual(codecs, ['VP8', 'H264']);
  const meta = JSON.parse(atob(helloMessage(1, 1920, 1080, 1, undefined, codecs).split(' ')[2] ?? ''));
  assert.deepEqual(meta, { res: '1920x1080', scale: 1, codecs: ['VP8', 'H264'] });
  assert.equal(decodableVideoCodecs(null), undefined);
});

test('signalling URL is page-relative with the appName segment', () => {
  assert.equal(signallingUrl({ protocol: 'http:', host: 'h:8080', pathname: '/' }), 'ws://h:8080/webrtc/signalling/');
  assert.equal(
    signallingUrl({ protocol: 'https:', host: 'h', pathname: '/index.html' }),
    'wss://h/webrtc/signalling/',
  );
  assert.equal(
    signallingUrl({ protocol: 'https:', host: 'h', pathname: '/desk/' }),
    'wss://h/desk/desk/signalling/',
  );
  assert.equal(appName('/desk/index.html'), 'webrtc');
  assert.equal(appName('/desk/'), 'desk');
});

test('server frames are classified', () => {
  assert.deepEqual(parseSignal('HELLO'), { kind: 'hello' });
  assert.deepEqual(parseSignal("ERROR peer '1' not found"), { kind: 'error', text: "ERROR peer '1' not found" });
  assert.deepEqual(parseSignal('{"sdp": {"type": "offer", "sdp": "v=0\\r\\n"}}'), {
    kind: 'sdp',
    sdp: { type: 'offer', sdp: 'v=0\r\n' },
  });
  assert.deepEqual(parseSignal('{"ice": {"candidate": "candidate:1 1 UDP 1 127.0.0.1 5000 typ host", "sdpMLineIndex": 1}}'), {
    kind: 'ice',
    ice: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMLineIndex: 1 },
  });
  assert.equal(parseSignal('{"ice": {"candidate": "c"}}').kind, 'ice');
  assert.equal(parseSignal('{"sdp": 5}').kind, 'other');
  assert.equal(parseSignal('{broken').kind, 'other');
  assert.equal(parseSignal('SESSION_OK').kind, 'other');
});

test('HELLO carries the takeover token, kept in storage', () => {
  const store = new Map<string, string>();
  const storage = { getItem: (k: string) => store.get(k) ?? null, setItem: (k: string, v: string) => void store.set(k, v) };
  const token = clientToken(storage);
  assert.match(token, /^[0-9a-f]{32}$/);
  assert.equal(clientToken(storage), token, 'the same browser keeps its token');
  const meta = JSON.parse(atob(helloMessage(1, 100, 100, 1, token).split(' ')[2] ?? ''));
  assert.equal(meta.token, token);
  assert.notEqual(clientToken(null), clientToken(null), 'no storage: a fresh token each time');
});

test('a socket opened ahead of time (prefetch) gets its HELLO at once; one that failed reports closed', async () => {
  const { Signalling } = await import('../src/signalling.ts');
  const { FakeSocket } = await import('./fakes.ts');
  const noop = (): void => {};
  const early = new FakeSocket('ws://h/ws');
  early.readyState = 1; // opened before the peer took it
  let closed: [boolean, number] | null = null;
  const events = {
    onRegistered: noop,
    onSdp: noop,
    onIce: noop,
    onServerError: noop,
    onClosed: (wasOpen: boolean, code: number) => {
      closed = [wasOpen, code];
    },
  };
  const sig = new Signalling('ws://h/ws', () => 'HELLO 1 e30=', events, () => early as unknown as WebSocket);
  sig.connect();
  assert.deepEqual(early.sent, ['HELLO 1 e30='], 'HELLO without waiting for an open event that already fired');
  early.serverSays('HELLO');
  assert.equal(closed, null);

  const failed = new FakeSocket('ws://h/ws');
  failed.readyState = 3;
  new Signalling('ws://h/ws', () => 'HELLO 1 e30=', events, () => failed as unknown as WebSocket).connect();
  assert.deepEqual(closed, [false, 0], 'a prefetched socket that already failed is reported lost');
  assert.deepEqual(failed.sent, []);
});

test('a socket that greeted the host early (prefetch) sends no second HELLO and replays what the host said meanwhile', async () => {
  const { Signalling } = await import('../src/signalling.ts');
  const { FakeSocket } = await import('./fakes.ts');
  const ws = new FakeSocket('ws://h/ws');
  ws.readyState = 1;
  ws.sent.push('HELLO 1 early');
  const offer = JSON.stringify({ sdp: { type: 'offer', sdp: 'v=0\r\n' } });
  const ice = JSON.stringify({ ice: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMLineIndex: 0 } });
  const seen: string[] = [];
  let closed: [boolean, number] | null = null;
  const events = {
    onRegistered: () => seen.push('registered'),
    onSdp: (sdp: RTCSessionDescriptionInit) => seen.push(`sdp ${String(sdp.type)}`),
    onIce: () => seen.push('ice'),
    onServerError: (text: string) => seen.push(text),
    onClosed: (wasOpen: boolean, code: number) => {
      closed = [wasOpen, code];
    },
  };
  const early = { ws: ws as unknown as WebSocket, greeted: true, backlog: ['HELLO', offer, ice] };
  new Signalling('ws://h/ws', () => 'HELLO 1 late', events, () => early).connect();
  assert.deepEqual(ws.sent, ['HELLO 1 early'], 'no second HELLO');
  assert.deepEqual(seen, ['registered', 'sdp offer', 'ice'], 'the backlog in order');
  assert.deepEqual(early.backlog, [], 'replayed once');
  ws.serverSays(ice);
  assert.deepEqual(seen.at(-1), 'ice', 'then live frames');
  ws.drop(1006);
  assert.deepEqual(closed, [true, 1006], 'a greeted socket that closes is a lost session');

  // Greeted, then refused and closed before the peer took it: the refusal, then lost.
  const gone = new FakeSocket('ws://h/ws');
  gone.readyState = 3;
  seen.length = 0;
  const refused = { ws: gone as unknown as WebSocket, greeted: true, backlog: ['ERROR busy'] };
  new Signalling('ws://h/ws', () => 'HELLO 1 late', events, () => refused).connect();
  assert.deepEqual(seen, ['ERROR busy']);
  assert.deepEqual(closed, [true, 0]);
});
