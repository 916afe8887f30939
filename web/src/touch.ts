//! Pure touch-gesture recognition: the list of active touches at each touch event (and a timer
//! tick for long presses) in, pointer actions out. One finger: tap = left click, move beyond the
//! slop = drag with the left button held, hold still = right click. Two fingers: vertical scroll,
//! one wheel step per `SCROLL_STEP_PX` of travel of their centroid. Coordinates stay in page
//! pixels; the input layer maps them to the remote frame.

export const TAP_SLOP_PX = 10;
export const LONG_PRESS_MS = 550;
export const SCROLL_STEP_PX = 30;

export interface TouchPoint {
  id: number;
  x: number;
  y: number;
}

export type TouchAction =
  | { kind: 'move'; x: number; y: number }
  /** button: 0 left, 2 right (MouseEvent.button numbering). */
  | { kind: 'button'; x: number; y: number; button: 0 | 2; down: boolean }
  /** `up` true = wheel up (content moves down, fingers moved down). */
  | { kind: 'scroll'; x: number; y: number; up: boolean; steps: number };

type State =
  | { s: 'idle' }
  | { s: 'pending'; id: number; x0: number; y0: number; t0: number; x: number; y: number }
  | { s: 'drag'; id: number; x: number; y: number }
  | { s: 'scroll'; cy: number; cx: number; acc: number }
  /** The gesture is over (long press fired, or fingers changed): wait until every finger lifts. */
  | { s: 'done' };

export class GestureRecognizer {
  private st: State = { s: 'idle' };

  /** When `tick` must be called for the long press to fire, or null. */
  get deadline(): number | null {
    return this.st.s === 'pending' ? this.st.t0 + LONG_PRESS_MS : null;
  }

  /** True while a drag holds the left button (the caller releases it on cancel). */
  get dragging(): boolean {
    return this.st.s === 'drag';
  }

  /** Feeds the touches active after a touchstart/touchmove/touchend/touchcancel at time `t`. */
  update(touches: readonly TouchPoint[], t: number): TouchAction[] {
    const st = this.st;
    const n = touches.length;
    if (n === 0) return this.allLifted();
    switch (st.s) {
      case 'idle': {
        const p = touches[0];
        if (!p) return [];
        if (n >= 2) return this.beginScroll(touches);
        this.st = { s: 'pending', id: p.id, x0: p.x, y0: p.y, t0: t, x: p.x, y: p.y };
        return [];
      }
      case 'pending': {
        if (n >= 2) return this.beginScroll(touches);
        const p = touches.find((q) => q.id === st.id);
        if (!p) {
          this.st = { s: 'done' };
          return [];
        }
        st.x = p.x;
        st.y = p.y;
        if (Math.hypot(p.x - st.x0, p.y - st.y0) <= TAP_SLOP_PX) return [];
        this.st = { s: 'drag', id: st.id, x: p.x, y: p.y };
        return [
          { kind: 'move', x: st.x0, y: st.y0 },
          { kind: 'button', x: st.x0, y: st.y0, button: 0, down: true },
          { kind: 'move', x: p.x, y: p.y },
        ];
      }
      case 'drag': {
        // Extra fingers during a drag are ignored; the first finger keeps driving.
        const p = touches.find((q) => q.id === st.id);
        if (!p) {
          this.st = { s: 'done' };
          return [{ kind: 'button', x: st.x, y: st.y, button: 0, down: false }];
        }
        if (p.x === st.x && p.y === st.y) return [];
        st.x = p.x;
        st.y = p.y;
        return [{ kind: 'move', x: p.x, y: p.y }];
      }
      case 'scroll': {
        if (n < 2) {
          this.st = { s: 'done' };
          return [];
        }
        const c = centroid(touches);
        st.acc += c.y - st.cy;
        st.cy = c.y;
        st.cx = c.x;
        const steps = Math.trunc(Math.abs(st.acc) / SCROLL_STEP_PX);
        if (steps === 0) return [];
        const up = st.acc > 0;
        st.acc -= Math.sign(st.acc) * steps * SCROLL_STEP_PX;
        return [{ kind: 'scroll', x: c.x, y: c.y, up, steps }];
      }
      case 'done':
        return [];
    }
  }

  /** Timer callback: a finger held still past `deadline` is a right click. */
  tick(t: number): TouchAction[] {
    const st = this.st;
    if (st.s !== 'pending' || t < st.t0 + LONG_PRESS_MS) return [];
    this.st = { s: 'done' };
    return click(st.x0, st.y0, 2);
  }

  private allLifted(): TouchAction[] {
    const st = this.st;
    this.st = { s: 'idle' };
    if (st.s === 'pending') return click(st.x0, st.y0, 0);
    if (st.s === 'drag') return [{ kind: 'button', x: st.x, y: st.y, button: 0, down: false }];
    return [];
  }

  private beginScroll(touches: readonly TouchPoint[]): TouchAction[] {
    const c = centroid(touches);
    this.st = { s: 'scroll', cx: c.x, cy: c.y, acc: 0 };
    return [{ kind: 'move', x: c.x, y: c.y }];
  }
}

function click(x: number, y: number, button: 0 | 2): TouchAction[] {
  return [
    { kind: 'move', x, y },
    { kind: 'button', x, y, button, down: true },
    { kind: 'button', x, y, button, down: false },
  ];
}

function centroid(touches: readonly TouchPoint[]): { x: number; y: number } {
  let x = 0;
  let y = 0;
  for (const p of touches) {
    x += p.x;
    y += p.y;
  }
  return { x: x / touches.length, y: y / touches.length };
}
