/**
 * The iCT techniques as settings one can toggle: each ablation of ./ablations (except the preset-level
 * `ct-vs-ict`) becomes a technique whose choices are its arms, under the same names `ctlab ablate`
 * uses, each resolved to the concrete config value it sets (an arm's override is relative to the iCT
 * baseline, so `{}` means "iCT's value"). The teaching page builds its controls from this, and a
 * config with a set of choices applied is validated by the same schema as the CLI's.
 */
import { buildConfig, type PresetName, type ScaleName } from '../config/presets';
import { validateConfig, type TrainConfig } from '../config/schema';
import { ABLATIONS, BASELINE_PRESET, type Ablation } from './ablations';

export interface TechniqueChoice {
  /** The arm's name (as in `ctlab ablate` and the ablation tables). */
  name: string;
  /** The config value it sets at `Technique.path`. */
  value: unknown;
}

export interface Technique {
  /** The ablation's name. */
  name: string;
  title: string;
  /** What the paper reports for it. */
  paper: string;
  /** Where in the config the technique lives, e.g. ['model', 'dropout']. */
  path: string[];
  choices: TechniqueChoice[];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The config path an override touches: keys down to a leaf or a tagged (`kind`) object. */
function overridePath(o: unknown): string[] {
  const path: string[] = [];
  let cur = o;
  while (isPlainObject(cur) && !('kind' in cur)) {
    const keys = Object.keys(cur);
    if (keys.length !== 1)
      throw new Error(`techniques: an arm override must touch one config field, got keys ${keys.join(', ')} at ${path.join('.') || 'the top'}`);
    const key = keys[0] as string;
    path.push(key);
    cur = cur[key];
  }
  return path;
}

export function getPath(cfg: unknown, path: readonly string[]): unknown {
  let cur = cfg;
  for (const key of path) cur = isPlainObject(cur) ? cur[key] : undefined;
  return cur;
}

function setPath(cfg: Record<string, unknown>, path: readonly string[], value: unknown): Record<string, unknown> {
  const [head, ...rest] = path;
  if (head === undefined) throw new Error('techniques: empty path');
  const next = rest.length === 0 ? value : setPath(isPlainObject(cfg[head]) ? cfg[head] : {}, rest, value);
  return { ...cfg, [head]: next };
}

function technique(a: Ablation, scale: ScaleName): Technique {
  const imageOnly = new Set((a.imageOnly ?? []).map((x) => x.arm));
  const arms = a.arms.filter((arm) => scale !== 'toy2d' || !imageOnly.has(arm.name));
  const touched = arms.filter((arm) => Object.keys(arm.override).length > 0);
  const first = touched[0];
  if (!first) throw new Error(`techniques: ablation ${a.name} has no arm that changes the config`);
  const path = overridePath(first.override);
  for (const arm of touched) {
    const p = overridePath(arm.override);
    if (p.join('.') !== path.join('.')) throw new Error(`techniques: ablation ${a.name} mixes config fields (${path.join('.')} and ${p.join('.')})`);
  }
  const choices = arms.map((arm) => ({ name: arm.name, value: getPath(buildConfig(arm.preset ?? BASELINE_PRESET, arm.override, scale), path) }));
  return { name: a.name, title: a.title, paper: a.paper, path, choices };
}

/** The techniques one can toggle at a scale (2D: no LPIPS-style distance). */
export function techniques(scale: ScaleName = 'toy2d'): Technique[] {
  return ABLATIONS.filter((a) => a.arms.every((arm) => arm.preset === undefined)).map((a) => technique(a, scale));
}

/** The choice of each technique that a config holds (null where it matches none of the arms). */
export function choicesOf(cfg: TrainConfig, list: readonly Technique[]): Record<string, string | null> {
  const out: Record<string, string | null> = {};
  for (const t of list) {
    const v = JSON.stringify(getPath(cfg, t.path));
    out[t.name] = t.choices.find((c) => JSON.stringify(c.value) === v)?.name ?? null;
  }
  return out;
}

/** The preset's config with the given technique choices applied, validated (unknown names are refused by name). */
export function applyChoices(
  preset: PresetName,
  choices: Readonly<Record<string, string>>,
  override: Parameters<typeof buildConfig>[1] = {},
  scale: ScaleName = 'toy2d',
): TrainConfig {
  const list = techniques(scale);
  let cfg: Record<string, unknown> = buildConfig(preset, override, scale);
  for (const [name, choice] of Object.entries(choices)) {
    const t = list.find((x) => x.name === name);
    if (!t) throw new Error(`technique: unknown name '${name}', expected one of ${list.map((x) => x.name).join(', ')}`);
    const c = t.choices.find((x) => x.name === choice);
    if (!c) throw new Error(`technique ${name}: unknown choice '${choice}', expected one of ${t.choices.map((x) => x.name).join(', ')}`);
    cfg = setPath(cfg, t.path, structuredClone(c.value));
  }
  return validateConfig(cfg);
}
