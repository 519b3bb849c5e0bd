// Paths in experiment files stay inside the workspace (issue 18, security): an asset or a command stage's folder
// that leads elsewhere — by `../`, an absolute path, a symlink or a `--set` — is refused before anything is read,
// with exit 2 and one line naming the file:line, the key and the resolved path, unless the user allows it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, readdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';
import { isInside, realPathOf, workspaceOf } from '../../src/plan/workspace.js';
import { planExperiment } from '../../src/plan/plan.js';
import { BadInputError } from '../../src/errors.js';

/** <root>/ws is a project (package.json) holding the experiment; <root>/outside/secret.txt is not in it */
function layout(experiment: string): { ws: string; outside: string } {
  const root = realpathSync(tempDir({ 'ws/package.json': '{}', 'ws/sub/keep': '', 'outside/secret.txt': 'secret\n' }));
  const ws = join(root, 'ws');
  symlinkSync(join(root, 'outside'), join(ws, 'shared'));
  writeFileSync(join(ws, 'exp.yaml'), experiment);
  return { ws, outside: join(root, 'outside') };
}

const exp = (lines: string): string => `name: t\nbase:\n${lines}`;

const refused = (r: { code: number; stdout: string; stderr: string }, line: RegExp): void => {
  assert.equal(r.code, 2, `${r.stdout}\n${r.stderr}`);
  const [first, ...rest] = r.stderr.trimEnd().split('\n');
  assert.match(first!, line);
  assert.deepEqual(rest.filter((l) => !l.startsWith('hint: ')), [], 'one line, a hint, no stack trace');
};

test('an asset written as ../ out of the workspace is refused with file:line, key and resolved path; --allow-outside-workspace allows it', () => {
  const { ws, outside } = layout(exp('  teacher.model: ../outside/secret.txt\n'));
  refused(vsdlab(['plan', 'exp.yaml'], { cwd: ws }), new RegExp(`^vsdlab: exp\\.yaml:3: teacher\\.model = \\.\\./outside/secret\\.txt resolves to ${outside}/secret\\.txt, outside the workspace \\(${ws}\\)$`));
  assert.equal(vsdlab(['plan', 'exp.yaml', '--allow-outside-workspace'], { cwd: ws }).code, 0);
  assert.equal(vsdlab(['plan', 'exp.yaml'], { cwd: ws, env: { VSDLAB_ALLOW_OUTSIDE_WORKSPACE: '1' } }).code, 0);
});

test('an absolute asset path outside the workspace is refused by plan, run and status alike', () => {
  const { ws } = layout(exp('  distill.steps: 2\n  distill.prompts: /etc/secret.txt\n'));
  for (const cmd of ['plan', 'run', 'status']) {
    const r = vsdlab([cmd, 'exp.yaml', '--store', join(ws, 'runs')], { cwd: ws });
    if (r.code === 2 && /CONFIG|problem/.test(r.stderr)) assert.fail(`the fixture is not a valid experiment: ${r.stderr}`);
    refused(r, /^vsdlab: exp\.yaml:4: distill\.prompts = \/etc\/secret\.txt resolves to \/etc\/secret\.txt, outside the workspace/);
  }
  assert.equal(readdirSync(ws).includes('runs'), false, 'nothing was started');
});

test('a symlink inside the workspace that points outside is caught, for a file under it and for the link itself', () => {
  const { ws, outside } = layout(exp('  teacher.model: shared/secret.txt\n  distill.prompts: shared/none-yet.txt\n'));
  refused(vsdlab(['plan', 'exp.yaml'], { cwd: ws }), new RegExp(`^vsdlab: exp\\.yaml:3: teacher\\.model = shared/secret\\.txt resolves to ${outside}/secret\\.txt, .* \\(and 1 more\\)$`));
  // the missing file is judged by where its existing parent really is
  assert.equal(realPathOf(join(ws, 'shared/none-yet.txt')), join(outside, 'none-yet.txt'));
  // `shared/..` is the link target's parent, as the kernel reads it, not the workspace
  assert.equal(realPathOf(`${ws}/shared/../outside/secret.txt`), join(outside, 'secret.txt'));
  assert.equal(vsdlab(['plan', 'exp.yaml', '--allow-outside-workspace'], { cwd: ws }).code, 0);
});

