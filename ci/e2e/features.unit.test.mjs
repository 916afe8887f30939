import assert from 'node:assert/strict';
import { test } from 'node:test';
import { missingFeatures, tracksCursors, unhandledMessages } from './features.mjs';

const control = `
            ClientMessage::Gamepad(msg) => self.host.gamepad(msg).await,
            ClientMessage::Resize(_)
            | ClientMessage::Scale(_)
            | ClientMessage::ClipboardRead
            | ClientMessage::ClipboardWrite(_) => {
                debug!(
                    ?msg,
                    "desktop integration message not handled by this host yet"
                );
            }
            ClientMessage::ClientFps(_) => {}
`;

test('the unhandled arm of control.rs lists the missing messages', () => {
  assert.deepEqual(unhandledMessages(control), ['Resize', 'Scale', 'ClipboardRead', 'ClipboardWrite']);
  assert.deepEqual(unhandledMessages('match m { _ => {} }'), []);
  const partial = control.replace('            ClientMessage::Resize(_)\n            | ClientMessage::Scale(_)\n            | ', '            ');
  assert.deepEqual(unhandledMessages(partial), ['ClipboardRead', 'ClipboardWrite']);
});

test('missing features by name', () => {
  const m = missingFeatures(control, ['fn x() {}']);
  assert.deepEqual(Object.keys(m).sort(), ['clipboard', 'cursor', 'dpi', 'metrics', 'resize']);
  assert.deepEqual(missingFeatures('', ['conn.xfixes_select_cursor_input(root, mask)'], 'if settings.enable_metrics_http {'), {});
  assert.equal(tracksCursors(['let serial = ev.cursor_serial;']), true);
});
