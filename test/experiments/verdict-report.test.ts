/**
 * Verdicts per technique (issue #19, item 3): the word from the 1- and 2-step comparisons, the
 * sentence with its differences and the budget that would decide what is open, the README section
 * inserted above the power analysis and replaced on a rerun, other suites quoted under each
 * technique, and `--compare` specs refused with the option named.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { POWER_BEGIN, powerAnalysis, readSummaries, techniqueVerdicts, techniqueWord, writePowerReport, type PowerRow } from '../../src/experiments/power';
import { VERDICTS_BEGIN, VERDICTS_END, parseSuite, readVerdictsFile, writeVerdictReport } from '../../src/experiments/verdict-report';
import { verdictSentence } from '../../src/experiments/verdicts';
import { tempDir } from '../helpers';

const ROOT = path.join(__dirname, '..', '..', '..');
const OLD = path.join(ROOT, 'results', 'ablations');

function row(metric: string, outcome: PowerRow['outcome'], over: Partial<PowerRow> = {}): PowerRow {
  return {
    ablation: 'dropout',
    data: 'fashion-mnist',
    metric,
    steps: 4000,
    best: '0.3',
    worse: '0',
    n: 5,
    meanDiff: 1,
    sdDiff: 1,
    halfWidth: 1.24,
    outcome,
    bestMean: 30,
    seedsForSeen: 7,
    seedsForMinEffect: 3,
    minEffect: 0.1,
    ...over,
  };
}

test('the word of a technique: both comparisons decided, one of them, neither, or none run', () => {
  assert.equal(techniqueWord([row('1-step FID', 'agrees'), row('2-step FID', 'agrees')]), 'agrees');
  assert.equal(techniqueWord([row('1-step FID', 'disagrees'), row('2-step FID', 'disagrees')]), 'disagrees');
  assert.equal(techniqueWord([row('1-step FID', 'inconclusive'), row('2-step FID', 'agrees')]), 'agrees in part');
  assert.equal(techniqueWord([row('1-step FID', 'disagrees'), row('2-step FID', 'inconclusive')]), 'disagrees in part');
  assert.equal(techniqueWord([row('1-step FID', 'agrees'), row('2-step FID', 'disagrees')]), 'mixed');
  assert.equal(techniqueWord([row('1-step FID', 'inconclusive'), row('2-step FID', 'inconclusive')]), 'undecided');
  // one seed gives a sign, not a verdict
  assert.equal(techniqueWord([row('1-step FID', 'same direction', { n: 1 })]), 'not run');
  assert.equal(techniqueWord([]), 'not run');
});

test('the sentence: the differences with their intervals, the verdict, and the budget that would decide it', () => {
  const summaries = readSummaries(OLD);
  const verdicts = techniqueVerdicts(summaries, powerAnalysis(summaries), '1,000-step suite');
  const target = verdicts.find((v) => v.ablation === 'target' && v.data === 'fashion-mnist');
  assert.ok(target, 'target / fashion-mnist');
  assert.equal(target.word, 'agrees');
  assert.equal(target.seeds, 3);
  const t = verdictSentence(target);
  // ema − stopgrad, 1-step FID 79.6 ± 14.3 in the committed power analysis
  assert.match(
    t,
    /^ema − stopgrad in FID \(fmnist-strided\): \+79\.6 ± 14 at 1 step, \+[0-9.]+ ± [0-9.]+ at 2 steps \(1,000 steps × 3 seeds\): \*\*agrees\*\* with the paper/,
  );

  // an open comparison names the seeds that would decide it, or says that seeds will not
  const open = verdictSentence({
    ...target,
    word: 'undecided',
    seedsToDecide: 9,
    oneStep: row('1-step FID', 'inconclusive'),
    twoStep: row('2-step FID', 'inconclusive'),
  });
  assert.match(open, /\*\*undecided at this budget\*\*: with the spread seen, about 9 seeds at 1,000 steps would decide a difference of this size\.$/);
  const hopeless = verdictSentence({ ...target, word: 'undecided', seedsToDecide: null, seedsForMinEffect: 15 });
  assert.match(
    hopeless,
    /too small against the seed-to-seed spread for any count up to 200 seeds.*15 seeds would bound it within ±10% of the paper arm's value/,
  );
  const part = verdictSentence({
    ...target,
    word: 'agrees in part',
    seedsToDecide: 6,
    oneStep: row('1-step FID', 'inconclusive'),
    twoStep: row('2-step FID', 'agrees'),
  });
  assert.match(part, /\*\*agrees at 2 steps\*\*, undecided at 1 step: with the spread seen, about 6 seeds/);
  assert.equal(verdictSentence({ ...target, word: 'not run' }), 'ema vs stopgrad: not run at this budget (no paired seeds).');
});

test('the README section goes above the power analysis, is replaced on a rerun, and quotes the other suites', () => {
  const dir = path.join(tempDir(), 'suite');
  for (const a of ['target', 'dropout']) fs.cpSync(path.join(OLD, a), path.join(dir, a), { recursive: true });
  fs.writeFileSync(path.join(dir, 'README.md'), '## table\n\n|technique|\n');
  writePowerReport(dir, { command: 'test', commit: 'abc' });
  const other = { label: 'the other suite', dir: OLD };
  writeVerdictReport(dir, { command: 'test', commit: 'abc', label: 'mine', compare: [other] });
  const r = writeVerdictReport(dir, { command: 'test', commit: 'def', label: 'mine', compare: [other] });
  const text = fs.readFileSync(path.join(dir, 'README.md'), 'utf8');
  assert.equal(text.split(VERDICTS_BEGIN).length - 1, 1, 'one section');
  assert.ok(text.startsWith('## table\n\n|technique|\n'), 'the table kept');
  assert.ok(text.indexOf(VERDICTS_END) < text.indexOf(POWER_BEGIN), 'verdicts above the power analysis');
  assert.match(text, /commit def/);
  // techniques in the tables' order (dropout before target), each data set with the other suite's verdict beneath
  assert.ok(text.indexOf('### [Dropout](dropout/summary.md)') < text.indexOf('### [Consistency target θ⁻](target/summary.md)'));
  assert.match(text, /- \*\*fashion-mnist\*\*: ema − stopgrad in FID[^\n]*\n {2}- the other suite: ema − stopgrad in FID/);
  assert.equal(r.verdicts.length, 4, 'two techniques × two data sets');
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'verdicts.json'), 'utf8')) as { suites: { label: string }[]; verdicts: unknown[] };
  assert.deepEqual(
    json.suites.map((s) => s.label),
    ['mine', 'the other suite'],
  );
  assert.ok(json.verdicts.length > 4, 'this suite and the other');
  // read back validated; a broken file is named with what is wrong
  assert.equal(readVerdictsFile(dir)?.main.length, 4);
  const broken = JSON.parse(fs.readFileSync(path.join(dir, 'verdicts.json'), 'utf8')) as { verdicts: Record<string, unknown>[] };
  (broken.verdicts[0] as Record<string, unknown>).ablation = 1;
  fs.writeFileSync(path.join(dir, 'verdicts.json'), JSON.stringify(broken));
  assert.throws(() => readVerdictsFile(dir), /verdicts\.json: verdicts\.0\.ablation: /);
  fs.writeFileSync(path.join(dir, 'verdicts.json'), '{');
  assert.throws(() => readVerdictsFile(dir), /verdicts\.json: not valid JSON/);
});

test('--compare needs <label>=<dir>', () => {
  assert.deepEqual(parseSuite('1,000-step suite=results/ablations'), { label: '1,000-step suite', dir: 'results/ablations' });
  assert.throws(() => parseSuite('results/ablations'), /--compare: expected <label>=<dir> .* got 'results\/ablations'/);
  assert.throws(() => parseSuite('label='), /--compare: expected <label>=<dir>/);
});
