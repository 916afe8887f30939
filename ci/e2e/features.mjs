// Which desktop-integration features the host in this checkout implements, read from its source
// so the e2e cases for a missing feature skip with a message naming it instead of failing, and run
// for real (and fail if broken) as soon as the host gains the feature. Pure: it takes file texts.

/**
 * The `ClientMessage` variants that host/src/control.rs still routes to its "not handled by this
 * host yet" arm. An empty list when that arm is gone (every message is handled).
 */
export function unhandledMessages(controlRs) {
  const marker = controlRs.indexOf('not handled by this host yet');
  if (marker < 0) return [];
  // The arm is `ClientMessage::A | ClientMessage::B … => { … "not handled …" … }`: look back to
  // the `=>` of that arm and collect the variants of its pattern.
  const arrow = controlRs.lastIndexOf('=>', marker);
  const armStart = Math.max(controlRs.lastIndexOf('}', arrow), controlRs.lastIndexOf(',\n', arrow));
  const pattern = controlRs.slice(armStart + 1, arrow);
  return [...pattern.matchAll(/ClientMessage::(\w+)/g)].map((m) => m[1]);
}

/** True when any source text tracks cursors through XFixes (cursor-change events). */
export function tracksCursors(sources) {
  return sources.some((s) => /select_cursor_input|SelectCursorInput|CursorNotify|cursor_serial/.test(s));
}

/**
 * Missing host features by name: `clipboard`, `resize`, `dpi`, `cursor`, `metrics`. Each value is the
 * reason to print when skipping, or absent when the feature is there.
 */
export function missingFeatures(controlRs, sources, mainRs = '') {
  const un = new Set(unhandledMessages(controlRs));
  const missing = {};
  if (un.has('ClipboardRead') || un.has('ClipboardWrite')) missing.clipboard = 'host lacks clipboard (`cr`/`cw` unhandled in host/src/control.rs)';
  if (un.has('Resize')) missing.resize = 'host lacks RandR resize (`r,WxH` unhandled in host/src/control.rs)';
  if (un.has('Scale')) missing.dpi = 'host lacks DPI (`s,<ratio>` unhandled in host/src/control.rs)';
  if (!/enable_metrics_http/.test(mainRs)) missing.metrics = 'host lacks the Prometheus exporter (--enable_metrics_http unused in host/src/main.rs)';
  if (!tracksCursors(sources)) missing.cursor = 'host lacks XFixes cursor tracking (no cursor-change handling in host/)';
  return missing;
}
