import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { CLI, tempDir } from '../helpers';

function doctor(args: string[], env: Record<string, string> = {}): { status: number | null; lines: string[] } {
  const r = spawnSync(process.execPath, [CLI, 'doctor', ...args], { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, lines: r.stdout.trimEnd().split('\n') };
}

const line = (lines: string[], name: string): string => {
  const l = lines.find((x) => new RegExp(`^\\S+\\s+${name}\\s{2}`).test(x));
  assert.ok(l, `no line for ${name} in:\n${lines.join('\n')}`);
  return l;
};

describe('ctlab doctor', () => {
  it('reports each check on this machine; optional ones missing keep exit code 0 and print their fix', () => {
    const r = doctor([], { CHROMIUM_PATH: '/nonexistent/chromium' });
    assert.equal(r.status, 0, r.lines.join('\n'));
    assert.match(line(r.lines, 'node'), new RegExp(`^ok +node +${process.version.replace(/\./g, '\\.')} \\(the kit needs >= 20\\.19`));
    assert.match(line(r.lines, 'backend'), /^ok +backend +(wasm|tensorflow|tensorflow-gpu|cpu) would load \(auto;/);
    for (const name of ['native addon', 'jupyter', 'tslab kernel', 'fashion-mnist', 'slurm']) line(r.lines, name);
    const chromium = r.lines.findIndex((l) => /^-- +chromium +\/nonexistent\/chromium not found/.test(l));
    assert.ok(chromium >= 0, r.lines.join('\n'));
    assert.match(r.lines[chromium + 1] ?? '', /^ +fix: bash scripts\/system-deps\.sh/);
    assert.equal(r.lines.at(-1), 'doctor: everything training needs is here');
  });

  it('with --slurm and no sbatch on PATH the Slurm client is required: MISSING, its fix, exit code 1', () => {
    const r = doctor(['--slurm'], { PATH: tempDir() }); // an empty folder: no sbatch
    assert.equal(r.status, 1);
    const i = r.lines.findIndex((l) => /^MISSING +slurm +sbatch not on PATH: the Slurm executor cannot submit jobs/.test(l));
    assert.ok(i >= 0, r.lines.join('\n'));
    assert.match(r.lines[i + 1] ?? '', /fix: apt-get install slurm-client/);
    assert.equal(r.lines.at(-1), 'doctor: 1 required check(s) failed: slurm');
  });

  it('a backend forced by CTLAB_BACKEND that cannot start is a required failure naming why', () => {
    // the pure-JS cpu backend always starts, so an unknown name is what a typo gives
    const r = doctor([], { CTLAB_BACKEND: 'tensorflw' });
    assert.equal(r.status, 1);
    assert.match(
      line(r.lines, 'backend'),
      /^MISSING +backend +CTLAB_BACKEND: expected one of auto, tensorflow-gpu, webgpu, tensorflow, wasm, cpu, got 'tensorflw'/,
    );
  });
});
