import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathText, selectedPath } from '../src/connectivity.ts';
import { statusRows } from '../src/overlay.ts';
import type { StatsSample } from '../src/session.ts';
import { glassToGlass } from '../src/stats.ts';

// Chromium's getStats() through the embedded relay over TCP: the transport names the pair.
const relayedTcp = [
  { id: 'T01', type: 'transport', selectedCandidatePairId: 'CP2' },
  { id: 'CP1', type: 'candidate-pair', localCandidateId: 'L1', remoteCandidateId: 'R1', state: 'failed', nominated: false },
  { id: 'CP2', type: 'candidate-pair', localCandidateId: 'L2', remoteCandidateId: 'R1', state: 'succeeded', nominated: true, currentRoundTripTime: 0.0031 },
  { id: 'L1', type: 'local-candidate', candidateType: 'host', protocol: 'udp', address: '10.77.0.2', port: 50000 },
  { id: 'L2', type: 'local-candidate', candidateType: 'relay', protocol: 'udp', address: '10.77.0.1', port: 49152, relayProtocol: 'tcp', url: 'turn:10.77.0.1:18095?transport=tcp' },
  { id: 'R1', type: 'remote-candidate', candidateType: 'host', protocol: 'udp', address: '10.77.0.1', port: 40001 },
];

test('the pair the transport selected, with the relay transport and server', () => {
  const p = selectedPath(relayedTcp);
  assert.ok(p);
  assert.deepEqual(p.local, { type: 'relay', protocol: 'udp', address: '10.77.0.1', port: 49152 });
  assert.equal(p.remote.type, 'host');
  assert.equal(p.relayProtocol, 'tcp');
  assert.equal(p.relayUrl, 'turn:10.77.0.1:18095?transport=tcp');
  assert.ok(p.rttMs !== null && Math.abs(p.rttMs - 3.1) < 1e-9);
  assert.equal(pathText(p), 'relay (tcp via turn:10.77.0.1:18095?transport=tcp) → host udp · 3 ms');
});

test('a nominated succeeded pair when no transport names one (Firefox); direct paths carry no relay', () => {
  const p = selectedPath(relayedTcp.slice(1).map((r) => (r.id === 'CP2' ? { ...r, localCandidateId: 'L1' } : r)));
  assert.ok(p);
  assert.equal(p.local.type, 'host');
  assert.equal(p.relayProtocol, null);
  assert.equal(p.relayUrl, null);
  assert.equal(pathText(p), 'host udp → host udp · 3 ms');
});

test('no path before ICE selects a pair, or when candidates are missing', () => {
  assert.equal(selectedPath([]), null);
  assert.equal(selectedPath(relayedTcp.filter((r) => r.type !== 'transport' && r.id !== 'CP2')), null);
  assert.equal(selectedPath(relayedTcp.filter((r) => r.id !== 'L2')), null);
  assert.equal(pathText(null), 'not connected');
});

test('the drawer lists each connection path', () => {
  const rates = { fps: 30, kbps: 1, jitterMs: 0, processingMs: 0, decodeMs: 0 };
  const pc = { video: null, audio: null, rtt: null, candidateType: 'host', availableIncomingBitrate: null, bytesSent: 0 };
  const path = selectedPath(relayedTcp);
  const sample: StatsSample = {
    video: pc, audio: pc, videoRates: rates, audioRates: rates, latencyMs: 0,
    g2g: glassToGlass(30, null, null, rates), connectionState: 'connected', paths: { video: path, audio: null },
  };
  const rows = new Map(statusRows(sample, { encoder: '', resolution: '', windowSize: '' }));
  assert.equal(rows.get('Video path'), pathText(path));
  assert.equal(rows.get('Audio path'), 'not connected');
});
