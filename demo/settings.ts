/**
 * The page's settings and their URL form. A teacher prepares a setup and shares the URL; the page
 * reads it back into the same settings. Technique choices use the arm names of `ctlab ablate`
 * (src/experiments/techniques.ts), and every panel's config is built by the kit's own schema, so a
 * URL with a bad value is refused with the field named, as `ctlab train` would refuse it.
 */
import { buildConfig, type PresetName } from '../src/config/presets';
import type { TrainConfig } from '../src/config/schema';
import { TOY2D_NAMES, isToy2dName, type Toy2dName } from '../src/data/toy2d';
import { applyChoices, choicesOf, techniques } from '../src/experiments/techniques';
import { RENAMED_ABLATIONS } from '../src/run/records';

export const DRAWN = 'drawn';
export type DataChoice = Toy2dName | typeof DRAWN;
export const DATA_CHOICES: readonly DataChoice[] = [...TOY2D_NAMES, DRAWN];
export const PRESET_NAMES: readonly PresetName[] = ['ct', 'ict'];
export const BACKENDS = ['auto', 'wasm', 'webgl', 'webgpu', 'cpu'] as const;
export type BackendChoice = (typeof BACKENDS)[number];

export interface PanelSettings {
  preset: PresetName;
  /** Technique name → arm name (every technique present). */
  choices: Record<string, string>;
}

export interface Settings {
  data: DataChoice;
  /** Drawn points (x, y pairs) when data is 'drawn'. */
  points: number[];
  steps: number;
  seed: number;
  batch: number;
  lr: number;
  backend: BackendChoice;
  /** Two configurations side by side. */
  compare: boolean;
  panels: [PanelSettings, PanelSettings];
}

/** The techniques the page shows (the 2D ones). */
export const TECHNIQUES = techniques('toy2d');

/** A preset's own choices (its value on each technique axis). */
export function presetChoices(preset: PresetName): Record<string, string> {
  const found = choicesOf(buildConfig(preset), TECHNIQUES);
  const out: Record<string, string> = {};
  for (const t of TECHNIQUES) {
    const c = found[t.name];
    if (c === null || c === undefined) throw new Error(`preset ${preset}: its ${t.name} matches none of the arms ${t.choices.map((x) => x.name).join(', ')}`);
    out[t.name] = c;
  }
  return out;
}

export function defaultSettings(): Settings {
  const base = buildConfig('ict');
  return {
    data: 'eight-gaussians',
    points: [],
    steps: base.steps,
    seed: 0,
    batch: base.batchSize,
    lr: base.optimizer.lr,
    backend: 'auto',
    compare: true,
    panels: [
      { preset: 'ict', choices: presetChoices('ict') },
      { preset: 'ct', choices: presetChoices('ct') },
    ],
  };
}

export class SettingsError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'SettingsError';
  }
}

// drawn points travel as two bytes per coordinate: [-4, 4) in steps of 1/8192 (base64url)
const Q = 8192;
const LIM = 4;

/** A coordinate as the URL carries it: drawn points are stored quantized, so a shared link trains on the very same points. */
export function quantize(v: number): number {
  return Math.max(0, Math.min(65535, Math.round((v + LIM) * Q))) / Q - LIM;
}

