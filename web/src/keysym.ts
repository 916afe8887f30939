//! Pure mapping from a browser `KeyboardEvent` to X11 keysyms (docs/protocol.md §4.1).
//!
//! The keysym is computed from `KeyboardEvent.key`, i.e. the character the browser's own layout
//! produced, never from `code` (the physical key): that is what makes AZERTY, QWERTZ, AltGr and
//! dead keys work, because the host only has to type the character, not guess a layout.

/** Named `KeyboardEvent.key` values → X11 keysyms (Guacamole's table, X11 keysymdef.h). */
const NAMED: Readonly<Record<string, number>> = {
  Backspace: 0xff08,
  Tab: 0xff09,
  Clear: 0xff0b,
  Enter: 0xff0d,
  Pause: 0xff13,
  ScrollLock: 0xff14,
  Escape: 0xff1b,
  Delete: 0xffff,
  Home: 0xff50,
  ArrowLeft: 0xff51,
  ArrowUp: 0xff52,
  ArrowRight: 0xff53,
  ArrowDown: 0xff54,
  PageUp: 0xff55,
  PageDown: 0xff56,
  End: 0xff57,
  Select: 0xff60,
  PrintScreen: 0xff61,
  Execute: 0xff62,
  Insert: 0xff63,
  Undo: 0xff65,
  Redo: 0xff66,
  ContextMenu: 0xff67,
  Find: 0xff68,
  Cancel: 0xff69,
  Help: 0xff6a,
  NumLock: 0xff7f,
  CapsLock: 0xffe5,
  AltGraph: 0xfe03,
  Compose: 0xff20,
  KanaMode: 0xff2d,
  HiraganaKatakana: 0xff27,
  Hiragana: 0xff25,
  Katakana: 0xff26,
  Zenkaku: 0xff28,
  Hankaku: 0xff29,
  ZenkakuHankaku: 0xff2a,
  Romaji: 0xff24,
  Convert: 0xff23,
  NonConvert: 0xff22,
  KanjiMode: 0xff21,
  HangulMode: 0xff31,
  HanjaMode: 0xff34,
  Eisu: 0xff2f,
  AudioVolumeMute: 0x1008ff12,
  AudioVolumeDown: 0x1008ff11,
  AudioVolumeUp: 0x1008ff13,
  MediaPlayPause: 0x1008ff14,
  MediaStop: 0x1008ff15,
  MediaTrackPrevious: 0x1008ff16,
  MediaTrackNext: 0x1008ff17,
};

/** Modifiers whose keysym depends on the side (`KeyboardEvent.location`: 1 left, 2 right). */
const SIDED: Readonly<Record<string, readonly [number, number]>> = {
  Shift: [0xffe1, 0xffe2],
  Control: [0xffe3, 0xffe4],
  Meta: [0xffe7, 0xffe8],
  Alt: [0xffe9, 0xffea],
  Super: [0xffeb, 0xffec],
  OS: [0xffeb, 0xffec],
  Hyper: [0xffed, 0xffee],
};

/** Keysyms the legacy client never auto-repeats (§4.1): AltGr, Shift, Ctrl, Caps, Meta, Alt, Super, Hyper. */
export function isModifierKeysym(keysym: number): boolean {
  return keysym === 0xfe03 || (keysym >= 0xffe1 && keysym <= 0xffe5) || (keysym >= 0xffe7 && keysym <= 0xffee);
}

/** Keysym of one Unicode code point: C0 control characters → 0xFF00|cp, Latin-1 → cp, else 0x01000000|cp. */
export function codepointToKeysym(cp: number): number {
  // DEL is the Delete key (0xFFFF); 0xFF00|0x7F would be NumLock.
  if (cp === 0x7f) return 0xffff;
  if (cp < 0x20) return 0xff00 | cp;
  if (cp <= 0xff) return cp;
  return 0x01000000 | cp;
}

