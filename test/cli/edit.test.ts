import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { buildConfig } from '../../src/config/presets';
import { CLI, tempDir } from '../helpers';

function ctlab(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, CTLAB_BACKEND: 'wasm' } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A run directory with only its config: every refusal below happens before a checkpoint is read. */
function fakeRun(color: boolean): string {
  const dir = tempDir('ctlab-edit-');
  const cfg = buildConfig(
    'ict',
    color ? { data: { kind: 'fashion-mnist', size: 16, trainSize: 60000, testSize: 10000, color: 'class-tint' } } : {},
    'fashion-mnist',
  );
  fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(cfg));
  return dir;
}

describe('ctlab edit: bad input refused naming the field', () => {
  const grey = fakeRun(false);
  const out = path.join(tempDir(), 'out');
  const cases: [string[], RegExp][] = [
    [['--task', 'colorize'], /--task colorize: needs an RGB model \(3 channels\), but .* has 1 channel\(s\); train one with --data fashion-mnist-color/],
    [['--task', 'inpaint', '--sigmas', '1,5'], /sigmas: expected a strictly descending list, but sigmas\[1\] = 5 >= sigmas\[0\] = 1/],
    [['--task', 'inpaint', '--sigmas', '100,1'], /sigmas\[0\]: expected a value in \(sigmaMin, sigmaMax\] = \(0\.002, 80\], got 100/],
    [['--task', 'interpolate', '--alpha', '0,1.5'], /--alpha\[1\]: expected an interpolation weight in \[0, 1\], got 1\.5/],
    [['--task', 'inpaint', '--mask', 'circle'], /--mask: expected box, box:x,y,width,height, half, random:<rate> or a PNG file, got 'circle'/],
    [['--task', 'inpaint', '--mask', 'random:2'], /mask rate: expected a value in \[0, 1\], got 2/],
    [['--task', 'superres', '--factor', '3'], /--factor: expected 2 or 4, got 3/],
    [['--task', 'denoise', '--noise-sigma', '0.5', '--sigmas', '1,0.5'], /sigmas\[0\] must be --noise-sigma 0\.5, got 1/],
    [['--task', 'sharpen'], /--task.*sharpen.*Allowed choices are inpaint, superres, colorize, denoise, interpolate, stroke/s],
  ];
  for (const [args, want] of cases) {
    it(args.join(' '), () => {
      const r = ctlab(['edit', '--run', grey, '--out', out, ...args]);
      assert.notEqual(r.status, 0);
      assert.match(r.stderr, want);
    });
  }
  it('a points run is refused', () => {
    const dir = tempDir('ctlab-edit-');
    fs.writeFileSync(path.join(dir, 'config.json'), JSON.stringify(buildConfig('ict')));
    const r = ctlab(['edit', '--run', dir, '--task', 'inpaint', '--out', out]);
    assert.match(r.stderr, /editing needs an image run, this one has toy2d data/);
  });
  it('--data fashion-mnist-color resolves to RGB class-tinted Fashion-MNIST', () => {
    const r = ctlab(['train', '--data', 'fashion-mnist-color', '--dry-run']);
    assert.equal(r.status, 0, r.stderr);
    const cfg = JSON.parse(r.stdout) as { data: unknown; model: { kind: string } };
    assert.deepEqual(cfg.data, { kind: 'fashion-mnist', size: 16, trainSize: 60000, testSize: 10000, color: 'class-tint' });
    assert.equal(cfg.model.kind, 'unet');
  });
});
