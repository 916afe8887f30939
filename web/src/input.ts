//! Captures mouse, wheel and keyboard on the page and sends them over the `input` data channel
//! in the legacy grammar (touch is touch-input.ts's). All arithmetic lives in the pure modules
//! (coords, wheel, keysym, messages); this file only binds DOM events to them.

import { relativeScale, toRemote } from './coords.ts';
import { isModifierKeysym, PressedKeys } from './keysym.ts';
import * as msg from './messages.ts';
import { WheelNormaliser } from './wheel.ts';

export type Send = (text: string) => void;

export interface CaptureHooks {
  /** Page shortcuts (Ctrl+Shift+M…): true when the keydown was consumed and must not be sent. */
  shortcut(e: KeyboardEvent): boolean;
  /** Keyboard events whose target handles them itself (the on-screen keyboard's field). */
  ignore(target: EventTarget | null): boolean;
}

/** The page's document as far as input capture uses it (a fake in unit tests). */
export type CaptureDocument = EventTarget & Pick<Document, 'pointerLockElement'>;

export class InputCapture {
  private mask = 0;
  private last = { x: 0, y: 0 };
  private lastMove = { dx: 0, dy: 0 };
  private readonly keys = new PressedKeys();
  private readonly wheel = new WheelNormaliser();
  private readonly cleanups: Array<() => void> = [];
  /** False while the drawer is open: its selects need the keyboard (legacy detaches input). */
  keyboard = true;
  /** Physical keys whose keydown was a page shortcut: their keyup is not the desktop's either. */
  private readonly swallowed = new Set<string>();

  constructor(
    private readonly video: HTMLVideoElement,
    private readonly send: Send,
    private readonly hooks: CaptureHooks,
    /** Where keys, button releases and focus changes arrive. */
    private readonly win: EventTarget = window,
    private readonly doc: CaptureDocument = document,
  ) {}

  attach(): void {
    const v = this.video;
    this.on(v, 'mousemove', (e) => this.onMouse(e as MouseEvent));
    this.on(v, 'mousedown', (e) => this.onMouse(e as MouseEvent));
    this.on(this.win, 'mouseup', (e) => this.onMouse(e as MouseEvent));
    this.on(v, 'contextmenu', (e) => e.preventDefault());
    this.on(v, 'wheel', (e) => this.onWheel(e as WheelEvent), { passive: false });
    this.on(this.win, 'keydown', (e) => this.onKey(e as KeyboardEvent, true));
    this.on(this.win, 'keyup', (e) => this.onKey(e as KeyboardEvent, false));
    this.on(this.win, 'blur', () => this.reset());
    this.on(this.win, 'focus', () => this.reset());
    this.on(this.doc, 'pointerlockchange', () => this.send(msg.pointerVisible(this.locked())));
  }

  detach(): void {
    for (const c of this.cleanups.splice(0)) c();
  }

  /** `kr`: the host releases every modifier; local state is forgotten to match. */
  reset(): void {
    this.keys.clear();
    this.send(msg.KEY_RESET);
  }

  private on(t: EventTarget, type: string, fn: (e: Event) => void, opts?: AddEventListenerOptions): void {
    t.addEventListener(type, fn, opts);
    this.cleanups.push(() => t.removeEventListener(type, fn, opts));
  }

  private locked(): boolean {
    return this.doc.pointerLockElement === this.video;
  }

  private frame(): { width: number; height: number } {
    return { width: this.video.videoWidth, height: this.video.videoHeight };
  }

  private onMouse(e: MouseEvent): void {
    if (e.type === 'mousedown' && e.button === 0 && e.ctrlKey && e.shiftKey) {
      // Ctrl+Shift+click asks for pointer lock and is not forwarded (legacy behaviour).
      e.preventDefault();
      void this.video.requestPointerLock();
      return;
    }
    if (e.type === 'mouseup' && e.target !== this.video && this.mask === 0) return;
    const bit = msg.buttonBit(e.button);
    if (e.type === 'mousedown') {
      this.mask |= bit;
      this.video.focus();
      e.preventDefault();
    } else if (e.type === 'mouseup') {
      this.mask &= ~bit;
    }
    if (this.locked()) {
      const r = this.video.getBoundingClientRect();
      const k = relativeScale({ width: r.width, height: r.height }, this.frame());
      this.lastMove = { dx: Math.trunc(e.movementX * k), dy: Math.trunc(e.movementY * k) };
      this.send(msg.mouseRel(this.lastMove.dx, this.lastMove.dy, this.mask));
      return;
    }
    const p = toRemote(e.clientX, e.clientY, this.video.getBoundingClientRect(), this.frame());
    if (!p) return;
    this.last = p;
    this.send(msg.mouseAbs(p.x, p.y, this.mask));
  }

  private onWheel(e: WheelEvent): void {
    e.preventDefault();
    // Line/page deltas (Firefox) are scaled to pixels so the magnitude rule sees comparable values.
    const dy = e.deltaMode === 1 ? e.deltaY * 33 : e.deltaMode === 2 ? e.deltaY * 800 : e.deltaY;
    const step = this.wheel.handle(dy, performance.now());
    if (!step) return;
    if (this.locked()) {
      // Deliberately no replay of the last movement (legacy quirk, docs/protocol.md §4.1): wheel never moves the pointer.
      this.send(msg.mouseRel(0, 0, this.mask | step.bit, step.magnitude));
      this.send(msg.mouseRel(0, 0, this.mask, step.magnitude));
      return;
    }
    const p = toRemote(e.clientX, e.clientY, this.video.getBoundingClientRect(), this.frame()) ?? this.last;
    this.send(msg.mouseAbs(p.x, p.y, this.mask | step.bit, step.magnitude));
    this.send(msg.mouseAbs(p.x, p.y, this.mask, step.magnitude));
  }

  private onKey(e: KeyboardEvent, down: boolean): void {
    if (down && this.hooks.shortcut(e)) {
      e.preventDefault();
      this.swallowed.add(e.code);
      return;
    }
    if (!down && this.swallowed.delete(e.code)) return;
    if (!this.keyboard || this.hooks.ignore(e.target)) return;
    if (down && e.ctrlKey && e.shiftKey && (e.code === 'KeyI' || e.code === 'KeyJ')) return; // devtools
    // A dead key's default action is the composition itself: cancelling it would lose the accent.
    if (e.key !== 'Dead') e.preventDefault();
    if (down) {
      const syms = this.keys.down(e);
      if (e.repeat && syms.some(isModifierKeysym)) return;
      // Several code points for one key (ligatures): type all but the last, hold the last.
      syms.slice(0, -1).forEach((s) => {
        this.send(msg.keyDown(s));
        this.send(msg.keyUp(s));
      });
      const held = syms[syms.length - 1];
      if (held !== undefined) this.send(msg.keyDown(held));
    } else {
      const syms = this.keys.up(e);
      const held = syms[0];
      if (held !== undefined) this.send(msg.keyUp(held));
    }
  }
}
