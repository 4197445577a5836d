import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../../src/backend/index';
import { createOptimizer, emaUpdate, OptimizerKind } from '../../src/optim/index';
import { Rng } from '../../src/util/rng';

const SHAPES: number[][] = [[3, 3, 2, 4], [7], [5, 3]];

function randArrays(rng: Rng, scale = 1): Float32Array[] {
  return SHAPES.map((s) => rng.fillNormal(new Float32Array(s.reduce((a, b) => a * b, 1)), 0, scale));
}

function maxRelErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] as number) - (b[i] as number)) / (1e-3 + Math.abs(b[i] as number));
    worst = Math.max(worst, d);
  }
  return worst;
}

/** torch.optim.RAdam / Adam in float64 (torch's formulas; Adam as tf.train.adam computes it). */
function reference(
  kind: OptimizerKind,
  p0: Float32Array[],
  grads: Float32Array[][],
  lr: number,
  b1: number,
  b2: number,
  eps: number,
  wd: number,
): Float64Array[] {
  const p = p0.map((x) => Float64Array.from(x));
  const m = p0.map((x) => new Float64Array(x.length));
  const v = p0.map((x) => new Float64Array(x.length));
  grads.forEach((gs, k) => {
    const t = k + 1;
    const bc1 = 1 - b1 ** t;
    const bc2 = 1 - b2 ** t;
    const rhoInf = 2 / (1 - b2) - 1;
    const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
    p.forEach((pi, i) => {
      const g = gs[i] as Float32Array;
      const mi = m[i] as Float64Array;
      const vi = v[i] as Float64Array;
      for (let j = 0; j < pi.length; j++) {
        const gj = (g[j] as number) + wd * (pi[j] as number);
        mi[j] = b1 * (mi[j] as number) + (1 - b1) * gj;
        vi[j] = b2 * (vi[j] as number) + (1 - b2) * gj * gj;
        const mHat = (mi[j] as number) / bc1;
        if (kind === 'adam') {
          pi[j] = (pi[j] as number) - (lr * mHat) / (Math.sqrt((vi[j] as number) / bc2) + eps);
        } else if (rhoT > 5) {
          const rect = Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT));
          const adaptive = Math.sqrt(bc2) / (Math.sqrt(vi[j] as number) + eps);
          pi[j] = (pi[j] as number) - lr * mHat * rect * adaptive;
        } else {
          pi[j] = (pi[j] as number) - lr * mHat;
        }
      }
    });
  });
  return p;
}

