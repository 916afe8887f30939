import assert from 'node:assert/strict';
import { test } from 'node:test';
import { App, type AppParts } from '../src/app.ts';
import type { Drawer, DrawerEvents } from '../src/drawer.ts';
import type { E2eHooks } from '../src/e2e.ts';
import type { HostMessage } from '../src/messages.ts';
import type { SessionUi } from '../src/session.ts';
import type { HostStages } from '../src/stats.ts';
import type { TransportSwitch } from '../src/transport.ts';
import { FakeDocument, FakeVideo } from './fakes.ts';

/** A page element: text, hidden, classes, style and a click handler. */
class FakeElement extends FakeVideo {
  textContent = '';
  hidden = true;
  onclick: (() => void) | null = null;
  readonly classes = new Set<string>();
  classList = {
    toggle: (c: string, on?: boolean) => {
      if (on ?? !this.classes.has(c)) this.classes.add(c);
      else this.classes.delete(c);
    },
  };
}

/** The drawer as the app drives it: records every call; `events` plays the user. */
class FakeDrawer {
  calls: string[] = [];
  open = false;
  constructor(readonly events: DrawerEvents) {}
  get isOpen(): boolean {
    return this.open;
  }
  toggle(): void {
    this.open = !this.open;
    this.calls.push('toggle');
  }
  setVideoBitrate(v: number | null): void {
    this.calls.push(`videoBitrate ${v}`);
  }
  setFramerate(v: number | null): void {
    this.calls.push(`framerate ${v}`);
  }
  setAudioBitrate(v: number | null): void {
    this.calls.push(`audioBitrate ${v}`);
  }
  setSwitches(s: Record<string, boolean>): void {
    this.calls.push(`switches ${JSON.stringify(s)}`);
  }
  setClipboardStatus(): void {}
  setGamepads(): void {}
  renderGauges(): void {}
  renderStatus(): void {}
}

/** The transport: records what the app sends; `ui`/`host` play the session. */
class FakeTransport {
  sent: string[] = [];
  restarts: string[] = [];
  captureFps: number | null = null;
  serverLatencyMs: number | null = null;
  hostStages: HostStages | null = null;
  constructor(
    readonly ui: SessionUi,
    readonly host: (m: HostMessage) => void,
  ) {}
  send(text: string): boolean {
    this.sent.push(text);
    return true;
  }
  restart(reason: string): void {
    this.restarts.push(reason);
  }
}

function app(saved: Record<string, string> = {}) {
  const elements = new Map<string, FakeElement>();
  const store = new Map(Object.entries(saved));
  let drawer: FakeDrawer | null = null;
  let transport: FakeTransport | null = null;
  const hooks = { clipboardText: null } as E2eHooks;
  const parts: AppParts = {
    el: <T extends HTMLElement>(id: string) => {
      if (!elements.has(id)) elements.set(id, new FakeElement());
      return elements.get(id) as unknown as T;
    },
    setTitle: () => {},
    pathname: '/desk/',
    storage: {
      getItem: (k: string) => store.get(k) ?? null,
      setItem: (k: string, v: string) => void store.set(k, v),
      removeItem: (k: string) => void store.delete(k),
    } as Storage,
    win: new EventTarget(),
    doc: new FakeDocument(),
    view: () => ({ bodyWidth: 800, bodyHeight: 600, innerWidth: 800, innerHeight: 600, dpr: 1 }),
    isTouch: () => false,
    instrument: () => hooks,
    drawer: (events) => {
      drawer = new FakeDrawer(events);
      return drawer as unknown as Drawer;
    },
    transport: ({ ui, onHostMessage }) => {
      transport = new FakeTransport(ui, onHostMessage);
      return transport as unknown as TransportSwitch;
    },
  };
  const a = new App(parts);
  assert.ok(drawer && transport);
  return { a, el: parts.el, store, hooks, drawer: drawer as FakeDrawer, t: transport as FakeTransport };
}

const system = (action: string): HostMessage => ({ type: 'system', data: { action } });

