// Pure parsing of `xev` output and X keysym → text, for the end-to-end input assertions.
// Kept free of I/O so its rules can be checked without an X server (xev.unit.test.mjs).

/** Modifier keysyms (Shift, Control, Caps, Meta, Alt, Super, Hyper, AltGr): they type nothing. */
export function isModifierKeysym(k) {
  return k === 0xfe03 || (k >= 0xffe1 && k <= 0xffee);
}

/** The character a keysym types, or null: Latin-1 direct, 0x01xxxxxx Unicode, a few legacy names. */
export function keysymToChar(k) {
  if (k >= 0x20 && k <= 0x7e) return String.fromCodePoint(k);
  if (k >= 0xa0 && k <= 0xff) return String.fromCodePoint(k);
  if (k >= 0x01000100 && k <= 0x0110ffff) return String.fromCodePoint(k - 0x01000000);
  const legacy = { 0x20ac: '€', 0xff0d: '\n', 0xff09: '\t' };
  return legacy[k] ?? null;
}

/**
 * Events from xev's text output. A record starts with "<Type> event, serial …" and its fields
 * follow on indented lines; we keep KeyPress/KeyRelease/ButtonPress/ButtonRelease/MotionNotify.
 */
export function parseXev(text) {
  const events = [];
  let cur = null;
  for (const line of text.split('\n')) {
    const head = /^(KeyPress|KeyRelease|ButtonPress|ButtonRelease|MotionNotify) event,/.exec(line);
    if (head) {
      cur = { type: head[1] };
      events.push(cur);
      continue;
    }
    if (!cur) continue;
    if (line.trim() === '') {
      cur = null;
      continue;
    }
    const root = /root:\((-?\d+),(-?\d+)\)/.exec(line);
    if (root) {
      cur.rootX = Number(root[1]);
      cur.rootY = Number(root[2]);
    }
    const key = /keycode (\d+) \(keysym 0x([0-9a-f]+), ([^)]*)\)/.exec(line);
    if (key) {
      cur.keycode = Number(key[1]);
      cur.keysym = parseInt(key[2], 16);
      cur.keysymName = key[3];
    }
    const button = /button (\d+),/.exec(line);
    if (button) cur.button = Number(button[1]);
  }
  return events;
}

/** The text typed by the KeyPress events (modifiers skipped, unknown keysyms as «0x…»). */
export function typedText(events) {
  let out = '';
  for (const e of events) {
    if (e.type !== 'KeyPress' || e.keysym === undefined || isModifierKeysym(e.keysym)) continue;
    out += keysymToChar(e.keysym) ?? `«0x${e.keysym.toString(16)}»`;
  }
  return out;
}
