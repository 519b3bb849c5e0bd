// `node scripts/profile-study.js <store>/<experiment name> [--json]`: where a study's time went, as Markdown
// tables (BENCHMARKS.md "Profile of the embedded study"). Reads what `vsdlab run` left in each cell folder:
// stages.json (wall seconds of every stage, cached or computed), status.json (the cell's start and end) and,
// when the run had VSDLAB_PROFILE=1, profile/<stage>.json (process CPU seconds, CPU ms and calls per tfjs
// kernel) and the evaluate stage's history.jsonl (wall and CPU seconds per metric).
// Example:
//   VSDLAB_PROFILE=1 VSDLAB_STORE=/tmp/p npm start -- --profile lite && node scripts/profile-study.js /tmp/p/embedded-ablation-lite
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const args = process.argv.slice(2);
const root = args.find((a) => !a.startsWith('--'));
if (!root || !existsSync(root)) {
  console.error('usage: node scripts/profile-study.js <store>/<experiment name> [--json]');
  process.exit(2);
}
const readJson = (p) => (existsSync(p) ? JSON.parse(readFileSync(p, 'utf8')) : undefined);

// kernel classes: what the time is spent on, at the granularity the fixes work at
const CLASSES = [
  ['conv (forward, routed gradients)', /^(Conv2D|FusedConv2D|Conv2DBackpropInput|Conv2DBackpropFilter|DepthwiseConv2dNative.*)$/],
  ['matMul (attention, linear)', /^(BatchMatMul|_FusedMatMul)$/],
  ['fused norms and activations (JS)', /(GroupNorm|LayerNorm|Geglu|GEGLU|Silu|SiLU)/i],
  ['element-wise math', /^(Add|AddN|Sub|Multiply|RealDiv|Maximum|Minimum|Sqrt|Rsqrt|Square|SquaredDifference|Exp|Log|Log1p|Tanh|Sigmoid|Neg|Abs|Pow|ClipByValue|Round|Floor|Step|Relu|Elu|Softmax|Sin|Cos|Less|LessEqual|Greater|GreaterEqual|Equal|NotEqual|Select|LogicalAnd|LogicalOr|LogicalNot|IsNan|Sign|Erf|FloorDiv|Mod|Reciprocal|Expm1)$/],
  ['reductions', /^(Sum|Mean|Max|Min|Prod|ArgMax|ArgMin|All|Any)$/],
  ['data movement (copies, layout)', /^(Transpose|Concat|Reshape|Slice|StridedSlice|SplitV|Pack|Unpack|Tile|Pad|PadV2|MirrorPad|Identity|Cast|GatherV2|GatherNd|Fill|ZerosLike|OnesLike|Range|BroadcastTo|DepthToSpace|SpaceToDepth|Reverse|ResizeNearestNeighbor|ResizeBilinear|ScatterNd)$/],
];
const classOf = (name) => CLASSES.find(([, re]) => re.test(name))?.[0] ?? 'other kernels';

const cells = readdirSync(root).filter((n) => existsSync(join(root, n, 'stages.json'))).sort();
const stageNames = ['distill', 'generate', 'evaluate'];
const perStage = Object.fromEntries(stageNames.map((s) => [s, { computed: 0, cached: 0, wall: 0, cpu: 0, kernelCpu: 0, profiled: 0, classes: {}, kernels: {} }]));
const perMetric = {};
const cellRows = [];
let first = Infinity;
let last = -Infinity;
for (const cell of cells) {
  const dir = join(root, cell);
  const stages = readJson(join(dir, 'stages.json'));
  const status = readJson(join(dir, 'status.json'));
  if (status?.started) first = Math.min(first, Date.parse(status.started));
  if (status?.ended) last = Math.max(last, Date.parse(status.ended));
  const row = { cell, wall: {}, cpu: {} };
  for (const s of stageNames) {
    const st = stages[s];
    if (!st) continue;
    const agg = perStage[s];
    if (st.cached) {
      agg.cached++;
      continue;
    }
    agg.computed++;
    agg.wall += st.seconds;
    row.wall[s] = st.seconds;
    const prof = readJson(join(dir, 'profile', `${s}.json`));
    if (prof) {
      agg.profiled++;
      agg.cpu += prof.cpu_seconds;
      agg.kernelCpu += prof.kernel_cpu_seconds;
      row.cpu[s] = prof.cpu_seconds;
      for (const [name, k] of Object.entries(prof.kernels)) {
        const c = classOf(name);
        agg.classes[c] = (agg.classes[c] ?? 0) + k.ms / 1000;
        const e = (agg.kernels[name] ??= { s: 0, calls: 0 });
        e.s += k.ms / 1000;
        e.calls += k.calls;
      }
    }
    if (s === 'evaluate' && existsSync(join(st.dir, 'history.jsonl'))) {
      for (const line of readFileSync(join(st.dir, 'history.jsonl'), 'utf8').split('\n').filter(Boolean)) {
        const h = JSON.parse(line);
        if (typeof h.metric !== 'string') continue;
        const m = (perMetric[h.metric] ??= { n: 0, wall: 0, cpu: 0 });
        m.n++;
        m.wall += h.seconds;
        m.cpu += h.cpu_seconds;
      }
    }
  }
  cellRows.push(row);
}

