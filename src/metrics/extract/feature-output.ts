/**
 * Which output of an extractor holds the features: `pool3` (tools/export_inception.py), `pool` (the embedded
 * perception network), else the model's only output.
 */
export function featureOutputOf(outputs: readonly string[]): string | undefined {
  return ['pool3', 'pool'].find((n) => outputs.includes(n)) ?? (outputs.length === 1 ? outputs[0] : undefined);
}
