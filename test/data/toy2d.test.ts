import { test } from 'node:test';
import assert from 'node:assert/strict';
import { TOY2D_NAMES, describeToy2d, isToy2dName, toy2d, type Toy2dName } from '../../src/data/toy2d';

function moments(p: Float32Array): { mx: number; my: number; sx: number; sy: number } {
  const n = p.length / 2;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += p[2 * i] as number;
    my += p[2 * i + 1] as number;
  }
  mx /= n;
  my /= n;
  let vx = 0;
  let vy = 0;
  for (let i = 0; i < n; i++) {
    vx += ((p[2 * i] as number) - mx) ** 2;
    vy += ((p[2 * i + 1] as number) - my) ** 2;
  }
  return { mx, my, sx: Math.sqrt(vx / n), sy: Math.sqrt(vy / n) };
}

/**
 * Mean and std per axis of a raw curve x(t), y(t), t ~ U[t0, t1], plus isotropic noise, by a fine
 * midpoint rule: independent of the closed forms the implementation uses.
 */
function curveMoments(f: (t: number) => [number, number], t0: number, t1: number, noise: number): { mx: number; my: number; sx: number; sy: number } {
  const N = 200000;
  let sx = 0;
  let sy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < N; i++) {
    const [x, y] = f(t0 + ((t1 - t0) * (i + 0.5)) / N);
    sx += x;
    sy += y;
    sxx += x * x;
    syy += y * y;
  }
  const mx = sx / N;
  const my = sy / N;
  return { mx, my, sx: Math.sqrt(sxx / N - mx * mx + noise * noise), sy: Math.sqrt(syy / N - my * my + noise * noise) };
}

test('every set: length 2n, finite, deterministic by (name, n, seed), prefix-stable', () => {
  for (const name of TOY2D_NAMES) {
    const a = toy2d(name, 100, 7);
    assert.ok(a instanceof Float32Array);
    assert.equal(a.length, 200);
    assert.ok(
      a.every((v) => Number.isFinite(v)),
      name,
    );
    assert.deepEqual(toy2d(name, 100, 7), a, `${name} not deterministic`);
    assert.notDeepEqual(toy2d(name, 100, 8), a, `${name}: seed has no effect`);
    assert.deepEqual(toy2d(name, 40, 7), a.subarray(0, 80), `${name}: a shorter draw is not a prefix`);
  }
  // Different sets draw from different streams of the same seed.
  assert.notDeepEqual(toy2d('eight-gaussians', 50, 1), toy2d('rings', 50, 1));
});

test('every set is centred near 0 with per-coordinate std near sigma_data = 0.5', () => {
  const n = 20000; // std error of the mean: 0.5/sqrt(n) = 0.0035
  for (const name of TOY2D_NAMES) {
    const m = moments(toy2d(name, n, 3));
    assert.ok(Math.abs(m.mx) < 0.02 && Math.abs(m.my) < 0.02, `${name} mean (${m.mx}, ${m.my})`);
    assert.ok(Math.abs(m.sx - 0.5) < 0.02 && Math.abs(m.sy - 0.5) < 0.02, `${name} std (${m.sx}, ${m.sy})`);
  }
});

test('eight-gaussians: 8 equally likely modes at angles k*pi/4 on one circle', () => {
  const n = 8000;
  const p = toy2d('eight-gaussians', n, 11);
  const counts = new Array<number>(8).fill(0);
  let rSum = 0;
  const radii: number[] = [];
  let offAngle = 0;
  for (let i = 0; i < n; i++) {
    const x = p[2 * i] as number;
    const y = p[2 * i + 1] as number;
    const a = Math.atan2(y, x);
    const k = Math.round(a / (Math.PI / 4));
    if (Math.abs(a - (k * Math.PI) / 4) > 0.35) offAngle++; // mode std / radius = 0.1 rad
    const mode = ((k % 8) + 8) % 8;
    counts[mode] = (counts[mode] as number) + 1;
    const r = Math.hypot(x, y);
    radii.push(r);
    rSum += r;
  }
  assert.ok(offAngle < 0.01 * n, `${offAngle} points far from the 8 mode angles`);
  for (const c of counts) assert.ok(Math.abs(c / n - 1 / 8) < 0.02, `mode frequency ${c / n}`);
  const rMean = rSum / n;
  const offRadius = radii.filter((r) => Math.abs(r / rMean - 1) > 0.35).length;
  assert.ok(offRadius < 0.01 * n, `${offRadius} points far from the circle`);
});

test('checkerboard: uniform on the black cells of a 4x4 board, each cell equally likely', () => {
  // Raw board [-2, 2]^2 has U[-2, 2] marginals (variance 16/12), so the cell side after scaling is
  // 0.5 / sqrt(4/3) = sqrt(3)/4.
  const side = Math.sqrt(3) / 4;
  const n = 8000;
  const p = toy2d('checkerboard', n, 5);
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const u = (p[2 * i] as number) / side + 2;
    const v = (p[2 * i + 1] as number) / side + 2;
    assert.ok(u >= -1e-5 && u <= 4 + 1e-5 && v >= -1e-5 && v <= 4 + 1e-5, `point (${u}, ${v}) off the board`);
    const nearEdge = Math.min(u - Math.floor(u), Math.ceil(u) - u, v - Math.floor(v), Math.ceil(v) - v) < 1e-5;
    if (nearEdge) continue; // float32 rounding may cross a cell edge
    const ci = Math.floor(u);
    const cj = Math.floor(v);
    assert.equal((ci + cj) % 2, 0, `point in white cell (${ci}, ${cj})`);
    counts.set(`${ci},${cj}`, (counts.get(`${ci},${cj}`) ?? 0) + 1);
  }
  assert.equal(counts.size, 8);
  for (const c of counts.values()) assert.ok(Math.abs(c / n - 1 / 8) < 0.02, `cell frequency ${c / n}`);
});

