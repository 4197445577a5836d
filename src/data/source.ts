/**
 * Resolve a data config into a training set and a held-out set of 2D points.
 * Toy sets: the training set is drawn with the run's seed; the held-out set with a fixed seed of
 * its own, so every run and seed is evaluated against the same points. CSV: a seeded split.
 */
import type { DataConfig } from '../config/schema';
import { Rng } from '../util/rng';
import { readPointsCsv } from './csv';
import { describeToy2d, isToy2dName, TOY2D_NAMES, toy2d, type Points2D } from './toy2d';

/** Seed of every toy set's held-out split (independent of the runs' seeds). */
export const TOY2D_TEST_SEED = 2_000_003;
const SPLIT_STREAM = 0x5917;

export interface Dataset {
  train: Points2D;
  test: Points2D;
  dim: number;
  description: string;
}

export function loadDataset(cfg: DataConfig, seed: number): Dataset {
  if (cfg.kind === 'toy2d') {
    if (!isToy2dName(cfg.name)) {
      throw new Error(`config.data.name: unknown toy set '${cfg.name}', expected one of ${TOY2D_NAMES.join(', ')} (or give a CSV file)`);
    }
    return {
      train: toy2d(cfg.name, cfg.trainSize, seed),
      test: toy2d(cfg.name, cfg.testSize, TOY2D_TEST_SEED),
      dim: 2,
      description: describeToy2d(cfg.name),
    };
  }
  const all = readPointsCsv(cfg.path);
  const n = all.length / 2;
  const nTest = Math.max(1, Math.round(n * cfg.testFraction));
  if (n - nTest < 1) throw new Error(`config.data.path: ${cfg.path} has ${n} points, too few to split off a test set`);
  const perm = new Rng(seed, SPLIT_STREAM).permutation(n);
  const pick = (from: number, to: number): Float32Array => {
    const out = new Float32Array(2 * (to - from));
    for (let i = from; i < to; i++) {
      const j = perm[i] as number;
      out[2 * (i - from)] = all[2 * j] as number;
      out[2 * (i - from) + 1] = all[2 * j + 1] as number;
    }
    return out;
  };
  return {
    train: pick(nTest, n),
    test: pick(0, nTest),
    dim: 2,
    description: `${n} points from ${cfg.path} (${n - nTest} train / ${nTest} test, split by seed ${seed})`,
  };
}

/**
 * The data config for a `--data` value: a toy set's name, or a path ending in .csv.
 */
export function dataConfigFromArg(arg: string, base: DataConfig): DataConfig {
  if (arg.toLowerCase().endsWith('.csv')) return { kind: 'csv', path: arg, testFraction: 0.1 };
  if (!isToy2dName(arg)) {
    throw new Error(`--data: expected a toy set (${TOY2D_NAMES.join(', ')}) or a .csv file of x,y points, got '${arg}'`);
  }
  const sizes = base.kind === 'toy2d' ? { trainSize: base.trainSize, testSize: base.testSize } : { trainSize: 20000, testSize: 2000 };
  return { kind: 'toy2d', name: arg, ...sizes };
}