export function encodePoints(points: readonly number[]): string {
  const bytes = new Uint8Array(points.length * 2);
  points.forEach((v, i) => {
    const q = Math.max(0, Math.min(65535, Math.round((v + LIM) * Q)));
    bytes[2 * i] = q >> 8;
    bytes[2 * i + 1] = q & 255;
  });
  let s = '';
  bytes.forEach((b) => (s += String.fromCharCode(b)));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function decodePoints(text: string): number[] {
  let bin: string;
  try {
    bin = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    throw new SettingsError('points', 'not base64url text');
  }
  if (bin.length % 4 !== 0) throw new SettingsError('points', `expected whole (x, y) pairs, got ${bin.length} bytes`);
  const out: number[] = [];
  for (let i = 0; i < bin.length; i += 2) out.push(((bin.charCodeAt(i) << 8) | bin.charCodeAt(i + 1)) / Q - LIM);
  return out;
}

/** The URL query of a settings object (every field, so a shared link does not depend on defaults). */
export function toQuery(s: Settings): string {
  const q = new URLSearchParams();
  q.set('data', s.data);
  if (s.data === DRAWN) q.set('points', encodePoints(s.points));
  q.set('steps', String(s.steps));
  q.set('seed', String(s.seed));
  q.set('batch', String(s.batch));
  q.set('lr', String(s.lr));
  q.set('backend', s.backend);
  q.set('compare', s.compare ? '1' : '0');
  s.panels.forEach((p, i) => {
    const key = i === 0 ? 'a' : 'b';
    q.set(key, p.preset);
    for (const t of TECHNIQUES) q.set(`${key}.${t.name}`, p.choices[t.name] ?? '');
  });
  return q.toString();
}

function intField(q: URLSearchParams, name: string, fallback: number, min: number): number {
  const v = q.get(name);
  if (v === null) return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new SettingsError(name, `expected an integer >= ${min}, got '${v}'`);
  return n;
}

/**
 * `<panel>.<technique>`, or from a URL shared before the technique was renamed (records.ts
 * RENAMED_ABLATIONS, e.g. `<panel>.teacher=none` for today's `<panel>.target=stopgrad`).
 */
function techniqueParam(q: URLSearchParams, key: 'a' | 'b', technique: string): string | null {
  const v = q.get(`${key}.${technique}`);
  if (v !== null) return v;
  for (const [former, now] of Object.entries(RENAMED_ABLATIONS)) {
    const old = now.name === technique ? q.get(`${key}.${former}`) : null;
    if (old !== null) return now.arms[old] ?? old;
  }
  return null;
}

/** Settings from a URL query; missing fields take the defaults, bad ones are refused by name. */
export function fromQuery(query: string): Settings {
  const q = new URLSearchParams(query);
  const d = defaultSettings();
  const data = q.get('data') ?? d.data;
  if (!(DATA_CHOICES as readonly string[]).includes(data)) throw new SettingsError('data', `expected one of ${DATA_CHOICES.join(', ')}, got '${data}'`);
  const points = data === DRAWN ? decodePoints(q.get('points') ?? '') : [];
  const backend = q.get('backend') ?? d.backend;
  if (!(BACKENDS as readonly string[]).includes(backend)) throw new SettingsError('backend', `expected one of ${BACKENDS.join(', ')}, got '${backend}'`);
  const lrText = q.get('lr');
  const lr = lrText === null ? d.lr : Number(lrText);
  if (!(lr > 0) || !Number.isFinite(lr)) throw new SettingsError('lr', `expected a positive number, got '${lrText}'`);
  const panel = (key: 'a' | 'b', fallback: PanelSettings): PanelSettings => {
    const preset = q.get(key) ?? fallback.preset;
    if (!(PRESET_NAMES as readonly string[]).includes(preset)) throw new SettingsError(key, `expected a preset (${PRESET_NAMES.join(', ')}), got '${preset}'`);
    const choices = presetChoices(preset as PresetName);
    for (const t of TECHNIQUES) {
      const v = techniqueParam(q, key, t.name);
      if (v === null) continue;
      if (!t.choices.some((c) => c.name === v))
        throw new SettingsError(`${key}.${t.name}`, `expected one of ${t.choices.map((c) => c.name).join(', ')}, got '${v}'`);
      choices[t.name] = v;
    }
    return { preset: preset as PresetName, choices };
  };
  const s: Settings = {
    data: data as DataChoice,
    points,
    steps: intField(q, 'steps', d.steps, 1),
    seed: intField(q, 'seed', d.seed, 0),
    batch: intField(q, 'batch', d.batch, 1),
    lr,
    backend: backend as BackendChoice,
    compare: (q.get('compare') ?? (d.compare ? '1' : '0')) === '1',
    panels: [panel('a', d.panels[0]), panel('b', d.panels[1])],
  };
  if (s.data === DRAWN && s.points.length < 2 * 8) throw new SettingsError('points', `draw at least 8 points (have ${s.points.length / 2})`);
  return s;
}

/** The kit config of one panel: its preset, its technique choices and the shared scale fields. */
export function panelConfig(s: Settings, i: 0 | 1): TrainConfig {
  const p = s.panels[i];
  // drawn points are handed to the session as arrays; the config says where they came from
  const data = isToy2dName(s.data) ? { kind: 'toy2d' as const, name: s.data } : { kind: 'csv' as const, path: '(points drawn in the page)', testFraction: 0.1 };
  return applyChoices(p.preset, p.choices, {
    name: `${i === 0 ? 'a' : 'b'}-${p.preset}`,
    steps: s.steps,
    seed: s.seed,
    batchSize: s.batch,
    optimizer: { lr: s.lr },
    data,
  });
}
