import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as s from '../src/sharing.ts';

test('share link in the URL and the socket URL', () => {
  assert.equal(s.shareToken('?share=djE6YQ.abc_-'), 'djE6YQ.abc_-');
  assert.equal(s.shareToken('?e2e=1&share=a.b'), 'a.b');
  assert.equal(s.shareToken('?share='), null);
  assert.equal(s.shareToken('?share=<script>'), null);
  assert.equal(s.shareToken(''), null);
  assert.equal(s.shareSocketUrl({ protocol: 'https:', host: 'h:8443' }, 'a.b'), 'wss://h:8443/share/ws?share=a.b');
  assert.equal(s.shareSocketUrl({ protocol: 'http:', host: 'h' }, null), 'ws://h/share/ws');
  assert.equal(s.shareLinkUrl({ origin: 'https://h', pathname: '/' }, 'a.b'), 'https://h/?share=a.b');
});

test('notices build the state', () => {
  let st = s.initialState();
  const apply = (text: string): void => {
    const n = s.parseNotice(text);
    assert.ok(n, text);
    st = s.reduce(st, n);
  };
  apply('{"type":"welcome","uid":"g2","role":"viewer","name":""}');
  assert.equal(st.uid, 'g2');
  apply(
    '{"type":"roster","members":[{"uid":"o1","role":"owner","name":"me"},{"uid":"g2","role":"controller","name":"Ann"}],"max_viewers":8,"dropped":{"input":3,"clipboard":0,"settings":1,"gamepad":0}}',
  );
  assert.equal(st.role, 'controller', 'my role follows the roster');
  assert.equal(st.members.length, 2);
  assert.equal(st.dropped.input, 3);
  apply('{"type":"role","role":"player1"}');
  assert.equal(st.role, 'player1');
  apply('{"type":"link","id":"ab12","role":"viewer","expires":99,"token":"t.k"}');
  assert.equal(st.minted?.token, 't.k');
  apply('{"type":"links","links":[{"id":"ab12","role":"viewer","expires":99,"revoked":true}]}');
  assert.equal(st.links[0]?.revoked, true);
  apply('{"type":"error","code":"full","message":"the desktop is full"}');
  assert.equal(st.error?.code, 'full');
  assert.equal(s.parseNotice('{"sdp":{"type":"offer","sdp":"v=0"}}'), null);
  assert.equal(s.parseNotice('HELLO'), null);
  assert.equal(s.parseNotice('{"type":"nope"}'), null);
});

test('roles, closes and rejoining', () => {
  assert.match(s.describeRole('player2'), /js2/);
  assert.match(s.describeRole('viewer'), /video and audio only/);
  assert.ok(s.shouldRejoin(s.CLOSE.NOT_STREAMING));
  assert.ok(!s.shouldRejoin(s.CLOSE.BAD_LINK));
  assert.ok(!s.shouldRejoin(s.CLOSE.REMOVED));
  assert.match(s.closeReason(s.CLOSE.BAD_LINK, 'share link expired'), /expired/);
  assert.ok(s.GUEST_ROLES.includes('controller'));
});

test('only owners and controllers use the clipboard', () => {
  assert.equal(s.mayUseClipboard('controller'), true);
  assert.equal(s.mayUseClipboard('owner'), true);
  assert.equal(s.mayUseClipboard('viewer'), false);
  assert.equal(s.mayUseClipboard('player1'), false);
  assert.equal(s.mayUseClipboard(null), false);
});
