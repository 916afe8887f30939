//! Pure coordinate mapping from page (CSS) coordinates to remote-frame pixels.
//!
//! The `<video>` uses `object-fit: contain`, so the frame is letterboxed inside the element's
//! box: the mapping removes the bars and scales by the displayed/intrinsic ratio, then clamps,
//! so a click in a bar lands on the nearest frame edge as in the legacy client.

export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface Size {
  width: number;
  height: number;
}

/** The rectangle (page coordinates) where the frame is actually drawn inside `box`. */
export function contentRect(box: Rect, frame: Size): Rect {
  if (frame.width <= 0 || frame.height <= 0 || box.width <= 0 || box.height <= 0) return { ...box };
  const scale = Math.min(box.width / frame.width, box.height / frame.height);
  const width = frame.width * scale;
  const height = frame.height * scale;
  return {
    left: box.left + (box.width - width) / 2,
    top: box.top + (box.height - height) / 2,
    width,
    height,
  };
}

/** Remote-frame pixel under the page point, clamped to 0..W-1 / 0..H-1; null before the first frame. */
export function toRemote(clientX: number, clientY: number, box: Rect, frame: Size): { x: number; y: number } | null {
  if (frame.width <= 0 || frame.height <= 0) return null;
  const c = contentRect(box, frame);
  if (c.width <= 0 || c.height <= 0) return null;
  const x = Math.floor(((clientX - c.left) * frame.width) / c.width);
  const y = Math.floor(((clientY - c.top) * frame.height) / c.height);
  return { x: clamp(x, 0, frame.width - 1), y: clamp(y, 0, frame.height - 1) };
}

/**
 * Factor applied to pointer-lock `movementX/Y` (legacy `cursorScaleFactor`): the ratio of the
 * frame diagonal to the displayed diagonal, but only when they differ by more than 10 px, so a
 * 1:1 view is never rounded away.
 */
export function relativeScale(displayed: Size, frame: Size): number {
  if (displayed.width <= 0 || displayed.height <= 0 || frame.width <= 0 || frame.height <= 0) return 1;
  if (Math.abs(displayed.width - frame.width) <= 10 && Math.abs(displayed.height - frame.height) <= 10) return 1;
  return Math.hypot(frame.width, frame.height) / Math.hypot(displayed.width, displayed.height);
}

function clamp(v: number, lo: number, hi: number): number {
  return v < lo ? lo : v > hi ? hi : v;
}
