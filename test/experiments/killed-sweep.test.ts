/**
 * A killed sweep (#18): SIGKILL of `ctlab ablate` and its worker processes mid-sweep, then the same
 * command again, ends with the same tables as an uninterrupted sweep.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { listRunDirs, readAblationSummary, runPaths, tryReadRunJson } from '../../src/run/run-dir';
import { listCheckpoints } from '../../src/training/checkpoint';
import { CLI, tempDir } from '../helpers';

/** summary.csv without its wall-time column (the only column that depends on the clock). */
function table(out: string): string[] {
  const rows = fs
    .readFileSync(path.join(out, 'target', 'summary.csv'), 'utf8')
    .trim()
    .split('\n');
  const header = (rows[0] as string).split(',');
  const wall = header.findIndex((h) => h.startsWith('wall'));
  assert.ok(wall > 0, header.join(','));
  return rows.map((r) =>
    r
      .split(',')
      .filter((_, i) => i !== wall)
      .join(','),
  );
}

describe('a killed sweep', () => {
  it('SIGKILL of ctlab ablate and its workers, then the same command: the same tables as an uninterrupted sweep', async () => {
    const work = tempDir();
    const cfg = path.join(work, 'small.json');
    fs.writeFileSync(
      cfg,
      JSON.stringify({
        batchSize: 32,
        model: { hidden: 16, depth: 2 },
        checkpointEvery: 10,
        data: { kind: 'toy2d', name: 'eight-gaussians', trainSize: 500, testSize: 200 },
      }),
    );
    const args = (name: string): string[] => [
      CLI,
      'ablate',
      'target',
      '--seeds',
      '1',
      '--steps',
      '40',
      '--workers',
      '2',
      '--runs',
      path.join(work, name, 'runs'),
      '--out',
      path.join(work, name, 'out'),
      '--config',
      cfg,
      '--no-progress',
    ];
    // no static figures (chromium is slow and not what is tested)
    const env = { ...process.env, CTLAB_BACKEND: 'wasm', CTLAB_THREADS: '1', CHROMIUM_PATH: path.join(work, 'no-chromium') };

    let r = spawnSync(process.execPath, args('full'), { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);

    // the same sweep in its own process group, killed (ablate and workers together) once a run is part-way
    const runs = path.join(work, 'killed', 'runs');
    const child = spawn(process.execPath, args('killed'), { env, detached: true, stdio: 'ignore' });
    await new Promise<void>((resolve, reject) => {
      const timer = setInterval(() => {
        const dirs = fs.existsSync(runs) ? listRunDirs(runs) : [];
        if (dirs.some((d) => (listCheckpoints(runPaths(d).checkpoints)[0]?.step ?? 0) >= 20)) {
          clearInterval(timer);
          process.kill(-(child.pid as number), 'SIGKILL');
          resolve();
        }
      }, 10);
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') {
          clearInterval(timer);
          reject(new Error(`the sweep ended by itself (code ${code}) before it could be killed`));
        }
      });
    });
    await new Promise((res) => setTimeout(res, 200)); // the workers die with the group
    const statuses = listRunDirs(runs).map((d) => tryReadRunJson(d)?.status ?? 'not started');
    assert.ok(statuses.includes('running'), `a run must be cut mid-way: ${statuses.join(', ')}`);
    assert.ok(!fs.existsSync(path.join(work, 'killed', 'out', 'target', 'summary.csv')), 'killed before the report');

    r = spawnSync(process.execPath, args('killed'), { encoding: 'utf8', env });
    assert.equal(r.status, 0, r.stderr);
    const logs = listRunDirs(runs)
      .map((d) => path.join(d, 'train.log'))
      .filter((f) => fs.existsSync(f))
      .map((f) => fs.readFileSync(f, 'utf8'))
      .join('\n');
    assert.match(
      logs,
      /warning: .*the previous owner \(job by pid \d+ .*\) is gone; taking the run directory over/,
      "a dead worker's lock is taken over with a warning (in its run's train.log)",
    );
    assert.deepEqual(table(path.join(work, 'killed', 'out')), table(path.join(work, 'full', 'out')));
    const verdicts = (name: string): unknown => readAblationSummary(path.join(work, name, 'out', 'target', 'summary.json')).verdicts;
    assert.deepEqual(verdicts('killed'), verdicts('full'));
  });
});
