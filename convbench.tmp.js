const tf = require('@tensorflow/tfjs');
const { initBackend } = require('./dist/src/backend/index');
const nat = require('./dist/src/backend/native/index');
(async () => {
  await initBackend({ backend: 'wasm', threads: 2, log: true });
  const shapes = [[32,16,16,32,32],[32,8,8,64,64],[32,16,16,96,32],[256,16,16,32,32],[256,8,8,128,64]];
  for (const [B,H,W,Ci,Co] of shapes) {
    const x = tf.randomNormal([B,H,W,Ci]), w = tf.randomNormal([3,3,Ci,Co]), b = tf.zeros([Co]);
    const res = {};
    for (let rep = 0; rep < 3; rep++) for (const t of [1, 2]) {
      nat.setNativeThreads(t);
      for (let i = 0; i < 3; i++) tf.dispose(tf.fused.conv2d({x, filter: w, bias: b, strides: 1, pad: 'same'}));
      const t0 = process.hrtime.bigint(); const n = 20;
      for (let i = 0; i < n; i++) tf.dispose(tf.fused.conv2d({x, filter: w, bias: b, strides: 1, pad: 'same'}));
      const ms = Number(process.hrtime.bigint() - t0) / 1e6 / n;
      (res[t] ??= []).push(ms.toFixed(2));
    }
    const gf = 2*B*H*W*9*Ci*Co/1e9;
    console.log(`[${B},${H},${W},${Ci}->${Co}] ${gf.toFixed(2)} GFLOP  t1 ${res[1]}  t2 ${res[2]} ms`);
  }
})();