test('rings: 4 concentric circles with radii 1:2:3:4 and mass proportional to radius', () => {
  const n = 10000;
  const p = toy2d('rings', n, 9);
  const r: number[] = [];
  for (let i = 0; i < n; i++) r.push(Math.hypot(p[2 * i] as number, p[2 * i + 1] as number));
  // With P(ring k) ∝ k, E[r] = (1 + 4 + 9 + 16)/10 = 3 ring units.
  const unit = r.reduce((s, v) => s + v, 0) / n / 3;
  const counts = [0, 0, 0, 0, 0, 0];
  let off = 0;
  for (const v of r) {
    const k = Math.round(v / unit);
    if (Math.abs(v / unit - k) > 0.3) off++; // noise 0.08 ring units
    const ring = Math.min(k, 5);
    counts[ring] = (counts[ring] as number) + 1;
  }
  assert.ok(off < 0.01 * n, `${off} points between rings`);
  assert.ok((counts[0] as number) + (counts[5] as number) < 0.005 * n, 'points inside ring 1 or outside ring 4');
  for (let k = 1; k <= 4; k++) assert.ok(Math.abs((counts[k] as number) / n - k / 10) < 0.02, `ring ${k}: ${counts[k]}`);
});

test('two-moons: points lie near the two unit half-circles', () => {
  const noise = 0.1;
  const upper = curveMoments((t) => [Math.cos(t), Math.sin(t)], 0, Math.PI, 0);
  const lower = curveMoments((t) => [1 - Math.cos(t), 0.5 - Math.sin(t)], 0, Math.PI, 0);
  // Mixture ½/½ of the two arcs: combine first and second moments.
  const mx = (upper.mx + lower.mx) / 2;
  const my = (upper.my + lower.my) / 2;
  const ex2 = (upper.sx ** 2 + upper.mx ** 2 + lower.sx ** 2 + lower.mx ** 2) / 2;
  const ey2 = (upper.sy ** 2 + upper.my ** 2 + lower.sy ** 2 + lower.my ** 2) / 2;
  const sx = Math.sqrt(ex2 - mx * mx + noise * noise);
  const sy = Math.sqrt(ey2 - my * my + noise * noise);
  const n = 5000;
  const p = toy2d('two-moons', n, 2);
  let off = 0;
  let nUpper = 0;
  for (let i = 0; i < n; i++) {
    const x = ((p[2 * i] as number) * sx) / 0.5 + mx;
    const y = ((p[2 * i + 1] as number) * sy) / 0.5 + my;
    const dUpper = y >= -0.2 ? Math.abs(Math.hypot(x, y) - 1) : Infinity;
    const dLower = y <= 0.7 ? Math.abs(Math.hypot(x - 1, y - 0.5) - 1) : Infinity;
    if (Math.min(dUpper, dLower) > 3 * noise) off++;
    if (dUpper < dLower) nUpper++;
  }
  assert.ok(off < 0.02 * n, `${off} points far from both arcs`);
  assert.ok(Math.abs(nUpper / n - 0.5) < 0.05, `upper-arc share ${nUpper / n}`);
});

test('swiss-roll: points lie near the spiral r = angle, t in [1.5pi, 4.5pi]', () => {
  const noise = 0.5;
  const m = curveMoments((t) => [t * Math.cos(t), t * Math.sin(t)], 1.5 * Math.PI, 4.5 * Math.PI, noise);
  const n = 5000;
  const p = toy2d('swiss-roll', n, 4);
  let off = 0;
  for (let i = 0; i < n; i++) {
    const x = ((p[2 * i] as number) * m.sx) / 0.5 + m.mx;
    const y = ((p[2 * i + 1] as number) * m.sy) / 0.5 + m.my;
    const r = Math.hypot(x, y);
    const phi = Math.atan2(y, x);
    let best = Infinity;
    for (let k = -1; k <= 3; k++) best = Math.min(best, Math.abs(r - (phi + 2 * Math.PI * k)));
    if (best > 3 * noise) off++;
    assert.ok(r < 4.5 * Math.PI + 3, `radius ${r} beyond the roll`);
  }
  assert.ok(off < 0.02 * n, `${off} points far from the spiral`);
});

test('names: guard, descriptions, unknown names and bad n', () => {
  assert.ok(isToy2dName('two-moons'));
  assert.ok(!isToy2dName('moons'));
  assert.ok(!isToy2dName('Two-Moons'));
  for (const name of TOY2D_NAMES) {
    const d = describeToy2d(name);
    assert.ok(d.startsWith(name) && d.length > name.length + 10 && !d.includes('\n'), d);
  }
  assert.throws(
    () => toy2d('moons' as Toy2dName, 10, 0),
    (e: unknown) => e instanceof Error && e.message.includes("'moons'") && e.message.includes('eight-gaussians, two-moons, swiss-roll, checkerboard, rings'),
  );
  assert.throws(() => describeToy2d('nope' as Toy2dName), /unknown toy 2D data set 'nope'/);
  for (const bad of [0, -3, 2.5, Number.NaN, Infinity]) {
    assert.throws(
      () => toy2d('rings', bad, 0),
      (e: unknown) => e instanceof RangeError && /\bn must be a positive integer/.test(e.message),
    );
  }
  assert.throws(() => toy2d('rings', 10, 0.5), RangeError); // Rng rejects non-integer seeds
  assert.equal(toy2d('checkerboard', 1, 0).length, 2);
});
