// A second network namespace for the browser, joined to the test's own namespace (where Xvfb,
// PulseAudio and the host run) by a veth pair, and an nftables filter in it that lets nothing
// out but TCP to the host's one port: the "UDP blocked, one TCP port open" network of
// docs/connectivity.md. Chromium is started inside it through a wrapper that enters the
// namespace (Playwright drives it over a pipe, which crosses namespaces).
//
// Needs root, `ip` (iproute2), `nsenter`/`unshare` (util-linux) and `nft` (Debian `nftables`),
// and a kernel with nf_tables usable inside a network namespace: `nftablesUsable()` says whether
// it is, so a test can refuse with a clear message instead of passing over an unfiltered link.
import { spawn, execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CHROMIUM } from './browser.mjs';

const run = promisify(execFile);

export const HOST_IP = '10.77.0.1';
export const BROWSER_IP = '10.77.0.2';
const TABLE = 'selkies_one_port';

/** True when `nft` exists and can load a table in a fresh network namespace. */
export async function nftablesUsable() {
  try {
    await run('unshare', ['--net', '--', 'nft', `add table inet probe; delete table inet probe`], { timeout: 10000 });
    return true;
  } catch {
    return false;
  }
}

export class BrowserNetns {
  /** The namespace lives as long as a `sleep` process started in it; `dir` holds the wrapper. */
  static async create(dir) {
    const holder = spawn('unshare', ['--net', '--', 'sleep', 'infinity'], { stdio: 'ignore' });
    const ns = new BrowserNetns(holder, dir);
    // The namespace exists once the child has exec'd sleep (its ns differs from ours).
    const own = (await run('readlink', ['/proc/self/ns/net'])).stdout.trim();
    for (let i = 0; i < 100; i++) {
      try {
        const theirs = (await run('readlink', [`/proc/${holder.pid}/ns/net`])).stdout.trim();
        if (theirs && theirs !== own) break;
      } catch {
        // not there yet
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const pid = String(holder.pid);
    await run('ip', ['link', 'add', 'vsh0', 'type', 'veth', 'peer', 'name', 'vsb0', 'netns', pid]);
    await run('ip', ['addr', 'add', `${HOST_IP}/24`, 'dev', 'vsh0']);
    await run('ip', ['link', 'set', 'vsh0', 'up']);
    await ns.exec('ip', ['link', 'set', 'lo', 'up']);
    await ns.exec('ip', ['addr', 'add', `${BROWSER_IP}/24`, 'dev', 'vsb0']);
    await ns.exec('ip', ['link', 'set', 'vsb0', 'up']);
    // Chromium inside the namespace, for Browser.launch({ executablePath }).
    ns.chromium = join(dir, 'chromium-in-netns.sh');
    writeFileSync(ns.chromium, `#!/bin/sh\nexec nsenter --net=/proc/${pid}/ns/net -- ${CHROMIUM} "$@"\n`);
    chmodSync(ns.chromium, 0o755);
    return ns;
  }

  constructor(holder, dir) {
    this.holder = holder;
    this.dir = dir;
    this.filtered = false;
  }

  /** Runs a command inside the browser's namespace; resolves with stdout. */
  async exec(cmd, args, opts = {}) {
    const { stdout } = await run('nsenter', [`--net=/proc/${this.holder.pid}/ns/net`, '--', cmd, ...args], { timeout: 15000, ...opts });
    return stdout;
  }

  /**
   * The filter: out of the browser's namespace only TCP to HOST_IP:`port` (and loopback), in
   * only what comes back from that port. Everything else, UDP above all, is dropped.
   */
  async blockAllBut(port) {
    const rules = `table inet ${TABLE} {
  chain out {
    type filter hook output priority 0; policy drop;
    oifname "lo" accept
    ip daddr ${HOST_IP} tcp dport ${port} accept
  }
  chain in {
    type filter hook input priority 0; policy drop;
    iifname "lo" accept
    ip saddr ${HOST_IP} tcp sport ${port} accept
  }
}
`;
    const file = join(this.dir, 'one-port.nft');
    writeFileSync(file, rules);
    await this.exec('nft', ['-f', file]);
    this.filtered = true;
  }

  async unblock() {
    if (!this.filtered) return;
    await this.exec('nft', ['delete', 'table', 'inet', TABLE]);
    this.filtered = false;
  }

  /** The rule set as `nft` lists it, for diagnostics. */
  ruleset() {
    return this.exec('nft', ['list', 'ruleset']);
  }

  /**
   * From the browser's namespace: a STUN Binding request over UDP to `host:port`; true when
   * answered within 1 s (the host's embedded relay answers Binding on its UDP port).
   */
  async udpStunAnswered(host, port) {
    const js = `const s=require('dgram').createSocket('udp4');const r=Buffer.alloc(20);r.writeUInt16BE(1,0);r.writeUInt32BE(0x2112a442,4);
s.on('message',()=>{console.log('answered');process.exit(0)});setTimeout(()=>{console.log('silent');process.exit(0)},1000);
s.send(r,${port},'${host}',()=>{});s.on('error',()=>{console.log('silent');process.exit(0)});`;
    return (await this.exec(process.execPath, ['-e', js])).trim() === 'answered';
  }

  /** From the browser's namespace: whether a TCP connection to `host:port` opens within 1 s. */
  async tcpConnects(host, port) {
    const js = `const c=require('net').connect(${port},'${host}');c.on('connect',()=>{console.log('open');process.exit(0)});
c.on('error',()=>{console.log('closed');process.exit(0)});setTimeout(()=>{console.log('closed');process.exit(0)},1000);`;
    return (await this.exec(process.execPath, ['-e', js])).trim() === 'open';
  }

  async destroy() {
    await run('ip', ['link', 'del', 'vsh0']).catch(() => {});
    this.holder.kill('SIGKILL');
  }
}