test('a path through .. that stays inside the workspace is accepted, and an experiment run from another folder still finds its own project', () => {
  const { ws } = layout(exp('  teacher.model: sub/../sub/keep\n'));
  const r = vsdlab(['plan', 'exp.yaml'], { cwd: ws });
  assert.equal(r.code, 0, r.stderr);
  // from the vsdlab checkout: the experiment's project and the working directory's both count
  const abs = layout(exp(`  teacher.model: WS/sub/keep\n`).replace('WS', ws));
  const from = vsdlab(['plan', join(abs.ws, 'exp.yaml')]);
  assert.equal(from.code, 2, 'a third project is neither the working directory nor the file\'s');
  assert.match(from.stderr, /teacher\.model = .*\/ws\/sub\/keep resolves to/);
});

test('a command stage folder outside the workspace and a --set value outside it are refused, naming where they came from', () => {
  const { ws } = layout(exp('  distill.command:\n    argv: [python3, train.py]\n    cwd: /\n'));
  refused(vsdlab(['plan', 'exp.yaml'], { cwd: ws }), /^vsdlab: exp\.yaml:\d+: distill\.command\.cwd = \/ resolves to \/, outside the workspace/);
  const clean = layout(exp('  distill.steps: 2\n'));
  refused(
    vsdlab(['plan', 'exp.yaml', '--set', 'teacher.model=../outside/secret.txt'], { cwd: clean.ws }),
    new RegExp(`^vsdlab: ${clean.ws}/exp\\.yaml \\(--set teacher\\.model=\\.\\./outside/secret\\.txt\\): teacher\\.model = `),
  );
});

test('the library refuses too (no flag means no reading outside) and hashes nothing it refused', async () => {
  const { ws } = layout(exp('  teacher.model: /etc/hostname\n'));
  const hashed: string[] = [] as string[];
  const hashAsset = async (p: string): Promise<null> => {
    hashed.push(p);
    return null;
  };
  await assert.rejects(planExperiment(join(ws, 'exp.yaml'), { hashAsset }), (e: unknown) => e instanceof BadInputError && e.code === 'PATH_OUTSIDE_WORKSPACE');
  assert.deepEqual(hashed, []);
  const plan = await planExperiment(join(ws, 'exp.yaml'), { hashAsset, allowOutsideWorkspace: true });
  assert.equal(plan.cells.length, 1);
  assert.ok((hashed as string[]).includes('/etc/hostname'));
});

test('pool workers and Slurm tasks inherit the choice: the array script repeats --allow-outside-workspace', () => {
  for (const allow of [['--allow-outside-workspace'], []]) {
    const { ws } = layout(exp('  teacher.model: ../outside/secret.txt\n'));
    const store = join(ws, 'runs');
    const env: Record<string, string> = allow.length === 0 ? { VSDLAB_ALLOW_OUTSIDE_WORKSPACE: '1' } : {};
    const r = vsdlab(['run', 'exp.yaml', '--store', store, '--executor', 'slurm', '--dry-run', ...allow], { cwd: ws, env });
    assert.equal(r.code, 0, r.stderr);
    const script = readFileSync(join(store, 't', 'slurm', 'array.sbatch'), 'utf8');
    assert.match(script, /--allow-outside-workspace/);
  }
  const { ws } = layout(exp('  teacher.model: sub/keep\n'));
  mkdirSync(join(ws, 'runs'));
  assert.equal(vsdlab(['run', 'exp.yaml', '--store', join(ws, 'runs'), '--executor', 'slurm', '--dry-run'], { cwd: ws }).code, 0);
  assert.doesNotMatch(readFileSync(join(ws, 'runs', 't', 'slurm', 'array.sbatch'), 'utf8'), /--allow-outside-workspace/);
});

