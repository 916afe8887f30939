//! The drawer's "Sharing" section on the owner's page: who is connected and in which role (a
//! role menu per guest, changed live), links minted and revoked, and the messages the host
//! dropped by role. It talks to the host over the owner's sharing socket (`/share/ws` without a
//! link; Basic auth already passed). A host without sharing closes the socket and the section
//! stays hidden.

import * as share from './sharing.ts';

function h<K extends keyof HTMLElementTagNameMap>(tag: K, text = '', attrs: Record<string, string> = {}): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text) e.textContent = text;
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function roleSelect(current: string, onChange: (role: string) => void): HTMLSelectElement {
  const sel = h('select');
  for (const r of share.GUEST_ROLES) {
    const o = h('option', r, { value: r });
    if (r === current) o.selected = true;
    sel.append(o);
  }
  sel.onchange = () => onChange(sel.value);
  return sel;
}

export class SharingDrawer {
  private state = share.initialState();
  private ws: WebSocket | null = null;
  private readonly section = h('section', '', { id: 'sharing', hidden: '' });

  start(): void {
    const drawer = document.querySelector('#drawer .body') ?? document.getElementById('drawer');
    drawer?.append(this.section);
    this.connect();
  }

  private connect(): void {
    const ws = new WebSocket(share.shareSocketUrl(window.location, null));
    this.ws = ws;
    ws.onopen = () => ws.send(JSON.stringify({ type: 'hello', name: 'owner' }));
    ws.onmessage = (ev) => {
      const n = share.parseNotice(String(ev.data));
      if (!n) return;
      this.state = share.reduce(this.state, n);
      this.render();
    };
    ws.onclose = (ev) => {
      this.section.hidden = true;
      // Host restarts come back; a host without sharing (404) does not.
      if (ev.code !== 1006 || this.state.uid) setTimeout(() => this.connect(), 5000);
    };
  }

  private command(c: Record<string, unknown>): void {
    this.ws?.send(JSON.stringify(c));
  }

  private render(): void {
    const s = this.state;
    const sec = this.section;
    sec.hidden = false;
    sec.replaceChildren(h('h3', 'Sharing'));
    const list = h('ul', '', { class: 'share-members' });
    for (const m of s.members) {
      const li = h('li', `${m.name} `);
      if (m.role === 'owner') li.append(h('em', m.uid === s.uid ? 'owner (you)' : 'owner'));
      else li.append(roleSelect(m.role, (role) => this.command({ type: 'set_role', uid: m.uid, role })));
      if (m.role !== 'owner') {
        const kick = h('button', 'Remove', { title: 'Disconnect this guest' });
        kick.onclick = () => this.command({ type: 'kick', uid: m.uid });
        li.append(' ', kick);
      }
      list.append(li);
    }
    const guests = s.members.filter((m) => m.role !== 'owner').length;
    sec.append(h('div', `${guests} of ${s.maxViewers} guests`), list);
    const d = s.dropped;
    sec.append(h('div', `Dropped by role: input ${d.input}, clipboard ${d.clipboard}, settings ${d.settings}, gamepad ${d.gamepad}`));

    const mintRole = roleSelect('viewer', () => {});
    const mint = h('button', 'Create link');
    mint.onclick = () => this.command({ type: 'mint', role: mintRole.value, ttl: 3600 });
    sec.append(h('div', 'New link (1 hour): '), mintRole, mint);
    if (s.minted) {
      const url = share.shareLinkUrl(window.location, s.minted.token);
      sec.append(h('input', '', { readonly: '', value: url, class: 'share-url', 'aria-label': 'Share link' }));
    }
    const links = h('ul', '', { class: 'share-links' });
    for (const l of s.links.filter((x) => !x.revoked)) {
      const li = h('li', `${l.id} ${l.role} until ${new Date(l.expires * 1000).toLocaleTimeString()} `);
      const revoke = h('button', 'Revoke');
      revoke.onclick = () => this.command({ type: 'revoke', link: l.id });
      li.append(revoke);
      links.append(li);
    }
    const rotate = h('button', 'Revoke all links', { title: 'Rotate the host secret: every link stops working' });
    rotate.onclick = () => this.command({ type: 'rotate' });
    sec.append(links, rotate);
    if (s.error) sec.append(h('div', s.error.message, { class: 'share-error' }));
  }
}
