import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseHostBool, reconcile, scaleLocalDefault, SettingsStore, type StorageLike } from '../src/settings.ts';

class MapStorage implements StorageLike {
  readonly m = new Map<string, string>();
  getItem(k: string): string | null {
    return this.m.get(k) ?? null;
  }
  setItem(k: string, v: string): void {
    this.m.set(k, v);
  }
  removeItem(k: string): void {
    this.m.delete(k);
  }
}

test('settings persist per app under the legacy keys', () => {
  const st = new MapStorage();
  const a = new SettingsStore(st, 'webrtc');
  const b = new SettingsStore(st, 'desktop');
  a.setNumber('videoBitRate', 2000);
  a.setBool('resizeRemote', false);
  b.setNumber('videoFramerate', 15);
  assert.equal(st.getItem('webrtc_videoBitRate'), '2000');
  assert.equal(st.getItem('webrtc_resizeRemote'), 'false');
  assert.equal(st.getItem('desktop_videoFramerate'), '15');
  assert.equal(a.number('videoBitRate'), 2000);
  assert.equal(a.number('videoFramerate'), null);
  assert.equal(b.number('videoFramerate'), 15);
  assert.equal(a.bool('resizeRemote'), false);
  assert.equal(a.bool('scaleLocal'), null);
});

test('garbage in storage reads as unset; broken storage is tolerated', () => {
  const st = new MapStorage();
  st.setItem('x_videoBitRate', '12abc');
  st.setItem('x_audioBitRate', '-5');
  st.setItem('x_videoFramerate', '0');
  st.setItem('x_debug', 'yes');
  const s = new SettingsStore(st, 'x');
  assert.equal(s.number('videoBitRate'), null);
  assert.equal(s.number('audioBitRate'), null);
  assert.equal(s.number('videoFramerate'), null);
  assert.equal(s.bool('debug'), null);
  const throwing: StorageLike = {
    getItem: () => {
      throw new Error('SecurityError');
    },
    setItem: () => {
      throw new Error('QuotaExceededError');
    },
    removeItem: () => {},
  };
  const t = new SettingsStore(throwing, 'x');
  t.setNumber('videoBitRate', 1000);
  assert.equal(t.number('videoBitRate'), null);
  assert.equal(new SettingsStore(null, 'x').bool('debug'), null);
});

test('a saved preference wins over the host announcement and is sent when different', () => {
  assert.deepEqual(reconcile(null, 8000), { value: 8000, send: false });
  assert.deepEqual(reconcile(8000, 8000), { value: 8000, send: false });
  assert.deepEqual(reconcile(2000, 8000), { value: 2000, send: true });
  assert.deepEqual(reconcile(true, false), { value: true, send: true });
});

test('local scaling defaults to the opposite of remote resize', () => {
  assert.equal(scaleLocalDefault(null, true), false);
  assert.equal(scaleLocalDefault(null, false), true);
  assert.equal(scaleLocalDefault(false, false), false);
  assert.equal(parseHostBool('True'), true);
  assert.equal(parseHostBool('false'), false);
  assert.equal(parseHostBool('1'), null);
});
