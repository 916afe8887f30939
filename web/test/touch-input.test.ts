import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TouchInput } from '../src/touch-input.ts';

/** A fake video element: an EventTarget that counts its listeners. */
class FakeTarget extends EventTarget {
  listeners = 0;
  override addEventListener(type: string, l: EventListenerOrEventListenerObject | null, o?: AddEventListenerOptions | boolean): void {
    this.listeners++;
    super.addEventListener(type, l, o);
  }
  override removeEventListener(type: string, l: EventListenerOrEventListenerObject | null, o?: EventListenerOptions | boolean): void {
    this.listeners--;
    super.removeEventListener(type, l, o);
  }
}

/** A touch event the way TouchInput reads it: `touches`, `timeStamp`, `preventDefault`. */
function touch(type: string, points: Array<{ identifier: number; clientX: number; clientY: number }>): Event {
  const e = new Event(type, { cancelable: true });
  Object.defineProperty(e, 'touches', { value: points });
  return e;
}

test('a touch input can be detached: no listener, no message afterwards', () => {
  const video = new FakeTarget();
  const sent: string[] = [];
  const t = new TouchInput(video, (m) => sent.push(m), (x, y) => ({ x, y }));
  t.attach();
  t.attach(); // idempotent
  assert.equal(video.listeners, 4);
  assert.equal(t.attached, true);
  video.dispatchEvent(touch('touchstart', [{ identifier: 1, clientX: 10, clientY: 20 }]));
  video.dispatchEvent(touch('touchend', []));
  const before = sent.length;
  assert.ok(before > 0, 'a tap sends pointer messages');
  t.detach();
  t.detach();
  assert.equal(video.listeners, 0);
  assert.equal(t.attached, false);
  video.dispatchEvent(touch('touchstart', [{ identifier: 2, clientX: 30, clientY: 40 }]));
  assert.equal(sent.length, before, 'nothing is sent once detached');
});

test('detaching mid-gesture releases the held button', () => {
  const video = new FakeTarget();
  const sent: string[] = [];
  const t = new TouchInput(video, (m) => sent.push(m), (x, y) => ({ x, y }));
  t.attach();
  // Two quick taps then a hold: the second touch drags with the left button down.
  video.dispatchEvent(touch('touchstart', [{ identifier: 1, clientX: 10, clientY: 10 }]));
  video.dispatchEvent(touch('touchend', []));
  video.dispatchEvent(touch('touchstart', [{ identifier: 2, clientX: 10, clientY: 10 }]));
  video.dispatchEvent(touch('touchmove', [{ identifier: 2, clientX: 60, clientY: 60 }]));
  t.detach();
  const last = sent.at(-1) ?? '';
  assert.match(last, /^m,\d+,\d+,0,0$/, `the last message releases every button: ${sent.join(' | ')}`);
});
