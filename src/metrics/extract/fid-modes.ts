// the FID preprocessing mode names, apart from the image stack so that option parsers (the CLI) can name
// them without loading sharp or onnxruntime.
export const FID_MODES = ['clean', 'legacy-pytorch', 'legacy-tensorflow', 'torchmetrics'] as const;
export type FidMode = (typeof FID_MODES)[number];

export const isFidMode = (m: string): m is FidMode => (FID_MODES as readonly string[]).includes(m);
