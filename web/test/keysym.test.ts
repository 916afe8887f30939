import assert from 'node:assert/strict';
import { test } from 'node:test';
import { codepointToKeysym, isModifierKeysym, keysymsForInput, keysymsForKey, PressedKeys } from '../src/keysym.ts';

const k = (key: string, code = '', location = 0) => ({ key, code, location });

test('printable characters follow the docs/protocol.md §4.1 rule', () => {
  assert.deepEqual(keysymsForKey(k('a', 'KeyA')), [0x61]);
  assert.deepEqual(keysymsForKey(k('H', 'KeyH')), [0x48]);
  assert.deepEqual(keysymsForKey(k(' ', 'Space')), [0x20]);
  assert.deepEqual(keysymsForKey(k('é', 'Digit2')), [0xe9]); // AZERTY: a Latin-1 code point
  assert.deepEqual(keysymsForKey(k('€', 'KeyE')), [0x010020ac]); // AltGr+E: beyond Latin-1
  assert.deepEqual(keysymsForKey(k('@', 'Digit0')), [0x40]);
  assert.deepEqual(keysymsForKey(k('ß', 'Minus')), [0xdf]);
  assert.deepEqual(keysymsForKey(k('ж', 'Semicolon')), [0x01000436]);
  assert.deepEqual(keysymsForKey(k('😀')), [0x0101f600]); // astral plane: one code point, not two halves
});

test('control code points map into 0xFF00', () => {
  assert.equal(codepointToKeysym(0x08), 0xff08);
  assert.equal(codepointToKeysym(0x0d), 0xff0d);
  assert.equal(codepointToKeysym(0x7f), 0xffff);
  assert.equal(codepointToKeysym(0xff), 0xff);
  assert.equal(codepointToKeysym(0x100), 0x01000100);
});

test('named keys map to X keysyms', () => {
  assert.deepEqual(keysymsForKey(k('Enter', 'Enter')), [0xff0d]);
  assert.deepEqual(keysymsForKey(k('Backspace')), [0xff08]);
  assert.deepEqual(keysymsForKey(k('Escape')), [0xff1b]);
  assert.deepEqual(keysymsForKey(k('ArrowLeft')), [0xff51]);
  assert.deepEqual(keysymsForKey(k('F1')), [0xffbe]);
  assert.deepEqual(keysymsForKey(k('F12')), [0xffc9]);
  assert.deepEqual(keysymsForKey(k('AltGraph', 'AltRight', 2)), [0xfe03]);
  assert.deepEqual(keysymsForKey(k('Delete')), [0xffff]);
});

test('modifiers are sided by location', () => {
  assert.deepEqual(keysymsForKey(k('Shift', 'ShiftLeft', 1)), [0xffe1]);
  assert.deepEqual(keysymsForKey(k('Shift', 'ShiftRight', 2)), [0xffe2]);
  assert.deepEqual(keysymsForKey(k('Control', 'ControlRight', 2)), [0xffe4]);
  assert.deepEqual(keysymsForKey(k('Alt', 'AltLeft', 1)), [0xffe9]);
  assert.deepEqual(keysymsForKey(k('Meta', 'MetaLeft', 1)), [0xffe7]);
});

test('keypad keys keep KP_ keysyms', () => {
  assert.deepEqual(keysymsForKey(k('5', 'Numpad5', 3)), [0xffb5]);
  assert.deepEqual(keysymsForKey(k('+', 'NumpadAdd', 3)), [0xffab]);
  assert.deepEqual(keysymsForKey(k('Enter', 'NumpadEnter', 3)), [0xff0d]);
});

test('dead keys, IME and unknown named keys send nothing', () => {
  assert.deepEqual(keysymsForKey(k('Dead', 'BracketLeft')), []);
  assert.deepEqual(keysymsForKey(k('Process')), []);
  assert.deepEqual(keysymsForKey(k('Unidentified')), []);
  assert.deepEqual(keysymsForKey(k('BrightnessUp')), []);
});

test('modifier keysyms are recognised for auto-repeat suppression', () => {
  for (const s of [0xfe03, 0xffe1, 0xffe2, 0xffe3, 0xffe4, 0xffe5, 0xffe7, 0xffec]) assert.ok(isModifierKeysym(s));
  for (const s of [0x61, 0xff0d, 0xffe6, 0xffbe]) assert.ok(!isModifierKeysym(s));
});

test('release matches the press even when key changed in between', () => {
  const p = new PressedKeys();
  assert.deepEqual(p.down(k('Shift', 'ShiftLeft', 1)), [0xffe1]);
  assert.deepEqual(p.down(k('A', 'KeyA')), [0x41]);
  assert.deepEqual(p.up(k('Shift', 'ShiftLeft', 1)), [0xffe1]);
  // Shift is up now, so the browser reports "a" for the release of the same physical key.
  assert.deepEqual(p.up(k('a', 'KeyA')), [0x41]);
  assert.equal(p.size, 0);
  // Dead key then e: the keydown of e carries the composed é; its keyup may say "e".
  assert.deepEqual(p.down(k('Dead', 'BracketLeft')), []);
  assert.deepEqual(p.up(k('Dead', 'BracketLeft')), []);
  assert.deepEqual(p.down(k('é', 'KeyE')), [0xe9]);
  assert.deepEqual(p.up(k('e', 'KeyE')), [0xe9]);
});

test('an unmatched release falls back to its own key', () => {
  const p = new PressedKeys();
  assert.deepEqual(p.up(k('x', 'KeyX')), [0x78]);
  p.down(k('q', 'KeyQ'));
  p.clear();
  assert.equal(p.size, 0);
});

test('on-screen keyboard input events type characters and editing keys', () => {
  assert.deepEqual(keysymsForInput('insertText', 'aé€'), [0x61, 0xe9, 0x010020ac]);
  assert.deepEqual(keysymsForInput('insertText', 'a\nb'), [0x61, 0xff0d, 0x62]);
  assert.deepEqual(keysymsForInput('insertLineBreak', null), [0xff0d]);
  assert.deepEqual(keysymsForInput('deleteContentBackward', null), [0xff08]);
  assert.deepEqual(keysymsForInput('deleteContentForward', null), [0xffff]);
  assert.deepEqual(keysymsForInput('formatBold', null), []);
  assert.deepEqual(keysymsForInput('insertText', null), []);
});
