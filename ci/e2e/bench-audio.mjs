// Benchmark (prints numbers, asserts nothing but reception): host CPU with a silent desktop
// audio sink, with the silence gate off (`--audio_silence_ms=0`) and on (the default), A/B
// alternated; then, with the gate on, how long after sound starts the first Opus packet reaches
// a client. The client is a plain WebSocket-transport socket (docs/protocol.md §13), so no
// browser's CPU mixes in; the desktop is static (no clock, no motion) so video costs ~nothing.
// Run through ci/bench-audio (docs/benchmarks.md "Audio").
import { readFileSync, readdirSync } from 'node:fs';
import { loadavg } from 'node:os';
import { Env, reportFailure, sleep, waitFor } from './harness.mjs';
import { OP, RawWs, mediaHeader } from './ws-raw.mjs';

const PORT = Number(process.env.E2E_PORT ?? 18095);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 2);
const CPU_SECONDS = Number(process.env.BENCH_CPU_SECONDS ?? 20);
const GATE_MS = process.env.BENCH_SILENCE_MS ?? '300';
const TICK = 100; // USER_HZ
const AUDIO_THREAD = /audiosrc|opusenc|pulse|threaded-ml|wssink/i;

/** utime+stime (ticks) of the process and of its audio threads. */
function cpuTicks(pid) {
  const ticks = (stat) => {
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]);
  };
  const total = ticks(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  let audio = 0;
  for (const t of readdirSync(`/proc/${pid}/task`)) {
    try {
      const comm = readFileSync(`/proc/${pid}/task/${t}/comm`, 'utf8').trim();
      if (AUDIO_THREAD.test(comm)) audio += ticks(readFileSync(`/proc/${pid}/task/${t}/stat`, 'utf8'));
    } catch {
      // The thread ended.
    }
  }
  return { total, audio };
}

async function stream(port) {
  const ws = await RawWs.open('127.0.0.1', port, '/ws');
  const meta = { res: '1280x720', scale: 1, codecs: ['H264'], token: 'benchaudio0123456789abcdef' };
  ws.text(`WSSTREAM ${Buffer.from(JSON.stringify(meta)).toString('base64')}`);
  ws.audio = [];
  ws.onFrame((f) => {
    if (f.op === OP.binary && mediaHeader(f.payload)?.stream === 1) ws.audio.push(f.at);
  });
  return ws;
}

async function sinkInput(env) {
  const ok = await waitFor(async () => (await env.x('pactl', 'list', 'short', 'sink-inputs')).trim().split('\n')[0]?.split('\t')[0] || null, 10000, 100);
  if (!ok) throw new Error(`no tone sink input:\n${env.tail('tone')}`);
  return ok;
}

const env = new Env();
try {
  // A static 1280x720 desktop: Xvfb only.
  let n = 90;
  while (readdirSync('/tmp').includes(`.X${n}-lock`)) n++;
  env.display = `:${n}`;
  env.spawn('xvfb', 'Xvfb', [env.display, '-screen', '0', '1280x720x24', '-nolisten', 'tcp']);
  await waitFor(async () => {
    try {
      await env.x('xdpyinfo');
      return true;
    } catch {
      return false;
    }
  }, 10000, 100);
  // PulseAudio with the null sink; the harness's tone keeps playing but muted, so the monitor
  // carries digital silence until the tone is unmuted.
  await env.startAudio();
  const tone = await sinkInput(env);
  await env.x('pactl', 'set-sink-input-mute', tone, '1');
  const host = process.env.SELKIES_HOST_BIN ?? '(the workspace build)';
  console.log(`host binary: ${host}; ${CPU_SECONDS} s per window, ${ROUNDS} rounds, static 1280x720 desktop, silent sink`);
  console.log('| variant | host CPU, % of a core | audio threads, % of a core | Opus packets/s | load average (1 min) |');
  console.log('|---|---|---|---|---|');
  const delays = [];
  for (let round = 0; round < ROUNDS; round++) {
    for (const gate of ['0', GATE_MS]) {
      await env.startHost(PORT, ['--encoder=x264enc', '--framerate=30', '--enable_basic_auth=false', '--enable_resize=false', `--audio_silence_ms=${gate}`, `--json_config=${env.dir}/selkies_config.json`]);
      const pid = env.procs.get('host').pid;
      const ws = await stream(PORT);
      await sleep(5000); // past the gate's hold and the pipelines' start
      const a = cpuTicks(pid);
      const packets = ws.audio.length;
      const t0 = Date.now();
      await sleep(CPU_SECONDS * 1000);
      const b = cpuTicks(pid);
      const secs = (Date.now() - t0) / 1000;
      const pct = (x) => ((100 * x) / TICK / secs).toFixed(2);
      const rate = ((ws.audio.length - packets) / secs).toFixed(1);
      const name = gate === '0' ? 'gate off (--audio_silence_ms=0)' : `gate on (--audio_silence_ms=${gate})`;
      console.log(`| ${name} | ${pct(b.total - a.total)} | ${pct(b.audio - a.audio)} | ${rate} | ${loadavg()[0].toFixed(2)} |`);
      if (gate !== '0') {
        // Sound after > 5 s of silence: the first packet must come, and soon.
        const before = ws.audio.length;
        const start = Date.now();
        await env.x('pactl', 'set-sink-input-mute', tone, '0');
        const got = await waitFor(() => (ws.audio.length > before ? ws.audio[before] : null), 5000, 5);
        await env.x('pactl', 'set-sink-input-mute', tone, '1');
        if (!got) throw new Error('no Opus packet within 5 s of the tone starting after silence');
        delays.push(got - start);
      }
      ws.destroy();
      await env.stop('host');
    }
  }
  console.log(`sound after silence → first Opus packet at the client (gate on): ${delays.map((d) => `${d} ms`).join(', ')} (includes pactl's own start, ~10 ms)`);
} catch (e) {
  reportFailure(e, env, null);
  process.exitCode = 1;
} finally {
  await env.stopAll();
}
