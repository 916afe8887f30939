import assert from 'node:assert/strict';
import { test } from 'node:test';
import { keysymToChar, parseXev, typedText } from './xev.mjs';

const sample = `
KeyPress event, serial 28, synthetic NO, window 0x200001,
    root 0x1d9, subw 0x0, time 1216, (60,40), root:(260,240),
    state 0x0, keycode 50 (keysym 0xffe1, Shift_L), same_screen YES,
    XLookupString gives 0 bytes: 
    XmbLookupString gives 0 bytes: 
    XFilterEvent returns: False

KeyPress event, serial 28, synthetic NO, window 0x200001,
    root 0x1d9, subw 0x0, time 1300, (60,40), root:(260,240),
    state 0x1, keycode 43 (keysym 0x48, H), same_screen YES,
    XLookupString gives 1 bytes: (48) "H"

KeyPress event, serial 29, synthetic NO, window 0x200001,
    root 0x1d9, subw 0x0, time 1400, (60,40), root:(260,240),
    state 0x0, keycode 255 (keysym 0xe9, eacute), same_screen YES,

KeyPress event, serial 30, synthetic NO, window 0x200001,
    root 0x1d9, subw 0x0, time 1500, (60,40), root:(260,240),
    state 0x0, keycode 254 (keysym 0x10020ac, EuroSign), same_screen YES,

ButtonPress event, serial 31, synthetic NO, window 0x200001,
    root 0x1d9, subw 0x0, time 1600, (100,80), root:(300,280),
    state 0x0, button 1, same_screen YES
`;

test('xev records parse into typed events', () => {
  const ev = parseXev(sample);
  assert.equal(ev.length, 5);
  assert.deepEqual(ev[1], { type: 'KeyPress', rootX: 260, rootY: 240, keycode: 43, keysym: 0x48, keysymName: 'H' });
  assert.deepEqual(ev[4], { type: 'ButtonPress', rootX: 300, rootY: 280, button: 1 });
  assert.equal(typedText(ev), 'Hé€');
});

test('keysyms map to characters', () => {
  assert.equal(keysymToChar(0x20), ' ');
  assert.equal(keysymToChar(0xe9), 'é');
  assert.equal(keysymToChar(0x20ac), '€');
  assert.equal(keysymToChar(0x10020ac), '€');
  assert.equal(keysymToChar(0xffbe), null);
});
