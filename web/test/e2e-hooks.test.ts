import assert from 'node:assert/strict';
import { test } from 'node:test';
import { e2eRequested, installE2eHooks, recordSent, type E2eHooks, type HookTarget } from '../src/e2e.ts';
import { Session, type SessionUi } from '../src/session.ts';

/** Every string reachable from `root` through object properties and array items. */
function reachableStrings(root: unknown): string[] {
  const out: string[] = [];
  const seen = new Set<unknown>();
  const walk = (v: unknown): void => {
    if (typeof v === 'string') out.push(v);
    if (typeof v !== 'object' || v === null || seen.has(v)) return;
    seen.add(v);
    for (const k of Reflect.ownKeys(v)) walk((v as Record<string | symbol, unknown>)[k]);
  };
  walk(root);
  return out;
}

const noUi: SessionUi = { status() {}, stats() {}, channelOpen() {}, needsClick() {}, connected() {} };

test('only ?e2e=1 asks for the test hooks', () => {
  assert.equal(e2eRequested(''), false);
  assert.equal(e2eRequested('?e2e=0'), false);
  assert.equal(e2eRequested('?e2e'), false);
  assert.equal(e2eRequested('?debug=1'), false);
  assert.equal(e2eRequested('?e2e=1'), true);
  assert.equal(e2eRequested('?x=2&e2e=1'), true);
});

test('without the flag nothing is installed on the window', () => {
  const win: HookTarget = { location: { search: '?debug=1' } };
  const before = Reflect.ownKeys(win);
  // No canvas, no rVFC loop: a video element is never touched (a bare object would throw if it were).
  const video = new Proxy({}, { get: () => assert.fail('the video element was used') }) as HTMLVideoElement;
  assert.equal(installE2eHooks(win, video, () => true), null);
  assert.deepEqual(Reflect.ownKeys(win), before);
  assert.equal('__e2e' in win, false);
});

test('without the flag the session keeps no history of what it sent', () => {
  const video = {} as HTMLVideoElement; // no requestVideoFrameCallback: no frame loop
  const session = new Session({
    videoEl: video,
    audioEl: {} as HTMLAudioElement,
    ui: noUi,
    hooks: null,
    onHostMessage: () => {},
  });
  const wire: string[] = [];
  // The data channel is what the peer connection hands over; an open one that records the wire.
  (session as unknown as { dc: unknown }).dc = { readyState: 'open', send: (t: string) => wire.push(t) };
  const typed = ['kd,97', 'ku,97', 'cw,c2VjcmV0IHBhc3N3b3Jk'];
  for (const t of typed) assert.equal(session.send(t), true);
  assert.deepEqual(wire, typed);
  const kept = reachableStrings(session);
  for (const t of typed) assert.ok(!kept.some((s) => s.includes(t)), `the session still holds ${t}`);
});

test('with the flag the hooks keep the last 2000 sent messages, each cut to 300 characters', () => {
  const hooks = { sent: [] as string[] } as E2eHooks;
  for (let i = 0; i < 2100; i++) recordSent(hooks, `kd,${i}`);
  assert.equal(hooks.sent.length, 2000);
  assert.equal(hooks.sent[0], 'kd,100');
  recordSent(hooks, 'x'.repeat(400));
  assert.equal(hooks.sent.at(-1), `${'x'.repeat(300)}…(400)`);
});
