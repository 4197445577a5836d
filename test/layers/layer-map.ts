/**
 * The kit's layers as data (the README's layout section): lowest first, each a list of files and
 * folders (trailing '/') under src/, and the import walk that checks the rule between them. Used by
 * test/layers/layers.test.ts and test/core/browser.test.ts.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as ts from 'typescript';

export const ROOT = path.resolve(__dirname, '..', '..', '..');
export const SRC = path.join(ROOT, 'src');

/** Layers, lowest first; each entry is a file or a folder (trailing '/') under src/. */
export const LAYERS: readonly { name: string; core: boolean; paths: readonly string[] }[] = [
  { name: 'paper', core: true, paths: ['constants.ts', 'kernels.ts', 'util/rng.ts', 'util/erf.ts', 'schedules/'] },
  { name: 'config', core: true, paths: ['config/', 'run/records.ts'] },
  {
    name: 'tensors',
    core: true,
    paths: [
      'consistency/',
      'models/',
      'optim/',
      'losses/distance.ts',
      'losses/lpips.ts',
      'metrics/features.ts',
      'metrics/classifiers.ts',
      'training/checkpoint-codec.ts',
    ],
  },
  {
    name: 'procedures',
    core: true,
    paths: [
      'training/ct-step.ts',
      'training/edm-step.ts',
      'training/session.ts',
      'training/model-state.ts',
      'sampling/',
      'metrics/sliced-wasserstein.ts',
      'metrics/mmd.ts',
      'metrics/frechet.ts',
      'metrics/kid.ts',
      'metrics/evaluate.ts',
      'metrics/image-quality.ts',
      'data/toy2d.ts',
      'report/figures.ts',
      'core.ts',
    ],
  },
  { name: 'backend', core: false, paths: ['backend/'] },
  {
    name: 'files',
    core: false,
    paths: [
      'data/',
      'run/run-dir.ts',
      'run/lock.ts',
      'training/checkpoint.ts',
      'training/run-dir.ts',
      'report/',
      'metrics/feature-net.ts',
      'losses/lpips-weights.ts',
      'util/progress.ts',
    ],
  },
  { name: 'runs', core: false, paths: ['training/trainer.ts', 'training/teacher.ts', 'metrics/image-eval.ts', 'metrics/image-run-eval.ts', 'run/evaluate.ts'] },
  { name: 'experiments', core: false, paths: ['experiments/', 'quickstart.ts', 'doctor.ts'] },
  { name: 'entry', core: false, paths: ['cli.ts', 'notebook/', 'index.ts'] },
];

/** Packages the core may import. */
export const CORE_PACKAGES = ['@tensorflow/tfjs-core', 'zod', '@noble/hashes'];

/** The layer of a file under src/: the most specific (longest) matching entry wins. */
export function layerOf(rel: string): number {
  let best = -1;
  let bestLen = -1;
  LAYERS.forEach((layer, i) => {
    for (const p of layer.paths) {
      const hit = p.endsWith('/') ? rel.startsWith(p) : rel === p;
      if (hit && p.length > bestLen) {
        best = i;
        bestLen = p.length;
      }
    }
  });
  return best;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) return sourceFiles(full);
    return e.name.endsWith('.ts') && !e.name.endsWith('.d.ts') ? [full] : [];
  });
}

/** Every module specifier a file names: imports, re-exports, import types and dynamic imports/requires. */
export function importsOf(file: string): string[] {
  const sf = ts.createSourceFile(file, fs.readFileSync(file, 'utf8'), ts.ScriptTarget.ES2022, true);
  const out: string[] = [];
  const visit = (node: ts.Node): void => {
    if ((ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
      out.push(node.moduleSpecifier.text);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument) && ts.isStringLiteral(node.argument.literal)) {
      out.push(node.argument.literal.text);
    } else if (ts.isCallExpression(node) && node.arguments.length >= 1) {
      const arg = node.arguments[0];
      const callee = node.expression;
      const isImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === 'require';
      const isResolve = ts.isPropertyAccessExpression(callee) && ts.isIdentifier(callee.expression) && callee.expression.text === 'require';
      if ((isImport || isRequire || isResolve) && arg && ts.isStringLiteral(arg)) out.push(arg.text);
    } else if (
      ts.isImportEqualsDeclaration(node) &&
      ts.isExternalModuleReference(node.moduleReference) &&
      ts.isStringLiteral(node.moduleReference.expression)
    ) {
      out.push(node.moduleReference.expression.text);
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return out;
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const base = path.resolve(path.dirname(from), spec);
  for (const cand of [`${base}.ts`, path.join(base, 'index.ts')]) if (fs.existsSync(cand)) return cand;
  return base;
}

function packageName(spec: string): string {
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : (parts[0] as string);
}

export interface Violation {
  file: string;
  imports: string;
  why: string;
}

/** Every import that breaks the rule, for the files under `srcDir`. */
export function layerViolations(srcDir: string): { violations: Violation[]; unplaced: string[] } {
  const violations: Violation[] = [];
  const unplaced: string[] = [];
  for (const file of sourceFiles(srcDir)) {
    const rel = path.relative(srcDir, file).split(path.sep).join('/');
    const own = layerOf(rel);
    if (own < 0) {
      unplaced.push(rel);
      continue;
    }
    const ownLayer = LAYERS[own] as (typeof LAYERS)[number];
    for (const spec of importsOf(file)) {
      const target = resolveLocal(file, spec);
      if (target === null) {
        if (ownLayer.core && (spec.startsWith('node:') || !CORE_PACKAGES.includes(packageName(spec)))) {
          violations.push({ file: rel, imports: spec, why: `core layer '${ownLayer.name}' may import only ${CORE_PACKAGES.join(', ')}` });
        }
        continue;
      }
      const trel = path.relative(srcDir, target).split(path.sep).join('/');
      const theirs = layerOf(trel);
      if (theirs > own) {
        violations.push({
          file: rel,
          imports: trel,
          why: `layer '${ownLayer.name}' (${own + 1}) imports the higher layer '${LAYERS[theirs]?.name}' (${theirs + 1})`,
        });
      }
    }
  }
  return { violations, unplaced };
}
