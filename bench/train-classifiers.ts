/**
 * Trains the shipped Fashion-MNIST feature networks (src/metrics/classifiers.ts) and writes
 *   data/feature-nets/<name>.bin   the weights (checkpoint format of src/training/checkpoint.ts)
 *   results/feature-nets.json      provenance: command, commit, backend, seed, wall time, accuracy
 *
 *   npm run build && node dist/bench/train-classifiers.js [--net fmnist-cnn|fmnist-strided|all]
 *     [--epochs 2] [--batch 128] [--lr 0.001] [--threads N] [--max-steps N] [--out-dir DIR]
 *     [--results FILE] [--data-dir DIR]
 *
 * Training: the 60k training split in a seeded order per epoch (shuffleIndices(60000, seed·1000 +
 * epoch)), Adam (src/optim, β = (0.9, 0.999), ε = 1e-8), learning rate cosine-decayed from `lr` to
 * lr/10 over all steps, softmax cross-entropy, no augmentation, no weight decay. Test accuracy on
 * the 10k test split. `--max-steps` cuts a run short (for timing; the result is then marked
 * `partial` and nothing is written unless --out-dir is given).
 */
import { execSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { initBackend } from '../src/backend/index';
import { loadFashionMnist } from '../src/data/idx';
import { shuffleIndices, toModelRange } from '../src/data/images';
import {
  CLASSIFIER_SPECS,
  classifierAccuracy,
  classifierFeatureDim,
  classifierForward,
  classifierNumParams,
  classifierParamSpecs,
  crossEntropy,
  initClassifierParams,
  SHIPPED_FEATURE_NETS,
  type ShippedFeatureNetName,
} from '../src/metrics/classifiers';
import { createOptimizer } from '../src/optim/index';
import { saveCheckpoint } from '../src/training/checkpoint';

interface Args {
  nets: ShippedFeatureNetName[];
  epochs: number;
  batch: number;
  lr: number;
  threads?: number;
  maxSteps?: number;
  outDir?: string;
  results?: string;
  dataDir?: string;
}

const REPO = path.resolve(__dirname, '..', '..');

function parseArgs(argv: string[]): Args {
  const a: Args = { nets: [...SHIPPED_FEATURE_NETS], epochs: 2, batch: 128, lr: 1e-3 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i] as string;
    const v = argv[i + 1];
    const need = (): string => {
      if (v === undefined) throw new Error(`${k} needs a value`);
      i++;
      return v;
    };
    const num = (): number => {
      const s = need();
      const n = Number(s);
      if (!Number.isFinite(n) || n <= 0) throw new Error(`${k}: expected a positive number, got '${s}'`);
      return n;
    };
    switch (k) {
      case '--net': {
        const s = need();
        if (s === 'all') a.nets = [...SHIPPED_FEATURE_NETS];
        else if ((SHIPPED_FEATURE_NETS as readonly string[]).includes(s)) a.nets = [s as ShippedFeatureNetName];
        else throw new Error(`--net: expected all or one of ${SHIPPED_FEATURE_NETS.join(', ')}, got '${s}'`);
        break;
      }
      case '--epochs':
        a.epochs = num();
        break;
      case '--batch':
        a.batch = Math.round(num());
        break;
      case '--lr':
        a.lr = num();
        break;
      case '--threads':
        a.threads = Math.round(num());
        break;
      case '--max-steps':
        a.maxSteps = Math.round(num());
        break;
      case '--out-dir':
        a.outDir = need();
        break;
      case '--results':
        a.results = need();
        break;
      case '--data-dir':
        a.dataDir = need();
        break;
      default:
        throw new Error(`unknown argument '${k}'`);
    }
  }
  return a;
}