const f = (x, d = 1) => (x === undefined ? '' : x.toFixed(d));
const pct = (a, b) => (b > 0 ? `${((100 * a) / b).toFixed(0)} %` : '');
const out = [];
const span = Number.isFinite(first) && Number.isFinite(last) ? (last - first) / 1000 : undefined;
out.push(`${cells.length} cells in ${root}${span !== undefined ? `; first cell start to last cell end ${f(span, 0)} s wall` : ''}`);
out.push('');
out.push('| stage | computed (cached) | wall s, sum | profiled | CPU s, sum | in tfjs kernels | outside kernels | CPU s per profiled cell |');
out.push('|---|---|---|---|---|---|---|---|');
for (const s of stageNames) {
  const a = perStage[s];
  if (a.computed + a.cached === 0) continue;
  const cpu = a.profiled ? f(a.cpu) : 'n/a';
  out.push(`| ${s} | ${a.computed} (${a.cached}) | ${f(a.wall)} | ${a.profiled} | ${cpu} | ${a.profiled ? `${f(a.kernelCpu)} (${pct(a.kernelCpu, a.cpu)})` : ''} | ${a.profiled ? `${f(a.cpu - a.kernelCpu)} (${pct(a.cpu - a.kernelCpu, a.cpu)})` : ''} | ${a.profiled ? f(a.cpu / a.profiled, 2) : ''} |`);
}
const profiled = stageNames.filter((s) => perStage[s].profiled > 0);
if (profiled.length > 0) {
  out.push('');
  out.push(`| kernel class (CPU s, share of the stage's CPU) | ${profiled.join(' | ')} |`);
  out.push(`|---|${profiled.map(() => '---').join('|')}|`);
  const names = [...CLASSES.map(([n]) => n), 'other kernels'];
  for (const c of names) out.push(`| ${c} | ${profiled.map((s) => `${f(perStage[s].classes[c] ?? 0)} (${pct(perStage[s].classes[c] ?? 0, perStage[s].cpu)})`).join(' | ')} |`);
  out.push(`| outside kernels (tfjs engine and tape, JS, onnxruntime, PNG coding, I/O) | ${profiled.map((s) => `${f(perStage[s].cpu - perStage[s].kernelCpu)} (${pct(perStage[s].cpu - perStage[s].kernelCpu, perStage[s].cpu)})`).join(' | ')} |`);
  out.push('');
  out.push('| largest kernels (all stages) | CPU s | calls | µs per call |');
  out.push('|---|---|---|---|');
  const all = {};
  for (const s of profiled) for (const [n, k] of Object.entries(perStage[s].kernels)) {
    const e = (all[n] ??= { s: 0, calls: 0 });
    e.s += k.s;
    e.calls += k.calls;
  }
  for (const [n, k] of Object.entries(all).sort((a, b) => b[1].s - a[1].s).slice(0, 15)) out.push(`| ${n} | ${f(k.s)} | ${k.calls} | ${f((1e6 * k.s) / k.calls)} |`);
}
if (profiled.length > 0) {
  out.push('');
  out.push(`| cell (CPU s) | ${stageNames.join(' | ')} |`);
  out.push(`|---|${stageNames.map(() => '---').join('|')}|`);
  for (const r of cellRows) if (Object.keys(r.cpu).length > 0) out.push(`| ${r.cell.replace(/-[0-9a-f]{8}$/, '')} | ${stageNames.map((s) => f(r.cpu[s])).join(' | ')} |`);
}
if (Object.keys(perMetric).length > 0) {
  out.push('');
  out.push('| evaluate, per metric | cells | wall s, sum | CPU s, sum | wall s per cell |');
  out.push('|---|---|---|---|---|');
  for (const [m, a] of Object.entries(perMetric)) out.push(`| ${m} | ${a.n} | ${f(a.wall)} | ${f(a.cpu)} | ${f(a.wall / a.n, 2)} |`);
}
if (args.includes('--json')) console.log(JSON.stringify({ root, cells: cellRows, perStage, perMetric }, null, 2));
else console.log(out.join('\n'));
