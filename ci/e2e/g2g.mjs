// One glass-to-glass trial for the benchmarks: paint the root window a colour with xsetroot and
// wait for the first displayed frame whose pixel (SX, SY) shows it (the page's rVFC sampler,
// web/src/e2e.ts). Times are wall-clock ms of this machine.

// Sample point: top-left of the root window, clear of xclock (which sits at the top right).
export const SX = 40;
export const SY = 40;
export const COLOURS = [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [0, 255, 255], [255, 0, 255]];

const hex = (c) => `#${c.map((v) => v.toString(16).padStart(2, '0')).join('')}`;

/**
 * Paints colour `i` (cycling) and waits up to 3 s for it: `{ hit, spawnedAt, returnedAt }`,
 * `hit` as `window.__e2e.waitForColour` resolves (null when the colour never showed).
 */
export async function colourTrial(env, browser, i) {
  const c = COLOURS[i % COLOURS.length];
  await browser.e2e(([x, y, rgb]) => {
    window.__pending = window.__e2e.waitForColour(x, y, rgb, 40, 3000);
  }, [SX, SY, c]);
  const spawnedAt = Date.now();
  await env.x('xsetroot', '-solid', hex(c));
  const returnedAt = Date.now();
  const hit = await browser.e2e(() => window.__pending);
  return { hit, spawnedAt, returnedAt };
}
