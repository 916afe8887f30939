import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as m from '../src/messages.ts';

test('browser → host messages use the legacy grammar', () => {
  assert.equal(m.mouseAbs(100, 200, 8, 1), 'm,100,200,8,1');
  assert.equal(m.mouseAbs(100.9, 200.2, 0), 'm,100,200,0,0');
  assert.equal(m.mouseRel(-3.7, 4, 1), 'm2,-3,4,1,0');
  assert.equal(m.keyDown(65293), 'kd,65293');
  assert.equal(m.keyUp(0x010020ac), 'ku,16785580');
  assert.equal(m.KEY_RESET, 'kr');
  assert.equal(m.pointerVisible(true), 'p,1');
  assert.equal(m.pong(1700000000123), 'pong,1700000000.123');
  assert.equal(m.resize(1920, 1080), 'r,1920x1080');
  assert.equal(m.scale(1.5), 's,1.5');
  assert.equal(m.clientFps(30), '_f,30');
  assert.equal(m.clientLatency(12), '_l,12');
  assert.equal(m.videoStages(true), '_stages,1');
  assert.equal(m.videoStages(false), '_stages,0');
});

test('button bits follow MouseEvent.button', () => {
  assert.equal(m.buttonBit(0), 1);
  assert.equal(m.buttonBit(1), 2);
  assert.equal(m.buttonBit(2), 4);
  assert.equal(m.buttonBit(3), 0);
  assert.equal(m.buttonBit(-1), 0);
});

test('host messages parse with Python json.dumps spacing', () => {
  assert.deepEqual(m.parseHostMessage('{"type": "ping", "data": {"start_time": 1700000000.5}}'), {
    type: 'ping',
    data: { start_time: 1700000000.5 },
  });
  const sys = m.parseHostMessage('{"type": "system", "data": {"action": "encoder,x264enc"}}');
  assert.deepEqual(m.systemAction(sys?.data), { name: 'encoder', value: 'x264enc' });
  assert.deepEqual(m.systemAction({ action: 'reload' }), { name: 'reload', value: '' });
  assert.deepEqual(m.systemAction({ action: 'resolution,1920x1080' }), { name: 'resolution', value: '1920x1080' });
  assert.equal(m.systemAction(null), null);
  assert.equal(m.parseHostMessage('not json'), null);
  assert.equal(m.parseHostMessage('[1,2]'), null);
  assert.equal(m.parseHostMessage('{"data": 1}'), null);
});

test('cursor messages become CSS', () => {
  assert.equal(m.cursorCss(null), 'auto');
  assert.equal(m.cursorCss({ handle: 0, curdata: 'AA==', hotspot: { x: 1, y: 1 }, override: null }), 'auto');
  assert.equal(m.cursorCss({ handle: 5, curdata: 'AA==', hotspot: { x: 1, y: 1 }, override: 'none' }), 'none');
  assert.equal(
    m.cursorCss({ handle: 7, curdata: 'iVBORw0K', hotspot: { x: 3, y: 9 }, override: null }),
    "url('data:image/png;base64,iVBORw0K') 3 9, auto",
  );
  assert.equal(m.cursorCss({ handle: 7, curdata: "x') ; background:red", hotspot: { x: 0, y: 0 } }), 'auto');
});

test('settings, clipboard, gamepad and stats messages', () => {
  assert.equal(m.videoBitrate(2000), 'vb,2000');
  assert.equal(m.audioBitrate(64000), 'ab,64000');
  assert.equal(m.framerate(15), '_arg_fps,15');
  assert.equal(m.resizeSwitch(true, 1366, 768), '_arg_resize,true,1366x768');
  assert.equal(m.resizeSwitch(false, 1280.7, 720), '_arg_resize,false,1280x720');
  assert.equal(m.CLIPBOARD_READ, 'cr');
  assert.equal(m.clipboardWrite('héllo'), 'cw,aMOpbGxv');
  assert.equal(m.gamepadConnect(0, 'pad', 4, 17), 'js,c,0,cGFk,4,17');
  assert.equal(m.gamepadDisconnect(3), 'js,d,3');
  assert.equal(m.gamepadButton(0, 7, 0.5), 'js,b,0,7,0.5');
  assert.equal(m.gamepadAxis(1, 2, -1), 'js,a,1,2,-1');
  assert.equal(m.statsUpload('video', [{ type: 'codec', id: 'C' }]), '_stats_video,[{"type":"codec","id":"C"}]');
});
