// `vsdlab run --gpus 0,1,2,3`: one local worker per GPU, each seeing only its own (CUDA_VISIBLE_DEVICES), so each
// cell trains on one GPU. Ids are what CUDA_VISIBLE_DEVICES takes: indices, or GPU-/MIG- UUIDs as nvidia-smi -L
// prints them.
import { BadInputError } from '../errors.js';

const GPU_ID = /^(\d+|(GPU|MIG)-[A-Za-z0-9-]+(\/\d+\/\d+)?)$/;

/** the GPU ids of a comma-separated list; duplicates and malformed ids are refused */
export function parseGpuList(text: string): string[] {
  const ids = text.split(',').map((s) => s.trim());
  const bad = ids.find((id) => !GPU_ID.test(id));
  if (bad !== undefined) throw new BadInputError('USAGE', `--gpus ${text}: "${bad}" is not a GPU id`, 'list GPU indices or UUIDs, comma-separated: --gpus 0,1,2,3 (nvidia-smi -L lists them)');
  const seen = new Set<string>();
  for (const id of ids) {
    if (seen.has(id)) throw new BadInputError('USAGE', `--gpus ${text}: GPU ${id} is listed twice`, 'each worker gets a GPU of its own: list each once');
    seen.add(id);
  }
  return ids;
}

/** how many workers `--gpus` with `--jobs` asks for: one per GPU; an explicit -j must agree */
export function workersForGpus(gpus: readonly string[], jobs: number): number {
  if (jobs !== 1 && jobs !== gpus.length) throw new BadInputError('USAGE', `--jobs ${jobs} with --gpus listing ${gpus.length} GPU${gpus.length === 1 ? '' : 's'}: one worker runs per GPU`, 'leave --jobs out with --gpus');
  return gpus.length;
}