test('a drawer choice is saved for this app and sent to the host', () => {
  const { drawer, t, store } = app();
  drawer.events.videoBitrate(8000);
  drawer.events.framerate(30);
  drawer.events.audioBitrate(128000);
  drawer.events.videoBitrate(0);
  assert.deepEqual(t.sent, ['vb,8000', '_arg_fps,30', 'ab,128000']);
  assert.equal([...store.entries()].filter(([k]) => k.includes('desk')).length, 3, JSON.stringify([...store]));
});

test('host settings reach the drawer; a saved preference is sent back once per channel', () => {
  const { drawer, t } = app({ 'desk_videoFramerate': '30' });
  drawer.calls.length = 0;
  t.ui.channelOpen();
  t.host(system('framerate,60'));
  assert.deepEqual(t.sent, ['cio', '_stages,1', '_arg_fps,30'], 'the saved 30 fps wins over the host’s 60');
  assert.ok(drawer.calls.includes('framerate 30'));
  assert.equal(t.captureFps, 30);
  t.host(system('framerate,24'));
  assert.equal(t.sent.length, 3, 'a later announcement is news, not a conflict');
  assert.ok(drawer.calls.includes('framerate 24'));
});

test('cursor, clipboard, latency and unknown host messages', () => {
  const { a, el, t, hooks } = app();
  assert.ok(a);
  t.host({ type: 'cursor', data: { curdata: '', hotspot: { x: 0, y: 0 }, override: 'none' } });
  assert.equal((el('video') as unknown as FakeElement).style.cursor, 'none');
  t.host({ type: 'clipboard', data: { content: Buffer.from('héllo').toString('base64') } });
  assert.equal(hooks.clipboardText, 'héllo');
  t.host({ type: 'latency_measurement', data: { latency_ms: 21 } });
  assert.equal(t.serverLatencyMs, 42);
  t.host({ type: 'no_such_type', data: null });
  t.host(system('reload'));
});

test('status lines, the connected state, the drawer and autoplay', () => {
  const { el, t, drawer } = app();
  t.ui.status('Connecting…');
  assert.equal((el('status') as unknown as FakeElement).textContent, 'Connecting…');
  t.ui.connected(true);
  assert.ok((el('info') as unknown as FakeElement).classes.has('live'));
  assert.ok((el('overlay') as unknown as FakeElement).classes.has('hidden'));
  // Opening the drawer releases held keys on the host (its selects take the keyboard).
  drawer.events.visibility(true);
  assert.deepEqual(t.sent, ['kr']);
  let resumed = 0;
  t.ui.needsClick(() => resumed++);
  const start = el('start') as unknown as FakeElement;
  assert.equal(start.hidden, false);
  start.onclick?.();
  assert.equal(resumed, 1);
});

test('each data channel asks for the host stages; video_stages reach the session, stamped', () => {
  const { t } = app();
  t.ui.channelOpen();
  assert.ok(t.sent.includes('_stages,1'), JSON.stringify(t.sent));
  const before = performance.now();
  t.host({ type: 'video_stages', data: { change_to_capture_ms: 0.8, capture_to_encoder_ms: null, capture_to_encoded_ms: 6.2, encoded_to_sent_ms: 0.5, frames: 30 } });
  const h = t.hostStages;
  assert.ok(h);
  assert.deepEqual({ ...h, receivedAt: 0 }, { changeToCaptureMs: 0.8, captureToEncoderMs: null, captureToEncodedMs: 6.2, encodedToSentMs: 0.5, frames: 30, receivedAt: 0 });
  assert.ok(h.receivedAt >= before && h.receivedAt <= performance.now());
  // A malformed message keeps the last good one (it goes stale on its own).
  t.host({ type: 'video_stages', data: 'nonsense' });
  assert.equal(t.hostStages, h);
  // A new channel is a new host session: the old stages are not its own, and it is asked again.
  t.sent.length = 0;
  t.ui.channelOpen();
  assert.equal(t.hostStages, null);
  assert.deepEqual(t.sent.filter((m) => m.startsWith('_stages')), ['_stages,1']);
});
