/**
 * Which data are images: the one predicate the config check, the presets' scale, the data loader,
 * the runner, the evaluation and the reports ask (points get an MLP and SWD/MMD; images a U-Net and
 * FID/KID).
 */

/** Data kinds (config `data.kind`, also the CLI's `--data` names) that hold images. */
export const IMAGE_DATA_KINDS = ['fashion-mnist'] as const;
export type ImageDataKind = (typeof IMAGE_DATA_KINDS)[number];

/** `--data` names of image data: the kinds, and 'fashion-mnist-color' (kind fashion-mnist, `color: 'class-tint'`). */
export const IMAGE_DATA_NAMES: readonly string[] = [...IMAGE_DATA_KINDS, 'fashion-mnist-color'];

/** True for image data: a data config (`config.data`) or a `--data` name such as 'fashion-mnist'. */
export function isImageData(data: { readonly kind: string } | string): boolean {
  return typeof data === 'string' ? IMAGE_DATA_NAMES.includes(data) : (IMAGE_DATA_KINDS as readonly string[]).includes(data.kind);
}
