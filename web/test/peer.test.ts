import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StreamPeer, type PeerEvents } from '../src/peer.ts';
import { helloMessage } from '../src/signalling.ts';
import { FakePc, FakeSocket, fakePeerDeps, resetFakes, until } from './fakes.ts';

const OFFER = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n';

function peer(
  beforeAnswer?: (pc: RTCPeerConnection, offer: string) => Promise<void>,
  rtcConfig: RTCConfiguration | Promise<RTCConfiguration> = { iceServers: [] },
) {
  resetFakes();
  const log: string[] = [];
  const events: PeerEvents = {
    onStatus: (t) => log.push(`status ${t}`),
    onTrack: () => log.push('track'),
    onDataChannel: () => log.push('channel'),
    onOffer: (_pc, sdp) => log.push(`offer ${sdp.length}`),
    onStateChange: () => log.push('state'),
    onLost: (reason, wasOpen) => log.push(`lost ${reason} ${wasOpen}`),
    onTakenOver: () => log.push('taken over'),
  };
  const hello = () => helloMessage(1, 1280, 720, 1);
  const p = new StreamPeer('video', 'ws://h/webrtc/signalling/', rtcConfig, hello, events, beforeAnswer, fakePeerDeps);
  p.start();
  const ws = FakeSocket.all[0];
  const pc = FakePc.all[0];
  assert.ok(ws && pc);
  return { p, ws, pc, log };
}

test('HELLO on open, then offer → answer; early candidates and the track come after the answer', async () => {
  const order: string[] = [];
  const { ws, pc, log } = peer(async () => {
    order.push(`before answer with ${pc.candidates.length} candidates`);
  });
  // Like Chromium, the offer's track is announced while the offer is applied.
  const apply = pc.setRemoteDescription.bind(pc);
  pc.setRemoteDescription = async (d: RTCSessionDescriptionInit) => {
    await apply(d);
    pc.ontrack?.({ receiver: {}, track: { kind: 'video' }, streams: [] });
  };
  assert.equal(ws.url, 'ws://h/webrtc/signalling/');
  ws.accept();
  assert.deepEqual(ws.sent, [helloMessage(1, 1280, 720, 1)]);
  ws.serverSays('HELLO');
  // A candidate that arrives before the offer waits for it.
  ws.serverSays(JSON.stringify({ ice: { candidate: 'candidate:1 1 UDP 1 127.0.0.1 5000 typ host', sdpMLineIndex: 0 } }));
  assert.equal(pc.candidates.length, 0);
  ws.serverSays(JSON.stringify({ sdp: { type: 'offer', sdp: OFFER } }));
  await until(() => log.includes('status video: answer sent'));
  assert.equal(pc.remote?.sdp, OFFER);
  // Neither holds the answer back: the candidate is added, and the track attached, after it.
  assert.deepEqual(order, ['before answer with 0 candidates']);
  await until(() => pc.candidates.length === 1);
  const answered = log.indexOf('status video: answer sent');
  assert.ok(log.indexOf('track') > answered, `track after the answer: ${log.join(' | ')}`);
  const answer = ws.json().find((m) => (m as { sdp?: unknown }).sdp) as { sdp: RTCSessionDescriptionInit };
  assert.equal(answer.sdp.type, 'answer');
  assert.ok(answer.sdp.sdp?.startsWith('v=0'), 'the (munged) answer is sent');
  assert.ok(log.includes('status video: registered, waiting for the stream'));
  assert.ok(log.includes(`offer ${OFFER.length}`));
  // Later candidates are applied at once.
  ws.serverSays(JSON.stringify({ ice: { candidate: 'candidate:2 1 UDP 1 127.0.0.1 5001 typ host' } }));
  await until(() => pc.candidates.length === 2);
  assert.equal(pc.candidates[1]?.sdpMLineIndex, 0, 'no sdpMid: mline 0');
});