test('workspaceOf: the projects (nearest .git or package.json) of the working directory and of the experiment file', () => {
  const root = realpathSync(tempDir({ 'a/.git/HEAD': '', 'a/deep/er/exp.yaml': '', 'b/package.json': '{}', 'b/c/d': '' }));
  assert.deepEqual(workspaceOf(join(root, 'a/deep/er/exp.yaml'), join(root, 'b/c')), [join(root, 'b'), join(root, 'a')]);
  assert.deepEqual(workspaceOf(join(root, 'a/deep/er/exp.yaml'), join(root, 'a/deep')), [join(root, 'a')]);
  assert.ok(isInside('/w', '/w') && isInside('/w', '/w/x') && !isInside('/w', '/w2') && !isInside('/w', '/') && !isInside('/w', '/w/../x'.replace('/w/..', '')));
});

test('an `extends` target out of the workspace (by ../, an absolute path or a symlink) is refused before it is read; inside, or allowed, it loads', async () => {
  const parent = 'name: p\nbase:\n  distill.steps: 3\n';
  const { ws, outside } = layout('name: t\nextends: ../outside/parent.yaml\n');
  writeFileSync(join(outside, 'parent.yaml'), parent);
  refused(vsdlab(['plan', 'exp.yaml'], { cwd: ws }), new RegExp(`^vsdlab: exp\\.yaml:2: extends = \\.\\./outside/parent\\.yaml resolves to ${outside}/parent\\.yaml, outside the workspace \\(${ws}\\)$`));
  assert.equal(vsdlab(['plan', 'exp.yaml', '--allow-outside-workspace'], { cwd: ws }).code, 0);
  assert.equal(vsdlab(['plan', 'exp.yaml'], { cwd: ws, env: { VSDLAB_ALLOW_OUTSIDE_WORKSPACE: '1' } }).code, 0);
  // through the symlink ws/shared -> outside, and as an absolute path
  writeFileSync(join(ws, 'exp.yaml'), 'name: t\nextends: shared/parent.yaml\n');
  refused(vsdlab(['plan', 'exp.yaml'], { cwd: ws }), new RegExp(`^vsdlab: exp\\.yaml:2: extends = shared/parent\\.yaml resolves to ${outside}/parent\\.yaml, outside`));
  writeFileSync(join(ws, 'exp.yaml'), `name: t\nextends: ${join(outside, 'parent.yaml')}\n`);
  refused(vsdlab(['plan', 'exp.yaml'], { cwd: ws }), /^vsdlab: exp\.yaml:2: extends = \/.*\/outside\/parent\.yaml resolves to .*, outside/);
  // a second step of the chain that leads out is caught too, naming the file that wrote it
  writeFileSync(join(ws, 'sub', 'mid.yaml'), 'name: m\nextends: ../../outside/parent.yaml\n');
  writeFileSync(join(ws, 'exp.yaml'), 'name: t\nextends: sub/../sub/mid.yaml\n');
  refused(vsdlab(['plan', 'exp.yaml'], { cwd: ws }), new RegExp(`^vsdlab: ${ws}/sub/mid\\.yaml:2: extends = \\.\\./\\.\\./outside/parent\\.yaml resolves to ${outside}/parent\\.yaml`));
  // the library: nothing outside was read (a file that is not YAML there would otherwise be a parse error)
  writeFileSync(join(outside, 'parent.yaml'), '{{{ not yaml');
  writeFileSync(join(ws, 'exp.yaml'), 'name: t\nextends: ../outside/parent.yaml\n');
  await assert.rejects(planExperiment(join(ws, 'exp.yaml'), { hashAsset: async () => null }), (e: unknown) => e instanceof BadInputError && e.code === 'PATH_OUTSIDE_WORKSPACE');
  // inside the workspace, through `..` that stays in, it loads and its values count
  writeFileSync(join(ws, 'sub', 'parent.yaml'), parent);
  writeFileSync(join(ws, 'exp.yaml'), 'name: t\nextends: sub/../sub/parent.yaml\n');
  const plan = await planExperiment(join(ws, 'exp.yaml'), { hashAsset: async () => null });
  assert.equal(plan.cells[0]!.config.distill.steps, 3);
});
