//! Pure formatting of browser → host data-channel messages and parsing of host → browser
//! messages (docs/protocol.md §4). Every string the client sends is built here.

/** `m,x,y,mask,mag`: absolute pointer in remote-frame pixels. */
export function mouseAbs(x: number, y: number, mask: number, magnitude = 0): string {
  return `m,${Math.trunc(x)},${Math.trunc(y)},${mask},${magnitude}`;
}

/** `m2,dx,dy,mask,mag`: relative motion while the pointer is locked. */
export function mouseRel(dx: number, dy: number, mask: number, magnitude = 0): string {
  return `m2,${Math.trunc(dx)},${Math.trunc(dy)},${mask},${magnitude}`;
}

export function keyDown(keysym: number): string {
  return `kd,${keysym}`;
}

export function keyUp(keysym: number): string {
  return `ku,${keysym}`;
}

export const KEY_RESET = 'kr';

/** `p,1` when the pointer is locked (the host then draws the cursor into the video). */
export function pointerVisible(visible: boolean): string {
  return `p,${visible ? 1 : 0}`;
}

/** Reply to the host `ping`: client epoch seconds (the host ignores the value, times the reply). */
export function pong(nowMs: number): string {
  return `pong,${nowMs / 1000}`;
}

export function clientFps(fps: number): string {
  return `_f,${fps}`;
}

export function clientLatency(ms: number): string {
  return `_l,${ms}`;
}

/**
 * `_stages,1` / `_stages,0` (our extension): start or stop the host's `video_stages`, its own
 * stage times for the glass-to-glass figure. A legacy host drops it as an unknown command.
 */
export function videoStages(on: boolean): string {
  return `_stages,${on ? 1 : 0}`;
}

/** `r,WxH` then `s,ratio`: size the remote desktop to the window (only acted on with resize on). */
export function resize(width: number, height: number): string {
  return `r,${width}x${height}`;
}

export function scale(ratio: number): string {
  return `s,${ratio}`;
}

/** Button mask bit of `MouseEvent.button` (0 left, 1 middle, 2 right); other buttons are ignored. */
export function buttonBit(button: number): number {
  return button >= 0 && button <= 2 ? 1 << button : 0;
}

/** A host → browser message, `{"type": …, "data": …}`; `data` stays untyped until used. */
export interface HostMessage {
  type: string;
  data: unknown;
}

/** The JSON object in `text`; null (never a throw) for bad JSON or any other JSON value. */
export function parseJsonObject(text: string): Record<string, unknown> | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof v === 'object' && v !== null ? (v as Record<string, unknown>) : null;
}

/** Parses one host text message; null (never a throw) for anything that is not `{type, data}`. */
export function parseHostMessage(text: string): HostMessage | null {
  const o = parseJsonObject(text);
  if (o === null || typeof o.type !== 'string') return null;
  return { type: o.type, data: o.data };
}

/** The `action` of a `system` message split at its first comma: `framerate,60` → ["framerate", "60"]. */
export function systemAction(data: unknown): { name: string; value: string } | null {
  if (typeof data !== 'object' || data === null) return null;
  const action = (data as Record<string, unknown>).action;
  if (typeof action !== 'string') return null;
  const i = action.indexOf(',');
  return i < 0 ? { name: action, value: '' } : { name: action.slice(0, i), value: action.slice(i + 1) };
}

export interface CursorData {
  curdata: string;
  handle: number;
  override: string | null;
  hotspot: { x: number; y: number };
}

/** CSS `cursor` value for a host cursor message (§4.2 client reactions); null data → `auto`. */
export function cursorCss(data: unknown): string {
  if (typeof data !== 'object' || data === null) return 'auto';
  const c = data as Partial<CursorData>;
  if (c.handle === 0) return 'auto';
  if (typeof c.override === 'string' && c.override !== '') return c.override;
  if (typeof c.curdata !== 'string' || !/^[A-Za-z0-9+/=]*$/.test(c.curdata)) return 'auto';
  const hx = Math.trunc(Number(c.hotspot?.x ?? 0)) || 0;
  const hy = Math.trunc(Number(c.hotspot?.y ?? 0)) || 0;
  return `url('data:image/png;base64,${c.curdata}') ${hx} ${hy}, auto`;
}

/** Base64 of the UTF-8 bytes of `text` (the clipboard and gamepad-name encoding; never `btoa(text)`, which throws beyond Latin-1). */
export function utf8ToBase64(text: string): string {
  return bytesToBase64(new TextEncoder().encode(text));
}

export function bytesToBase64(bytes: Uint8Array): string {
  let bin = '';
  // Chunked so a megabyte never hits the argument-count limit of String.fromCharCode.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    bin += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(bin);
}

/** Inverse of `utf8ToBase64`; null for invalid base64 or invalid UTF-8 (never a throw). */
export function base64ToUtf8(b64: string): string | null {
  const bytes = base64ToBytes(b64);
  if (!bytes) return null;
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return null;
  }
}

export function base64ToBytes(b64: string): Uint8Array | null {
  let bin: string;
  try {
    bin = atob(b64);
  } catch {
    return null;
  }
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/** `vb,<kbps>`: video bitrate. */
export function videoBitrate(kbps: number): string {
  return `vb,${Math.trunc(kbps)}`;
}

/** `ab,<bps>`: audio bitrate. */
export function audioBitrate(bps: number): string {
  return `ab,${Math.trunc(bps)}`;
}

/** `_arg_fps,<fps>`: capture framerate. */
export function framerate(fps: number): string {
  return `_arg_fps,${Math.trunc(fps)}`;
}

/** `_arg_resize,<bool>,<W>x<H>`: the remote-resize switch, with the size to apply when enabling. */
export function resizeSwitch(enabled: boolean, width: number, height: number): string {
  return `_arg_resize,${enabled},${Math.trunc(width)}x${Math.trunc(height)}`;
}

/** `cr`: ask the host for its clipboard. */
export const CLIPBOARD_READ = 'cr';

/** `cw,<b64>`: the local clipboard text for the host. */
export function clipboardWrite(text: string): string {
  return `cw,${utf8ToBase64(text)}`;
}

/** `_stats_video,<json array>` / `_stats_audio,…`: every RTCStats report of one connection. */
export function statsUpload(kind: 'video' | 'audio', reports: unknown[]): string {
  return `_stats_${kind},${JSON.stringify(reports)}`;
}

/** `js,c,<idx>,<b64 name>,<axes>,<buttons>`: a pad appeared (axes before buttons, as legacy). */
export function gamepadConnect(index: number, id: string, axes: number, buttons: number): string {
  return `js,c,${index},${utf8ToBase64(id)},${axes},${buttons}`;
}

export function gamepadDisconnect(index: number): string {
  return `js,d,${index}`;
}

/** `js,b,<idx>,<button>,<0..1>`: the value as JavaScript prints the number, like legacy. */
export function gamepadButton(index: number, button: number, value: number): string {
  return `js,b,${index},${button},${value}`;
}

/** `js,a,<idx>,<axis>,<-1..1>`. */
export function gamepadAxis(index: number, axis: number, value: number): string {
  return `js,a,${index},${axis},${value}`;
}
