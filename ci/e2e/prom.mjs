// Strict parsing of the Prometheus text exposition format (0.0.4), so the e2e can assert that
// the host's /metrics parses as a scraper would parse it. Pure; unit-tested in prom.unit.test.mjs.

const NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = '[a-zA-Z_][a-zA-Z0-9_]*';
const VALUE = String.raw`(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]?Inf|NaN)`;
const SAMPLE = new RegExp(`^(${NAME})(?:\\{(.*)\\})? (${VALUE})(?: (-?\\d+))?$`);
const PAIR = new RegExp(`^(${LABEL})="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`);

/** Samples of a /metrics body; throws with the line number on the first malformed line. */
export function parsePrometheus(text) {
  const out = [];
  text.split('\n').forEach((line, i) => {
    if (line === '' || line.startsWith('#')) {
      if (line.startsWith('# TYPE ') && !new RegExp(`^# TYPE ${NAME} (counter|gauge|histogram|summary|untyped)$`).test(line)) {
        throw new Error(`line ${i + 1}: bad TYPE: ${line}`);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`line ${i + 1}: not a sample: ${line}`);
    const labels = {};
    let rest = m[2] ?? '';
    while (rest !== '') {
      const p = PAIR.exec(rest);
      if (!p) throw new Error(`line ${i + 1}: bad labels: ${m[2]}`);
      labels[p[1]] = p[2].replace(/\\n/g, '\n').replace(/\\"/g, '"').replace(/\\\\/g, '\\');
      rest = rest.slice(p[0].length);
      if (rest.startsWith(',')) rest = rest.slice(1);
      else if (rest !== '') throw new Error(`line ${i + 1}: bad labels: ${m[2]}`);
    }
    out.push({ name: m[1], labels, value: Number(m[3].replace(/Inf$/, 'Infinity')) });
  });
  return out;
}
