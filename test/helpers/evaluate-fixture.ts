// A cell's evaluate stage on real inputs, as the embedded study measures it: a synthetic captioned set (the
// reference folders), a second one standing in for the generated samples (its own seed, so no image is shared),
// and the committed feature networks with the embedded study's five metrics. Used by the stage's
// bit-identity test and by the script that wrote its golden values with the previous build's stage.
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cellSchema } from '../../src/config/schema.js';
import { generateSyntheticSet, writeSyntheticSet } from '../../src/data/index.js';
import type { Cell } from '../../src/plan/plan.js';
import type { Stage } from '../../src/tracking/stage.js';
import { fromRoot } from './paths.js';

export interface EvaluateFixture {
  /** the folder every path in the results starts with */
  dir: string;
  cell: Cell;
  generateDir: string;
}

export async function writeEvaluateFixture(dir: string): Promise<EvaluateFixture> {
  const data = join(dir, 'data');
  await writeSyntheticSet(data, generateSyntheticSet({ seed: 11, nTrain: 240, nVal: 48 }));
  const samples = join(dir, 'samples');
  await writeSyntheticSet(samples, generateSyntheticSet({ seed: 12, nTrain: 1, nVal: 40 }));
  const generateDir = join(dir, 'generate');
  mkdirSync(join(generateDir, 'images'), { recursive: true });
  const coco = JSON.parse(readFileSync(join(samples, 'annotations', 'captions_val.json'), 'utf8')) as { images: Array<{ id: number; file_name: string }>; annotations: Array<{ image_id: number; caption: string }> };
  const list = coco.images.map((image, index) => {
    const file = `images/${String(index).padStart(6, '0')}.png`;
    cpSync(join(samples, 'val', image.file_name), join(generateDir, file));
    return { index, caption: coco.annotations.find((a) => a.image_id === image.id)!.caption, file };
  });
  writeFileSync(join(generateDir, 'samples.json'), JSON.stringify({ samples: list }));
  const models = fromRoot('models/embedded');
  const config = cellSchema.parse({
    evaluate: {
      captions: { annotations: join(samples, 'annotations', 'captions_val.json'), protocol: 'random-n', count: list.length, seed: 0 },
      batch_size: 16,
      metrics: [
        { name: 'fid', mode: 'clean', extractor: join(models, 'perception.onnx'), reference: join(data, 'train'), dims: 128 },
        { name: 'kid', mode: 'clean', extractor: join(models, 'perception.onnx'), reference: join(data, 'train'), subsets: 20, subset_size: 30 },
        { name: 'precision-recall', extractor: join(models, 'perception.onnx'), reference: join(data, 'val'), k: 3 },
        { name: 'clip-score', convention: 'cosine-mean', image_encoder: join(models, 'clip-image.onnx'), text_encoder: join(models, 'clip-text.onnx'), tokenizer: join(models, 'tokenizer.json'), prefix: '' },
        { name: 'faithfulness', classifier: join(models, 'perception.onnx') },
      ],
    },
  });
  const cell: Cell = { index: 0, id: '0'.repeat(64), slug: 'fixture', name: 'fixture', varying: {}, config, assets: [] };
  return { dir, cell, generateDir };
}

/**
 * runs `stage` on the fixture in `workDir`; the results with the fixture's folder written as `<dir>` and without
 * each metric's fingerprint (a hash of its protocol, which names that temporary folder)
 */
export async function evaluateFixture(stage: Stage, f: EvaluateFixture, workDir: string): Promise<unknown> {
  mkdirSync(workDir, { recursive: true });
  const result = await stage.run({
    cell: f.cell,
    workDir,
    upstream: { generate: { stage: 'generate', key: 'fixture', dir: f.generateDir, result: { images: 40, captions_fingerprint: 'fixture' } } },
    log: () => undefined,
    progress: () => undefined,
    signal: new AbortController().signal,
  });
  return JSON.parse(JSON.stringify(result).replaceAll(f.dir, '<dir>').replaceAll(fromRoot(), '<repo>'), (key, value: unknown) => (key === 'fingerprint' ? undefined : value));
}