function gitCommit(): string {
  try {
    return execSync('git rev-parse HEAD', { cwd: REPO, stdio: ['ignore', 'pipe', 'ignore'] })
      .toString()
      .trim();
  } catch {
    return 'unknown';
  }
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  const partial = args.maxSteps !== undefined;
  const outDir = args.outDir ?? path.join(REPO, 'data', 'feature-nets');
  const resultsFile = args.results ?? path.join(REPO, 'results', 'feature-nets.json');
  const write = !partial || args.outDir !== undefined;
  const backend = await initBackend({ backend: 'wasm', ...(args.threads !== undefined ? { threads: args.threads } : {}) });
  const t0 = Date.now();
  const train = loadFashionMnist({ split: 'train', ...(args.dataDir !== undefined ? { dataDir: args.dataDir } : {}) });
  const test = loadFashionMnist({ split: 'test', ...(args.dataDir !== undefined ? { dataDir: args.dataDir } : {}) });
  const xTrain = toModelRange(train.images);
  const xTest = toModelRange(test.images);
  console.log(`data: ${train.n} train, ${test.n} test images (${Date.now() - t0} ms)`);
  const command = `node dist/bench/train-classifiers.js ${process.argv.slice(2).join(' ')}`.trim();

  for (const name of args.nets) {
    const spec = CLASSIFIER_SPECS[name];
    const specs = classifierParamSpecs(spec.arch);
    const init = initClassifierParams(spec.arch, spec.seed);
    const vars = specs.map((s, i) => tf.variable(tf.tensor(init[i] as Float32Array, s.shape), true, `${name}/${s.name}`));
    const opt = createOptimizer({ kind: 'adam', lr: args.lr }, vars);
    const stepsPerEpoch = Math.floor(train.n / args.batch);
    const totalSteps = Math.min(args.maxSteps ?? Infinity, Math.round(stepsPerEpoch * args.epochs));
    const batchX = new Float32Array(args.batch * 784);
    const batchY = new Float32Array(args.batch);
    const start = Date.now();
    let step = 0;
    let lossSum = 0;
    let lossCount = 0;
    let lastLoss = NaN;
    console.log(
      `${name}: arch ${spec.arch}, seed ${spec.seed}, ${classifierNumParams(spec.arch)} params, ${totalSteps} steps of batch ${args.batch} (${(totalSteps / stepsPerEpoch).toFixed(2)} epochs), Adam lr ${args.lr} cosine to ${args.lr / 10}`,
    );
    for (let epoch = 0; step < totalSteps; epoch++) {
      const perm = shuffleIndices(train.n, spec.seed * 1000 + epoch);
      for (let b = 0; b < stepsPerEpoch && step < totalSteps; b++, step++) {
        for (let k = 0; k < args.batch; k++) {
          const idx = perm[b * args.batch + k] as number;
          batchX.set(xTrain.subarray(idx * 784, (idx + 1) * 784), k * 784);
          batchY[k] = train.labels[idx] as number;
        }
        const lr = args.lr * (0.1 + 0.45 * (1 + Math.cos((Math.PI * step) / totalSteps)));
        const lossT = tf.tidy(() => {
          const x = tf.tensor4d(batchX, [args.batch, 28, 28, 1]);
          const y = tf.tensor1d(batchY);
          const { value, grads } = tf.variableGrads(() => crossEntropy(classifierForward(spec.arch, vars, x).logits, y), vars);
          opt.step(
            vars.map((v) => grads[v.name] as tf.Tensor),
            lr,
          );
          return value;
        });
        if (step % 50 === 0 || step === totalSteps - 1) {
          lastLoss = lossT.dataSync()[0] as number;
          lossSum += lastLoss;
          lossCount++;
        }
        lossT.dispose();
        if (step % 100 === 0 || step === totalSteps - 1) {
          const el = (Date.now() - start) / 1000;
          console.log(
            `  step ${step + 1}/${totalSteps} epoch ${epoch + 1} loss ${lastLoss.toFixed(4)} lr ${lr.toExponential(2)} ${el.toFixed(0)} s (${((el * 1000) / (step + 1)).toFixed(0)} ms/step)`,
          );
        }
      }
    }
    const trainSeconds = (Date.now() - start) / 1000;
    const evalStart = Date.now();
    const testAccuracy = classifierAccuracy(spec.arch, vars, xTest, test.labels);
    const evalSeconds = (Date.now() - evalStart) / 1000;
    console.log(`${name}: test accuracy ${(100 * testAccuracy).toFixed(2)}% (train ${trainSeconds.toFixed(1)} s, eval ${evalSeconds.toFixed(1)} s)`);

    const meta = {
      name,
      arch: spec.arch,
      seed: spec.seed,
      featureDim: classifierFeatureDim(spec.arch),
      inputShape: [28, 28, 1],
      inputRange: [-1, 1],
      testAccuracy,
      epochs: totalSteps / stepsPerEpoch,
      steps: totalSteps,
      batchSize: args.batch,
      optimizer: { kind: 'adam', lr: args.lr, schedule: 'cosine to lr/10', beta1: 0.9, beta2: 0.999, eps: 1e-8 },
      partial,
    };
    if (write) {
      const file = path.join(outDir, `${name}.bin`);
      saveCheckpoint(file, {
        step: totalSteps,
        meta,
        tensors: specs.map((s, i) => ({ name: s.name, shape: s.shape, data: (vars[i] as tf.Variable).dataSync() as Float32Array })),
      });
      const bytes = fs.readFileSync(file);
      let results: { description: string; nets: Record<string, unknown> } = {
        description: 'Provenance of the shipped Fashion-MNIST feature networks (data/feature-nets/), written by bench/train-classifiers.ts',
        nets: {},
      };
      if (fs.existsSync(resultsFile)) results = JSON.parse(fs.readFileSync(resultsFile, 'utf8')) as typeof results;
      results.nets[name] = {
        ...meta,
        params: classifierNumParams(spec.arch),
        file: path.relative(REPO, file),
        fileBytes: bytes.length,
        fileSha256: createHash('sha256').update(bytes).digest('hex'),
        command,
        commit: gitCommit(),
        backend: { name: backend.name, threads: backend.threads, tfjs: backend.tfjsVersion },
        node: process.version,
        trainWallSeconds: Math.round(trainSeconds * 10) / 10,
        msPerStep: Math.round((trainSeconds * 1000) / totalSteps),
        evalWallSeconds: Math.round(evalSeconds * 10) / 10,
        finalTrainLoss: lastLoss,
        meanLoggedTrainLoss: lossSum / Math.max(1, lossCount),
        date: new Date().toISOString(),
      };
      fs.mkdirSync(path.dirname(resultsFile), { recursive: true });
      fs.writeFileSync(resultsFile, JSON.stringify(results, null, 2) + '\n');
      console.log(`  wrote ${file} (${bytes.length} bytes) and ${resultsFile}`);
    }
    opt.dispose();
    tf.dispose(vars);
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? (e.stack ?? e.message) : String(e));
  process.exit(1);
});
