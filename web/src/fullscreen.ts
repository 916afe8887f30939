//! Fullscreen with keyboard lock (so Alt+Tab, Escape, Super reach the remote desktop) and pointer
//! lock, as the legacy client does on Ctrl+Shift+F.

type KeyboardLock = { lock?: (codes?: string[]) => Promise<void>; unlock?: () => void };
const LOCKED_KEYS = ['AltLeft', 'AltRight', 'Tab', 'Escape', 'ContextMenu', 'MetaLeft', 'MetaRight'];

export async function toggleFullscreen(video: HTMLVideoElement, log: (t: string) => void): Promise<void> {
  const kb = (navigator as Navigator & { keyboard?: KeyboardLock }).keyboard;
  if (document.fullscreenElement) {
    kb?.unlock?.();
    await document.exitFullscreen().catch(() => {});
    return;
  }
  try {
    await document.documentElement.requestFullscreen({ navigationUI: 'hide' });
  } catch (e) {
    log(`fullscreen refused: ${String(e)}`);
    return;
  }
  // Keyboard lock only works in fullscreen and is Chromium-only; its absence is not an error.
  await kb?.lock?.(LOCKED_KEYS).catch((e: unknown) => log(`keyboard lock unavailable: ${String(e)}`));
  if (!('ontouchstart' in window)) {
    try {
      await video.requestPointerLock();
    } catch (e) {
      log(`pointer lock refused: ${String(e)}`);
    }
  }
}
