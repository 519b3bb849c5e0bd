import { z } from 'zod';
import { hashValue } from '../util/hash.js';

// the contract between the stages that produce results and the reports that read them

/** What fixes a metric's value: numbers with different protocols never share a report column. */
export const protocolSchema = z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]));
export type Protocol = z.infer<typeof protocolSchema>;

export const metricRecordSchema = z.object({
  /** `fid`, `kid`, `clip-score`, `precision`, `recall`, `faithfulness`, ... */
  name: z.string().min(1),
  value: z.number(),
  /** a spread the metric itself reports (KID over subsets), not the spread over seeds */
  std: z.number().optional(),
  direction: z.enum(['lower', 'higher']),
  /** dataset and caption subset, sample count, extractor sha256, preprocessing mode, CLIP convention, ... */
  protocol: protocolSchema,
  /** sha256 of the canonical protocol */
  fingerprint: z.string(),
});
export type MetricRecord = z.infer<typeof metricRecordSchema>;

/** `metrics.json` in a run folder (and `result.metrics` of the evaluate stage). */
export const metricsFileSchema = z.object({ metrics: z.array(metricRecordSchema) });
export type MetricsFile = z.infer<typeof metricsFileSchema>;

export function metricRecord(name: string, value: number, direction: 'lower' | 'higher', protocol: Protocol, std?: number): MetricRecord {
  return { name, value, ...(std === undefined ? {} : { std }), direction, protocol, fingerprint: hashValue(protocol) };
}

/** `samples.json` in the generate stage's folder: which caption each image was generated from. */
export const samplesFileSchema = z.object({
  samples: z.array(z.object({ index: z.number().int().min(0), caption: z.string(), file: z.string(), image_id: z.number().int().optional() })),
});
export type SamplesFile = z.infer<typeof samplesFileSchema>;
