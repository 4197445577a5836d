/**
 * The verdict section of an ablation suite's README (issue #19, item 3): per technique and data set
 * the seed-paired difference with its 95% interval at 1 and 2 sampling steps, and one sentence:
 * agrees, disagrees, or undecided at this budget with the budget that would decide it. Other suites
 * (the 1,000-step suite, the 28×28 check) are quoted under each technique for the same comparison.
 *
 * Built from the summary.json files alone (like the power analysis), written between markers into
 * <out>/README.md, with verdicts.json beside it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { POWER_BEGIN, powerAnalysis, readSummaries, techniqueVerdicts, withSection, type TechniqueVerdict } from './power';
import { verdictsFileSchema, type VerdictsFile } from '../run/records';
import { readRecordFile } from '../run/run-dir';
import { ABLATIONS } from './ablations';
import { verdictSentence } from './verdicts';

export const VERDICTS_BEGIN = '<!-- verdicts: ctlab report -->';
export const VERDICTS_END = '<!-- end of verdicts -->';

/** A suite of ablation results: a folder of <ablation>/summary.json, and its label in the prose. */
export interface Suite {
  label: string;
  dir: string;
}

/** Parse `--compare "<label>=<dir>"`; the error names the option. */
export function parseSuite(spec: string): Suite {
  const at = spec.lastIndexOf('=');
  const label = spec.slice(0, at).trim();
  const dir = spec.slice(at + 1).trim();
  if (at <= 0 || !label || !dir) throw new Error(`--compare: expected <label>=<dir> (e.g. "1,000-step suite=results/ablations"), got '${spec}'`);
  return { label, dir };
}

/** Every technique verdict of a suite. */
export function suiteVerdicts(suite: Suite): TechniqueVerdict[] {
  const summaries = readSummaries(suite.dir);
  return techniqueVerdicts(summaries, powerAnalysis(summaries), suite.label);
}

/** One technique's bullets: one per data set of the main suite, the other suites' verdicts on the same comparison beneath. */
export function techniqueBullets(main: readonly TechniqueVerdict[], others: readonly TechniqueVerdict[], ablation: string): string[] {
  const lines: string[] = [];
  for (const v of main.filter((x) => x.ablation === ablation)) {
    lines.push(`- **${v.data}**: ${verdictSentence(v)}`);
    for (const o of others.filter((x) => x.ablation === v.ablation && x.data === v.data && x.worse === v.worse))
      lines.push(`  - ${o.suite}: ${verdictSentence(o)}`);
  }
  return lines;
}

/** <dir>/verdicts.json, validated (a bad file names its field); null when the suite has none. */
export function readVerdictsFile(dir: string): { main: TechniqueVerdict[]; others: TechniqueVerdict[]; file: VerdictsFile } | null {
  const file = path.join(dir, 'verdicts.json');
  if (!fs.existsSync(file)) return null;
  const data = readRecordFile(verdictsFileSchema, file);
  const label = data.suites[0]?.label;
  return { main: data.verdicts.filter((v) => v.suite === label), others: data.verdicts.filter((v) => v.suite !== label), file: data };
}

/** The markdown section: one heading per technique, one bullet per data set, the other suites below it. */
export function verdictMarkdown(
  main: readonly TechniqueVerdict[],
  others: readonly TechniqueVerdict[],
  provenance: string,
  link?: (ablation: string) => string,
): string {
  const lines = [
    VERDICTS_BEGIN,
    '## Verdicts: what each technique does at this budget',
    '',
    "Per technique and data set: the seed-paired difference (the other arm − the paper's arm; lower is better, so a positive difference favours the paper) with its 95% interval at 1 and 2 sampling steps, and one sentence: agrees, disagrees, or undecided at this budget, with the budget that would decide it (the power analysis's seed counts, which assume the spread seen holds). Under each, the same comparison in the other suites.",
  ];
  // the order of the technique tables (ABLATIONS), unknown names last
  const rank = (a: string): number => {
    const i = ABLATIONS.findIndex((x) => x.name === a);
    return i < 0 ? ABLATIONS.length : i;
  };
  const order = [...new Set(main.map((v) => v.ablation))].sort((a, b) => rank(a) - rank(b));
  for (const ablation of order) {
    const mine = main.filter((v) => v.ablation === ablation);
    const title = mine[0]?.title ?? ablation;
    lines.push('', `### ${link ? `[${title}](${link(ablation)})` : title}`, '', ...techniqueBullets(main, others, ablation));
  }
  lines.push('', provenance, VERDICTS_END);
  return lines.join('\n') + '\n';
}

/** Write verdicts.json and the README section of `dir` (inserted above the power analysis when there is one). */
export function writeVerdictReport(
  dir: string,
  opts: { command: string; commit: string; label?: string; compare?: readonly Suite[] },
): { verdicts: TechniqueVerdict[]; others: TechniqueVerdict[]; section: string; files: string[] } {
  const label = opts.label ?? 'this suite';
  const verdicts = suiteVerdicts({ label, dir });
  const compare = opts.compare ?? [];
  const others = compare.flatMap(suiteVerdicts);
  const from = compare.length ? ` and those of ${compare.map((c) => `${c.label} (${path.relative(dir, c.dir).split(path.sep).join('/')})`).join(', ')}` : '';
  const provenance = `Written by \`${opts.command}\` from the summary.json files beside this README${from} (commit ${opts.commit}).`;
  const section = verdictMarkdown(verdicts, others, provenance, (a) => `${a}/summary.md`);
  const json = path.join(dir, 'verdicts.json');
  fs.writeFileSync(
    json,
    JSON.stringify(
      {
        command: opts.command,
        commit: opts.commit,
        suites: [{ label, dir: '.' }, ...compare.map((c) => ({ label: c.label, dir: path.relative(dir, c.dir).split(path.sep).join('/') }))],
        verdicts: [...verdicts, ...others],
      },
      null,
      2,
    ) + '\n',
  );
  const readme = path.join(dir, 'README.md');
  const before = fs.existsSync(readme) ? fs.readFileSync(readme, 'utf8') : '';
  fs.writeFileSync(readme, withSection(before, VERDICTS_BEGIN, VERDICTS_END, section, POWER_BEGIN));
  return { verdicts, others, section, files: [json, readme] };
}