/** Minimal view of a `KeyboardEvent`, so the mapping is testable without a DOM. */
export interface KeyLike {
  key: string;
  code: string;
  location: number;
}

/**
 * Keysyms to press for one keydown, in order; empty when the event must not reach the host:
 * dead keys (the composed character arrives with the next keydown), IME processing, unknown keys.
 * A `key` holding several code points (some layouts emit ligatures) yields one keysym each.
 */
export function keysymsForKey(ev: KeyLike): number[] {
  const { key } = ev;
  if (key === '' || key === 'Dead' || key === 'Unidentified' || key === 'Process') return [];
  const sided = SIDED[key];
  if (sided !== undefined) return [ev.location === 2 ? sided[1] : sided[0]];
  const named = NAMED[key];
  if (named !== undefined) return [named];
  const fkey = /^F([1-9]|[12][0-9]|3[0-5])$/.exec(key);
  if (fkey) return [0xffbe + Number(fkey[1]) - 1];
  const cps = Array.from(key, (ch) => ch.codePointAt(0) ?? 0);
  // Every other named key is a multi-letter ASCII word ("BrightnessUp"): never type it letter by letter.
  if (cps.length > 1 && /^[A-Z][A-Za-z0-9]+$/.test(key)) return [];
  if (ev.location === 3) {
    const kp = keypadKeysym(key);
    if (kp !== undefined) return [kp];
  }
  return cps.map(codepointToKeysym);
}

/** Numeric keypad keys keep their KP_ keysyms so applications can tell them apart. */
function keypadKeysym(key: string): number | undefined {
  if (key.length === 1 && key >= '0' && key <= '9') return 0xffb0 + key.charCodeAt(0) - 0x30;
  const table: Record<string, number> = {
    '*': 0xffaa,
    '+': 0xffab,
    ',': 0xffac,
    '-': 0xffad,
    '.': 0xffae,
    '/': 0xffaf,
    '=': 0xffbd,
  };
  return table[key];
}

/**
 * Tracks which keysyms each physical key pressed, so the release matches the press even when the
 * `key` value changed in between (Shift released first: "A" down, "a" up; dead-key composition).
 */
export class PressedKeys {
  private readonly byCode = new Map<string, number[]>();

  /** Records a keydown; returns the keysyms to send as `kd` (repeats of a held key included). */
  down(ev: KeyLike): number[] {
    const syms = keysymsForKey(ev);
    if (syms.length === 0) return [];
    const id = ev.code || `key:${ev.key}`;
    this.byCode.set(id, syms);
    return syms;
  }

  /** Records a keyup; returns the keysyms to send as `ku` (those its keydown pressed). */
  up(ev: KeyLike): number[] {
    const id = ev.code || `key:${ev.key}`;
    const syms = this.byCode.get(id);
    if (syms !== undefined) {
      this.byCode.delete(id);
      return [...syms].reverse();
    }
    return keysymsForKey(ev).reverse();
  }

  /** Forgets everything (after `kr`: the host has released all keys itself). */
  clear(): void {
    this.byCode.clear();
  }

  get size(): number {
    return this.byCode.size;
  }
}

/**
 * Keysyms to type for one `input` event of the on-screen keyboard's text field: virtual
 * keyboards (Android especially) report keydown as "Unidentified" and deliver the text here.
 */
export function keysymsForInput(inputType: string, data: string | null): number[] {
  switch (inputType) {
    case 'insertText':
    case 'insertReplacementText':
    case 'insertFromPaste':
    case 'insertCompositionText':
      return Array.from(data ?? '', (ch) => (ch === '\n' ? 0xff0d : codepointToKeysym(ch.codePointAt(0) ?? 0)));
    case 'insertLineBreak':
    case 'insertParagraph':
      return [0xff0d];
    case 'deleteContentBackward':
      return [0xff08];
    case 'deleteContentForward':
      return [0xffff];
    default:
      return [];
  }
}
