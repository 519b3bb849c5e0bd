// The architecture of src/, checked by `npm test` (test/architecture/layers.test.ts runs depcruise on src/).
//
// Folders stand in layers; a folder imports only from layers below its own, never from a sibling or above.
// Lowest first:
//   0  errors.ts, util/          coded errors; atomic writes, sha256 of bytes, values, files and folders;
//                                YAML input files read and validated, every issue as `file:line  dotted.path  message`
//      onnx/                     ONNX graphs written, onnxruntime sessions opened (execution provider, threads)
//   1  tensor/ weights/          tfjs backends and fast kernels; safetensors files
//      data/ metrics/            datasets, captions, seeded streams; image decoding, extractors, statistics
//   2  nn/                       general layers, parameter maps, LoRA: shared by every network family
//      prepare/                  dataset preparation: COCO-2014 val validated, caption subsets, reference images and statistics
//   3  diffusion/ features/      schedules, samplers, the embedded UNet; the embedded feature networks
//      models/                   model families as their reference code computes them (models/sd: diffusers' UNet,
//                                VAE, CLIP text model and tokenizer, pipeline folders)
//   4  distill/ teacher/         VSD / SDS objectives and trainer; teacher folders
//      pipelines/                a model family joined with the samplers (pipelines/sd: SD's guided and one-step sampling)
//   5  config/                   the experiment schema (it names the algorithms' options, so it sits above them)
//   6  plan/                     experiment file -> validated cells with their identity and slug
//   7  tracking/                 run store, locks, stage interface and cache keys, provenance, result files
//   8  stages/ recipes/          the production stages; training recipes of the embedded networks
//      report/ exec/             reports; the runner, pool and Slurm executors, progress reporters
//   9  cli/                      one module per command; the only place errors become exit codes
// Schedulers (including diffusers' scheduler_config.json) belong to diffusion/; a sampling pipeline that joins a
// model family with them, to pipelines/.
const LAYERS = [
  ['util', 'onnx'],
  ['tensor', 'weights', 'data', 'metrics'],
  ['nn', 'prepare'],
  ['diffusion', 'features', 'models'],
  ['distill', 'teacher', 'pipelines'],
  ['config'],
  ['plan'],
  ['tracking'],
  ['stages', 'recipes', 'report', 'exec'],
  ['cli'],
];

const known = LAYERS.flat();
const folders = (names) => `^src/(${names.join('|')})/`;

/** one rule per layer: its folders import neither a sibling nor anything above ($1 = the importing folder) */
const layerRules = LAYERS.map((layer, i) => ({
  name: `layer-${i}-${layer.join('-')}`,
  comment: `${layer.join(', ')} import only from the layers below: ${LAYERS.slice(0, i).flat().join(', ') || 'none'}`,
  severity: 'error',
  from: { path: folders(layer) },
  to: { path: folders(LAYERS.slice(i).flat()), pathNot: '^src/$1/' },
}));

module.exports = {
  forbidden: [
    ...layerRules,
    {
      name: 'errors-import-nothing',
      comment: 'src/errors.ts is below every layer',
      severity: 'error',
      from: { path: '^src/errors\\.ts$' },
      to: { path: '^src/' },
    },
    {
      name: 'unknown-folder',
      comment: 'every folder under src/ has a place in LAYERS above; add a new one there',
      severity: 'error',
      from: { path: '^src/', pathNot: [`^src/(${known.join('|')})/`, '^src/errors\\.ts$'] },
      to: {},
    },
    {
      name: 'no-folder-cycle',
      comment: 'no two folders (at any depth) import each other, directly or around a loop',
      severity: 'error',
      scope: 'folder',
      from: {},
      to: { circular: true },
    },
    {
      name: 'no-file-cycle',
      severity: 'error',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-tests',
      comment: 'the product never imports its tests, benchmarks or scripts',
      severity: 'error',
      from: { path: '^src/' },
      to: { path: '^(test|bench|scripts)/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(dist|node_modules)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
  },
};
