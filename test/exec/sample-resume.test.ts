// vsdlab sample's folder resumes: sampleToFolder interrupted after its first batch, then run again with the same
// identity, keeps the finished images and writes the rest byte-identical to an uninterrupted run.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadSdEngine } from '../../src/pipelines/sd/load-engine.js';
import { sampleToFolder, type SampleToFolderOptions } from '../../src/pipelines/sd/sample-to-folder.js';
import { selectBackend } from '../../src/tensor/index.js';
import { fromRoot } from '../helpers/paths.js';
import { tempDir } from '../helpers/temp.js';

test('an interrupted vsdlab sample resumes: finished batches are kept as they are, the rest equal an uninterrupted run', async () => {
  await selectBackend('cpu');
  const engine = await loadSdEngine(fromRoot('test/fixtures/sd/tiny-sd2'), { engine: 'tfjs' });
  try {
    const dir = tempDir();
    const options = (out: string, resume: string | undefined, extra: Partial<SampleToFolderOptions> = {}): SampleToFolderOptions => ({
      prompts: ['a red cube', 'a blue ball', 'a cat', 'a dog', 'a tree'],
      out: join(dir, out),
      outputType: 'png',
      batchSize: 2,
      sampler: 'ddpm',
      steps: 2,
      guidance: 3,
      seed: 5,
      oneStepAlphaBar: 'schedule',
      ...(resume !== undefined ? { resume } : {}),
      ...extra,
    });
    await sampleToFolder(engine, options('whole', 'run-1'));
    const stop = new AbortController();
    const interrupted = sampleToFolder(engine, options('resumed', 'run-1', { signal: stop.signal, onProgress: (done) => done >= 2 && stop.abort(new Error('killed')) }));
    await assert.rejects(interrupted, /killed/);
    const out = join(dir, 'resumed');
    const png = (d: string): string[] => readdirSync(d).filter((f) => f.endsWith('.png')).sort();
    const before = new Map(png(out).map((f) => [f, statSync(join(out, f)).ino]));
    assert.deepEqual([...before.keys()], ['000000.png', '000001.png']);
    const rerun = await sampleToFolder(engine, options('resumed', 'run-1'));
    assert.deepEqual(rerun.files, png(join(dir, 'whole')));
    for (const f of png(join(dir, 'whole'))) assert.ok(readFileSync(join(out, f)).equals(readFileSync(join(dir, 'whole', f))), `${f} differs`);
    for (const [f, ino] of before) assert.equal(statSync(join(out, f)).ino, ino, `${f} was rewritten`);
    // another run's identity (here: another seed) writes every image again
    await sampleToFolder(engine, options('resumed', 'run-2', { seed: 6 }));
    for (const [f, ino] of before) assert.notEqual(statSync(join(out, f)).ino, ino, `${f} was kept for another run`);
  } finally {
    await engine.dispose();
  }
});