test('local ICE candidates are forwarded to the host', () => {
  const { ws, pc } = peer();
  ws.accept();
  pc.gather({ candidate: 'candidate:9 1 UDP 1 10.0.0.1 6000 typ host', sdpMid: '0', sdpMLineIndex: 0 });
  pc.onicecandidate?.({ candidate: null });
  assert.deepEqual(ws.json(), [{ ice: { candidate: 'candidate:9 1 UDP 1 10.0.0.1 6000 typ host', sdpMid: '0', sdpMLineIndex: 0 } }]);
});

test('an answer from the host is ignored; an ERROR is reported', async () => {
  const { ws, log } = peer();
  ws.accept();
  ws.serverSays(JSON.stringify({ sdp: { type: 'answer', sdp: OFFER } }));
  ws.serverSays('ERROR peer 1 not found');
  await until(() => log.some((l) => l.includes('ignored SDP')));
  assert.ok(log.includes('status video: ERROR peer 1 not found'));
});

test('the data channel and a failed connection reach the events', () => {
  const { ws, pc, log } = peer();
  ws.accept();
  pc.hostOpensChannel();
  pc.setState('failed');
  assert.deepEqual(log.slice(-3), ['channel', 'state', 'lost video: peer connection failed true']);
});

test('a closed socket is lost (open or not); a takeover is not; stop silences both', () => {
  let t = peer();
  t.ws.drop();
  assert.deepEqual(t.log, ['lost video: cannot reach the host false']);
  t = peer();
  t.ws.accept();
  t.ws.drop(1000);
  assert.deepEqual(t.log, ['lost video: signalling closed true']);
  t = peer();
  t.ws.accept();
  t.ws.drop(4001);
  assert.deepEqual(t.log, ['taken over']);
  t = peer();
  t.ws.accept();
  t.p.stop();
  assert.ok(t.ws.closed && t.pc.closed);
  t.ws.drop();
  t.pc.setState('failed');
  assert.deepEqual(t.log, ['state'], 'nothing is lost after stop');
});

test('with the ICE servers still pending, the offer is applied and answered, and only the answer waits for them', async () => {
  let resolve: (cfg: RTCConfiguration) => void = () => {};
  const { ws, pc, log } = peer(undefined, new Promise<RTCConfiguration>((r) => (resolve = r)));
  let answered = false;
  const create = pc.createAnswer.bind(pc);
  pc.createAnswer = async () => {
    answered = true;
    return create();
  };
  ws.accept();
  ws.serverSays('HELLO');
  ws.serverSays(JSON.stringify({ sdp: { type: 'offer', sdp: OFFER } }));
  await until(() => answered);
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(pc.remote?.sdp, OFFER, 'the offer is applied without the ICE servers');
  assert.equal(pc.localDescription, null, 'the answer is not set before them: ICE gathering starts there');
  assert.ok(!ws.json().some((m) => (m as { sdp?: unknown }).sdp), 'nor sent');
  const servers = { iceServers: [{ urls: 'turn:relay.example:3478', username: 'u', credential: 'c' }] };
  resolve(servers);
  await until(() => log.includes('status video: answer sent'));
  assert.deepEqual(pc.config, servers, 'applied to the connection before its answer');
  assert.ok(pc.localDescription, 'then the answer is set');
  assert.ok(!log.some((l) => l.startsWith('lost')), log.join(' | '));
});

test('ICE servers the connection refuses once it exists fail the negotiation (the session then reconnects with them)', async () => {
  const { ws, pc, log } = peer(undefined, Promise.resolve<RTCConfiguration>({ iceServers: [], bundlePolicy: 'max-compat' }));
  ws.accept();
  ws.serverSays(JSON.stringify({ sdp: { type: 'offer', sdp: OFFER } }));
  await until(() => log.some((l) => l.startsWith('lost')));
  assert.match(log.find((l) => l.startsWith('lost')) ?? '', /negotiation failed.*bundlePolicy/);
  assert.equal(pc.localDescription, null, 'no answer is set');
});
