// runs an onnx model once with onnxruntime-node on a raw little-endian float32 input (for the python export
// checks when the onnxruntime python package is absent).
// usage: node tools/ort_run.mjs MODEL.onnx INPUT.f32 N,C,H,W OUTDIR [INPUT_NAME[:int64|int32]]
// writes OUTDIR/<output>.f32 for every output and prints {output: shape} as json (and its peak RSS on stderr).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ort from 'onnxruntime-node';

const [model, inputPath, shapeText, outDir, inputSpec = ''] = process.argv.slice(2);
if (!model || !inputPath || !shapeText || !outDir) {
  console.error('usage: node tools/ort_run.mjs MODEL.onnx INPUT.f32 N,C,H,W OUTDIR [INPUT_NAME[:int64|int32]]');
  process.exit(2);
}
const shape = shapeText.split(',').map(Number);
const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
const [name = session.inputNames[0], kind = 'float32'] = inputSpec.split(':').filter(Boolean);
const bytes = readFileSync(inputPath);
const floats = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
let tensor;
if (kind === 'int64') tensor = new ort.Tensor('int64', BigInt64Array.from(floats, (v) => BigInt(Math.round(v))), shape);
else if (kind === 'int32') tensor = new ort.Tensor('int32', Int32Array.from(floats, (v) => Math.round(v)), shape);
else tensor = new ort.Tensor('float32', floats, shape);
const results = await session.run({ [name]: tensor });
const shapes = {};
for (const [key, value] of Object.entries(results)) {
  const data = value.data instanceof Float32Array ? value.data : Float32Array.from(value.data, Number);
  writeFileSync(join(outDir, `${key}.f32`), Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  shapes[key] = value.dims;
}
console.log(JSON.stringify(shapes));
// this process's own peak memory (VmHWM belongs to the address space exec made; getrusage's maxrss would include
// the python parent's before exec), for the export scripts' figures
if (existsSync('/proc/self/status')) {
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'));
  if (hwm) console.error(`peak_rss_kib ${hwm[1]}`);
}
