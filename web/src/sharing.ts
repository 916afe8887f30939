//! Desktop sharing, client side (docs/sharing.md): the share link in the page URL
//! (`?share=<token>`), the sharing socket's URL, and the pure state the socket's notices build
//! (who I am, my role, who is connected, the links an owner minted, the last refusal). The DOM
//! lives in guest.ts (a guest's page) and sharing-drawer.ts (the owner's drawer section).

import { parseJsonObject } from './messages.ts';

/** The URL parameter that carries a share link. */
export const SHARE_PARAM = 'share';

/** Close codes of the sharing socket (docs/protocol.md "Sharing"). */
export const CLOSE = {
  PROTOCOL: 4002,
  BAD_LINK: 4003,
  FULL: 4004,
  NOT_STREAMING: 4005,
  REMOVED: 4006,
} as const;

/** Roles the owner can hand out, in the order the drawer lists them. */
export const GUEST_ROLES = ['controller', 'viewer', 'player0', 'player1', 'player2', 'player3'] as const;

export interface MemberView {
  uid: string;
  role: string;
  name: string;
}

export interface LinkView {
  id: string;
  role: string;
  expires: number;
  revoked: boolean;
}

export interface Dropped {
  input: number;
  clipboard: number;
  settings: number;
  gamepad: number;
}

export type Notice =
  | { type: 'welcome'; uid: string; role: string; name: string }
  | { type: 'roster'; members: MemberView[]; max_viewers: number; dropped: Dropped }
  | { type: 'role'; role: string }
  | { type: 'link'; id: string; role: string; expires: number; token: string }
  | { type: 'links'; links: LinkView[] }
  | { type: 'error'; code: string; message: string };

export interface ShareState {
  uid: string | null;
  role: string | null;
  members: MemberView[];
  maxViewers: number;
  dropped: Dropped;
  links: LinkView[];
  /** The last link minted, with its token (shown once). */
  minted: { id: string; role: string; expires: number; token: string } | null;
  error: { code: string; message: string } | null;
}

export function initialState(): ShareState {
  return {
    uid: null,
    role: null,
    members: [],
    maxViewers: 0,
    dropped: { input: 0, clipboard: 0, settings: 0, gamepad: 0 },
    links: [],
    minted: null,
    error: null,
  };
}

/** The share link of a page URL's query string, if any. */
export function shareToken(search: string): string | null {
  const t = new URLSearchParams(search).get(SHARE_PARAM);
  return t && /^[A-Za-z0-9_.-]{1,512}$/.test(t) ? t : null;
}

/** The sharing socket next to the page: with the link for a guest, without for the owner. */
export function shareSocketUrl(loc: { protocol: string; host: string }, token: string | null): string {
  const scheme = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  const q = token ? `?${SHARE_PARAM}=${encodeURIComponent(token)}` : '';
  return `${scheme}//${loc.host}/share/ws${q}`;
}

/** The page URL a minted token opens. */
export function shareLinkUrl(loc: { origin: string; pathname: string }, token: string): string {
  return `${loc.origin}${loc.pathname}?${SHARE_PARAM}=${encodeURIComponent(token)}`;
}

/** A notice from the socket, or null for anything else (SDP/ICE envelopes, junk). */
export function parseNotice(text: string): Notice | null {
  const v = parseJsonObject(text);
  const t = v?.type;
  const known = ['welcome', 'roster', 'role', 'link', 'links', 'error'];
  return typeof t === 'string' && known.includes(t) ? (v as unknown as Notice) : null;
}

/** The state after `n`. */
export function reduce(s: ShareState, n: Notice): ShareState {
  switch (n.type) {
    case 'welcome':
      return { ...s, uid: n.uid, role: n.role, error: null };
    case 'roster': {
      const me = n.members.find((m) => m.uid === s.uid);
      return { ...s, members: n.members, maxViewers: n.max_viewers, dropped: n.dropped, role: me?.role ?? s.role };
    }
    case 'role':
      return { ...s, role: n.role };
    case 'link':
      return { ...s, minted: { id: n.id, role: n.role, expires: n.expires, token: n.token } };
    case 'links':
      return { ...s, links: n.links };
    case 'error':
      return { ...s, error: { code: n.code, message: n.message } };
  }
}

/** What a role may do, as the drawer explains it. */
export function describeRole(role: string | null): string {
  if (role === 'owner') return 'Owner: everything, settings included; hands out roles and links';
  if (role === 'controller') return 'Controller: keyboard, mouse and clipboard';
  if (role === 'viewer') return 'Viewer: video and audio only';
  const p = /^player(\d)$/.exec(role ?? '');
  if (p) return `Player ${p[1]}: your first gamepad drives the host's js${p[1]}`;
  return 'Not connected';
}

/** Whether `role` may read and write the clipboard (the host enforces the same rule). */
export function mayUseClipboard(role: string | null): boolean {
  return role === 'owner' || role === 'controller';
}

/** Whether a guest should try again after the socket closed with `code`. */
export function shouldRejoin(code: number): boolean {
  return code === CLOSE.NOT_STREAMING || code === 1006 || code === 1001;
}

/** Text for a closed guest socket. */
export function closeReason(code: number, reason: string): string {
  switch (code) {
    case CLOSE.BAD_LINK:
      return `This share link does not work: ${reason || 'refused'}`;
    case CLOSE.FULL:
      return `Cannot join: ${reason || 'the desktop is full'}`;
    case CLOSE.NOT_STREAMING:
      return 'Waiting for the owner to start streaming…';
    case CLOSE.REMOVED:
      return `You were disconnected: ${reason || 'removed by the owner'}`;
    default:
      return reason ? `Disconnected: ${reason}` : 'Disconnected';
  }
}
