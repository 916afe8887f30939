import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheus } from './prom.mjs';

test('samples, labels, special values and comments parse', () => {
  const s = parsePrometheus(
    '# HELP fps Client frames per second\n# TYPE fps gauge\nfps 30.0\n' +
      'fps_hist_bucket{le="20.0"} 1\nfps_hist_bucket{le="+Inf"} 3\n' +
      'selkies_encoder_info{encoder="x264enc",kind="sw \\"q\\""} 1 1700000000000\nnan_metric NaN\nneg -1.5e3\n',
  );
  assert.deepEqual(s[0], { name: 'fps', labels: {}, value: 30 });
  assert.deepEqual(s[2].labels, { le: '+Inf' });
  assert.deepEqual(s[3], { name: 'selkies_encoder_info', labels: { encoder: 'x264enc', kind: 'sw "q"' }, value: 1 });
  assert.ok(Number.isNaN(s[4].value));
  assert.equal(s[5].value, -1500);
});

test('malformed lines are rejected with their line number', () => {
  assert.throws(() => parsePrometheus('fps\n'), /line 1/);
  assert.throws(() => parsePrometheus('ok 1\nwebrtc_statistics_info{inbound-rtp.bytes="1"} 1\n'), /line 2: bad labels/);
  assert.throws(() => parsePrometheus('# TYPE fps speed\n'), /bad TYPE/);
  assert.throws(() => parsePrometheus('a{b="c} 1\n'), /line 1/);
});
