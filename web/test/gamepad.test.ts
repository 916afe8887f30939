import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deadZone, GamepadDiffer, type PadSnapshot } from '../src/gamepad.ts';

const pad = (index: number, axes: number[], buttons: number[], id = 'Xbox 360 Controller (XInput STANDARD GAMEPAD)'): PadSnapshot => ({
  index,
  id,
  connected: true,
  axes,
  buttons: buttons.map((value) => ({ value, pressed: value > 0.5 })),
});

test('connect announces axes before buttons, then only changes are sent', () => {
  const d = new GamepadDiffer();
  const id = 'Xbox 360 Controller (XInput STANDARD GAMEPAD)';
  assert.deepEqual(d.update([pad(0, [0, 0, 0, 0], [0, 0])]), [`js,c,0,${btoa(id)},4,2`]);
  assert.deepEqual(d.update([pad(0, [0, 0, 0, 0], [0, 0])]), []);
  assert.deepEqual(d.update([pad(0, [0.5, 0, 0, -1], [1, 0])]), ['js,b,0,0,1', 'js,a,0,0,0.5', 'js,a,0,3,-1']);
  assert.deepEqual(d.update([pad(0, [0.5, 0, 0, -1], [1, 0.25])]), ['js,b,0,1,0.25']);
  assert.deepEqual(d.update([]), ['js,d,0']);
  assert.deepEqual(d.connected(), []);
});

test('dead zone 0.05: small axis noise is 0 and sends nothing', () => {
  assert.equal(deadZone(0.049), 0);
  assert.equal(deadZone(-0.049), 0);
  assert.equal(deadZone(0.05), 0.05);
  assert.equal(deadZone(Number.NaN), 0);
  assert.equal(deadZone(1.5), 1);
  const d = new GamepadDiffer();
  d.update([pad(1, [0, 0], [])]);
  assert.deepEqual(d.update([pad(1, [0.03, -0.04], [])]), []);
  assert.deepEqual(d.update([pad(1, [0.3, -0.04], [])]), ['js,a,1,0,0.3']);
  assert.deepEqual(d.update([pad(1, [0.02, -0.04], [])]), ['js,a,1,0,0']);
});

test('up to four pads, by index; holes and extra pads ignored; a swapped pad is re-announced', () => {
  const d = new GamepadDiffer();
  const out = d.update([null, pad(1, [], [0], 'A'), pad(4, [], [0], 'E'), pad(3, [], [], 'D')]);
  assert.deepEqual(out, [`js,c,1,${btoa('A')},0,1`, `js,c,3,${btoa('D')},0,0`]);
  assert.deepEqual(d.connected(), [{ index: 1, id: 'A' }, { index: 3, id: 'D' }]);
  assert.deepEqual(d.update([null, pad(1, [], [0], 'B'), null, pad(3, [], [], 'D')]), ['js,d,1', `js,c,1,${btoa('B')},0,1`]);
  // A disconnected entry counts as gone.
  assert.deepEqual(d.update([null, { ...pad(1, [], [0], 'B'), connected: false }, null, pad(3, [], [], 'D')]), ['js,d,1']);
});

test('digital buttons report pressed as 1; non-Latin pad names are UTF-8 base64', () => {
  const d = new GamepadDiffer();
  d.update([pad(0, [], [0])]);
  assert.deepEqual(d.update([{ index: 0, id: pad(0, [], []).id, axes: [], buttons: [{ value: 0, pressed: true }] }]), ['js,b,0,0,1']);
  const e = new GamepadDiffer();
  assert.deepEqual(e.update([pad(2, [], [], 'Manette é')]), ['js,c,2,TWFuZXR0ZSDDqQ==,0,0']);
  d.reset();
  assert.equal(d.update([pad(0, [], [])])[0]?.startsWith('js,c,0,'), true);
});