for (const backend of ['cpu', 'wasm'] as const) {
  for (const fused of [false, true]) {
    const tag = `${backend}${fused ? ' fused' : ' tf-ops'}`;

    test(`adam equals tf.train.adam (${tag})`, async () => {
      await initBackend({ backend, log: false });
      const rng = new Rng(1);
      const init = randArrays(rng);
      const gradsSeq = Array.from({ length: 12 }, () => randArrays(rng, 0.5));
      const lr = 0.01;
      const eps = 1e-7;
      const a = init.map((x, i) => tf.variable(tf.tensor(x, SHAPES[i])));
      const b = init.map((x, i) => tf.variable(tf.tensor(x, SHAPES[i])));
      const ours = createOptimizer({ kind: 'adam', lr, eps, fused }, a);
      const theirs = tf.train.adam(lr, 0.9, 0.999, eps);
      for (const gs of gradsSeq) {
        const g = gs.map((x, i) => tf.tensor(x, SHAPES[i]));
        ours.step(g);
        theirs.applyGradients(b.map((v, i) => ({ name: v.name, tensor: g[i] as tf.Tensor })));
        tf.dispose(g);
      }
      a.forEach((v, i) => {
        const err = maxRelErr(v.dataSync(), (b[i] as tf.Variable).dataSync());
        assert.ok(err < 1e-4, `variable ${i}: rel err ${err}`);
      });
      assert.equal(ours.iterations, 12);
      ours.dispose();
      theirs.dispose();
      tf.dispose([...a, ...b]);
    });

    for (const kind of ['adam', 'radam'] as const) {
      test(`${kind} equals a float64 reference of torch's algorithm over 30 steps (${tag})`, async () => {
        await initBackend({ backend, log: false });
        const rng = new Rng(2);
        const init = randArrays(rng);
        const gradsSeq = Array.from({ length: 30 }, () => randArrays(rng, 0.3));
        const cfg = { lr: 2e-3, b1: 0.9, b2: 0.99, eps: 1e-8, wd: 0.01 };
        const vars = init.map((x, i) => tf.variable(tf.tensor(x, SHAPES[i])));
        const opt = createOptimizer({ kind, lr: cfg.lr, beta1: cfg.b1, beta2: cfg.b2, eps: cfg.eps, weightDecay: cfg.wd, fused }, vars);
        assert.equal(opt.fusedActive, fused && backend === 'wasm');
        const n0 = tf.memory().numTensors;
        gradsSeq.forEach((gs, k) => {
          const g = gs.map((x, i) => tf.tensor(x, SHAPES[i]));
          if (k % 2 === 0) opt.step(g);
          else tf.tidy(() => opt.step(g)); // state must survive a caller's tidy
          tf.dispose(g);
        });
        assert.equal(tf.memory().numTensors, n0, 'no tensors leak per step');
        const ref = reference(kind, init, gradsSeq, cfg.lr, cfg.b1, cfg.b2, cfg.eps, cfg.wd);
        vars.forEach((v, i) => {
          const got = v.dataSync();
          const err = maxRelErr(got, ref[i] as Float64Array);
          assert.ok(err < 1e-4, `${kind} variable ${i}: rel err ${err}`);
          // and it moved
          assert.ok(maxRelErr(got, init[i] as Float32Array) > 1e-3);
        });
        opt.dispose();
        tf.dispose(vars);
      });
    }

    test(`emaUpdate and state/load round trip (${tag})`, async () => {
      await initBackend({ backend, log: false });
      const t = [tf.variable(tf.tensor([1, 2, 3])), tf.variable(tf.tensor([[4, 5]]))];
      const s = [tf.variable(tf.tensor([3, 2, 1])), tf.variable(tf.tensor([[0, 1]]))];
      emaUpdate(t, s, 0.75, fused);
      assert.deepEqual(Array.from((t[0] as tf.Variable).dataSync()), [1.5, 2, 2.5]);
      assert.deepEqual(Array.from((t[1] as tf.Variable).dataSync()), [3, 4]);
      emaUpdate(t, s, 0, fused);
      assert.deepEqual(Array.from((t[1] as tf.Variable).dataSync()), [0, 1]);

      // checkpoint: two optimizers, one restored mid-way, end equal
      const p1 = [tf.variable(tf.tensor([0.5, -0.5]))];
      const p2 = [tf.variable(tf.tensor([0.5, -0.5]))];
      const o1 = createOptimizer({ kind: 'radam', lr: 0.1, fused }, p1);
      const g = [tf.tensor([0.3, -0.1])];
      for (let k = 0; k < 8; k++) o1.step(g);
      const st = o1.state();
      const o2 = createOptimizer({ kind: 'radam', lr: 0.1, fused }, p2);
      o2.load(st);
      tf.dispose(st.map((x) => x.tensor));
      (p2[0] as tf.Variable).assign((p1[0] as tf.Variable).clone());
      assert.equal(o2.iterations, 8);
      for (let k = 0; k < 4; k++) {
        o1.step(g);
        o2.step(g);
      }
      assert.deepEqual(Array.from((p1[0] as tf.Variable).dataSync()), Array.from((p2[0] as tf.Variable).dataSync()));
      o1.dispose();
      o2.dispose();
      tf.dispose([...t, ...s, ...p1, ...p2, ...g]);
    });
  }
}
