//! Binds touch events on the video to the pure gesture recogniser (touch.ts) and turns its
//! actions into `m,…` messages; and the on-screen keyboard: a button, shown on touch devices,
//! that focuses an off-screen text field whose input events are typed as keysyms.

import { keysymsForInput, keysymsForKey } from './keysym.ts';
import * as msg from './messages.ts';
import { GestureRecognizer, type TouchAction, type TouchPoint } from './touch.ts';
import { WHEEL_DOWN_BIT, WHEEL_UP_BIT } from './wheel.ts';

export type Send = (text: string) => void;
export type ToRemote = (clientX: number, clientY: number) => { x: number; y: number } | null;

/** True on phones and tablets (the on-screen keyboard button and `p,1` depend on it). */
export function isTouchDevice(): boolean {
  return navigator.maxTouchPoints > 0 || window.matchMedia?.('(pointer: coarse)').matches === true;
}

const TOUCH_EVENTS = ['touchstart', 'touchmove', 'touchend', 'touchcancel'] as const;

export class TouchInput {
  private readonly gestures = new GestureRecognizer();
  private mask = 0;
  private last = { x: 0, y: 0 };
  private timer: ReturnType<typeof setTimeout> | null = null;
  /** The listener while attached; null when detached. */
  private listener: ((e: Event) => void) | null = null;

  constructor(
    private readonly video: Pick<EventTarget, 'addEventListener' | 'removeEventListener'>,
    private readonly send: Send,
    private readonly toRemote: ToRemote,
  ) {}

  attach(): void {
    if (this.listener) return;
    const listener = (e: Event): void => this.onTouch(e as TouchEvent);
    this.listener = listener;
    for (const type of TOUCH_EVENTS) this.video.addEventListener(type, listener, { passive: false });
  }

  /** Stops listening, drops a pending long-press timer and releases what a gesture holds. */
  detach(): void {
    const listener = this.listener;
    if (!listener) return;
    this.listener = null;
    for (const type of TOUCH_EVENTS) this.video.removeEventListener(type, listener);
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.mask !== 0) {
      this.mask = 0;
      this.send(msg.mouseAbs(this.last.x, this.last.y, 0));
    }
  }

  get attached(): boolean {
    return this.listener !== null;
  }

  private onTouch(e: TouchEvent): void {
    // No compatibility mouse events, no page zoom or scroll: the gesture belongs to the desktop.
    e.preventDefault();
    const points: TouchPoint[] = Array.from(e.touches, (t) => ({ id: t.identifier, x: t.clientX, y: t.clientY }));
    this.apply(this.gestures.update(points, e.timeStamp || performance.now()));
    this.arm();
  }

  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const due = this.gestures.deadline;
    if (due === null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.apply(this.gestures.tick(performance.now()));
    }, Math.max(0, due - performance.now()) + 5);
  }

  private apply(actions: TouchAction[]): void {
    for (const a of actions) {
      const p = this.toRemote(a.x, a.y) ?? this.last;
      this.last = p;
      if (a.kind === 'move') {
        this.send(msg.mouseAbs(p.x, p.y, this.mask));
      } else if (a.kind === 'button') {
        const bit = msg.buttonBit(a.button);
        this.mask = a.down ? this.mask | bit : this.mask & ~bit;
        this.send(msg.mouseAbs(p.x, p.y, this.mask));
      } else {
        const bit = a.up ? WHEEL_UP_BIT : WHEEL_DOWN_BIT;
        this.send(msg.mouseAbs(p.x, p.y, this.mask | bit, a.steps));
        this.send(msg.mouseAbs(p.x, p.y, this.mask, a.steps));
      }
    }
  }
}

/** The on-screen keyboard: focusing the hidden field raises the device's virtual keyboard. */
export class OnScreenKeyboard {
  constructor(
    private readonly button: HTMLButtonElement,
    private readonly field: HTMLTextAreaElement,
    private readonly send: Send,
  ) {}

  attach(): void {
    this.button.hidden = false;
    this.button.addEventListener('click', (e) => {
      e.preventDefault();
      if (document.activeElement === this.field) this.field.blur();
      else this.field.focus({ preventScroll: true });
    });
    this.field.addEventListener('keydown', (e) => this.onKeyDown(e));
    this.field.addEventListener('input', (e) => this.onInput(e as InputEvent));
    this.field.addEventListener('compositionend', (e) => {
      this.type(keysymsForInput('insertText', e.data));
      this.field.value = '';
    });
  }

  /** Whether a keyboard event comes from this field (the global capture must leave it alone). */
  owns(target: EventTarget | null): boolean {
    return target === this.field;
  }

  private onKeyDown(e: KeyboardEvent): void {
    // Characters arrive through `input` (virtual keyboards report "Unidentified" here); only
    // named keys (Backspace, Enter, arrows…) from a keyboard that names them are typed from here.
    if (e.isComposing || e.key.length === 1 || e.key === 'Unidentified' || e.key === 'Process') return;
    const syms = keysymsForKey(e);
    if (syms.length === 0) return;
    e.preventDefault();
    this.type(syms);
  }

  private onInput(e: InputEvent): void {
    if (e.isComposing) return; // typed once at compositionend
    this.type(keysymsForInput(e.inputType, e.data));
    this.field.value = '';
  }

  private type(syms: number[]): void {
    for (const s of syms) {
      this.send(msg.keyDown(s));
      this.send(msg.keyUp(s));
    }
  }
}
