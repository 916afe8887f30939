import assert from 'node:assert/strict';
import { test } from 'node:test';
import { InputCapture } from '../src/input.ts';
import { event, FakeDocument, FakeVideo } from './fakes.ts';

/** A capture over fakes: the video is shown at 960x540 for a 1920x1080 frame (scale 2). */
function capture(shortcut: (e: KeyboardEvent) => boolean = () => false) {
  const video = new FakeVideo();
  const win = new EventTarget();
  const doc = new FakeDocument();
  const sent: string[] = [];
  const c = new InputCapture(video as unknown as HTMLVideoElement, (t) => sent.push(t), { shortcut, ignore: () => false }, win, doc);
  c.attach();
  return { c, video, win, doc, sent };
}

const mouse = (type: string, f: Record<string, unknown>) => event(type, { button: 0, clientX: 0, clientY: 0, movementX: 0, movementY: 0, ctrlKey: false, shiftKey: false, ...f });
const key = (type: string, f: Record<string, unknown>) => event(type, { ctrlKey: false, shiftKey: false, altKey: false, metaKey: false, repeat: false, ...f });

test('mouse moves and buttons become m,x,y,mask,0 in frame pixels', () => {
  const { video, win, sent } = capture();
  video.dispatchEvent(mouse('mousemove', { clientX: 100, clientY: 50 }));
  video.dispatchEvent(mouse('mousedown', { clientX: 100, clientY: 50, button: 2 }));
  win.dispatchEvent(Object.assign(mouse('mouseup', { clientX: 110, clientY: 60, button: 2 }), {}));
  assert.deepEqual(sent.slice(0, 2), ['m,200,100,0,0', 'm,200,100,4,0']);
  assert.equal(video.focused, 1, 'a click focuses the video');
});

test('a release outside the video with no button down is not sent', () => {
  const { win, sent } = capture();
  win.dispatchEvent(mouse('mouseup', { clientX: 5, clientY: 5 }));
  assert.deepEqual(sent, []);
});

test('Ctrl+Shift+click asks for pointer lock; locked motion is m2 scaled to the frame', () => {
  const { video, doc, sent } = capture();
  video.dispatchEvent(mouse('mousedown', { ctrlKey: true, shiftKey: true }));
  assert.equal(video.lockRequests, 1);
  assert.deepEqual(sent, [], 'the lock click is not forwarded');
  doc.pointerLockElement = video as unknown as Element;
  doc.dispatchEvent(event('pointerlockchange'));
  video.dispatchEvent(mouse('mousemove', { movementX: 3, movementY: -2 }));
  assert.deepEqual(sent, ['p,1', 'm2,6,-4,0,0']);
});

test('the wheel sends a press and a release of the scroll bit at the pointer', () => {
  const { video, sent } = capture();
  video.dispatchEvent(mouse('wheel', { clientX: 10, clientY: 10, deltaY: -120, deltaMode: 0 }));
  // Up is mask bit 4 (16), magnitude 1 for the first (smallest) step.
  assert.deepEqual(sent, ['m,20,20,16,1', 'm,20,20,0,1']);
});

test('keys become kd/ku keysyms; a shortcut is swallowed with its release; blur sends kr', () => {
  const { win, sent } = capture((e) => e.ctrlKey && e.shiftKey && e.code === 'KeyM');
  win.dispatchEvent(key('keydown', { key: 'a', code: 'KeyA' }));
  win.dispatchEvent(key('keyup', { key: 'a', code: 'KeyA' }));
  win.dispatchEvent(key('keydown', { key: 'Enter', code: 'Enter' }));
  win.dispatchEvent(key('keyup', { key: 'Enter', code: 'Enter' }));
  assert.deepEqual(sent, ['kd,97', 'ku,97', 'kd,65293', 'ku,65293']);
  sent.length = 0;
  win.dispatchEvent(key('keydown', { key: 'M', code: 'KeyM', ctrlKey: true, shiftKey: true }));
  win.dispatchEvent(key('keyup', { key: 'M', code: 'KeyM', ctrlKey: true, shiftKey: true }));
  assert.deepEqual(sent, []);
  win.dispatchEvent(event('blur'));
  assert.deepEqual(sent, ['kr']);
});

test('the release matches the press when Shift went up first', () => {
  const { win, sent } = capture();
  win.dispatchEvent(key('keydown', { key: 'A', code: 'KeyA', shiftKey: true }));
  win.dispatchEvent(key('keyup', { key: 'a', code: 'KeyA' }));
  assert.deepEqual(sent, ['kd,65', 'ku,65']);
});

test('with the drawer open the keyboard is not captured; detach removes every listener', () => {
  const { c, video, win, sent } = capture();
  c.keyboard = false;
  win.dispatchEvent(key('keydown', { key: 'a', code: 'KeyA' }));
  assert.deepEqual(sent, []);
  c.keyboard = true;
  c.detach();
  win.dispatchEvent(key('keydown', { key: 'a', code: 'KeyA' }));
  video.dispatchEvent(mouse('mousemove', { clientX: 1, clientY: 1 }));
  assert.deepEqual(sent, []);
});
