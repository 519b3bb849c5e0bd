import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { AssetHashCache } from '../../src/util/asset-hash-cache.js';
import { sha256Path } from '../../src/util/hash.js';
import { vsdlab } from '../helpers/cli.js';
import { tempDir } from '../helpers/temp.js';

const OLD = 1_600_000_000; // seconds: far older than the racy margin
/** writes content and dates it `when` (default: long ago, so its hash may be cached) */
const put = (path: string, content: string, when = OLD): void => {
  writeFileSync(path, content);
  utimesSync(path, when, when);
};
const cacheFile = (dir: string): string => join(dir, 'cache', 'asset-hashes');

function folder(): string {
  const dir = tempDir({ 'asset/a.png': '', 'asset/sub/b.png': '', 'asset/.hidden': 'x' });
  put(join(dir, 'asset/a.png'), 'image a');
  put(join(dir, 'asset/sub/b.png'), 'image b');
  return dir;
}

test('a cached folder hash equals sha256Path, and a second process reads it from the cache file', async () => {
  const dir = folder();
  const asset = join(dir, 'asset');
  const first = AssetHashCache.open(cacheFile(dir));
  assert.equal(await first.hashPath(asset), await sha256Path(asset));
  assert.equal(await first.save(), true);
  // same size, mtime and inode, other bytes: only a cache hit can still give the old value
  put(join(asset, 'a.png'), 'image A');
  const second = AssetHashCache.open(cacheFile(dir));
  assert.notEqual(await second.hashPath(asset), await sha256Path(asset));
  assert.equal(await second.save(), false, 'nothing new to write');
});

test('a changed mtime, size or inode re-hashes that file', async () => {
  const dir = folder();
  const asset = join(dir, 'asset');
  const file = join(asset, 'a.png');
  const cache = AssetHashCache.open(cacheFile(dir));
  await cache.hashPath(asset);
  put(file, 'image A', OLD + 10); // same size, new mtime
  assert.equal(await cache.hashPath(asset), await sha256Path(asset));
  put(file, 'image AA', OLD + 10); // same mtime, new size
  assert.equal(await cache.hashPath(asset), await sha256Path(asset));
  const replacement = join(dir, 'replacement');
  put(replacement, 'image AB', OLD + 10); // same size and mtime, another inode
  const ino = statSync(file).ino;
  renameSync(replacement, file);
  assert.notEqual(statSync(file).ino, ino);
  assert.equal(await cache.hashPath(asset), await sha256Path(asset));
});

test('a file modified moments before hashing is not cached: a same-tick rewrite cannot be missed', async () => {
  const dir = tempDir({ 'model.bin': 'weights 1' });
  const file = join(dir, 'model.bin');
  const cache = AssetHashCache.open(cacheFile(dir));
  await cache.hashPath(file);
  const { mtime } = statSync(file);
  writeFileSync(file, 'weights 2');
  utimesSync(file, mtime, mtime);
  assert.equal(await cache.hashPath(file), await sha256Path(file));
  await cache.save();
  assert.deepEqual(AssetHashCache.open(cacheFile(dir)).cachedFiles(file), []);
});

test('a corrupt, foreign or malformed cache file is ignored and rebuilt', async () => {
  const dir = folder();
  const asset = join(dir, 'asset');
  const path = cacheFile(dir);
  const first = AssetHashCache.open(path);
  await first.hashPath(asset);
  await first.save();
  const [shard] = readdirSync(path).filter((n) => n.endsWith('.json'));
  const good = readFileSync(join(path, shard!), 'utf8');
  const entry = JSON.parse(good).entries['a.png'];
  const variants = [
    good.slice(0, good.length / 2),
    'null',
    '[1,2]',
    good.replace('"version":2', '"version":99'),
    good.replace(`"root":${JSON.stringify(asset)}`, '"root":"/elsewhere"'),
    JSON.stringify({ version: 2, root: asset, entries: { 'a.png': [...entry.slice(0, 4), 'f'.repeat(63)], 'sub/b.png': 'x' } }),
  ];
  for (const garbage of variants) {
    // a wrong sha256 under a matching stat: served only if the damaged file were trusted
    put(join(asset, 'a.png'), 'image A');
    writeFileSync(join(path, shard!), garbage);
    const cache = AssetHashCache.open(path);
    assert.deepEqual(cache.cachedFiles(asset), [], garbage.slice(0, 40));
    assert.equal(await cache.hashPath(asset), await sha256Path(asset));
    await cache.save();
    assert.deepEqual(AssetHashCache.open(path).cachedFiles(asset), ['a.png', 'sub/b.png']);
    put(join(asset, 'a.png'), 'image a');
  }
});

test('two processes saving at once keep both their entries', async () => {
  const dir = folder();
  const asset = join(dir, 'asset');
  const path = cacheFile(dir);
  const a = AssetHashCache.open(path);
  const b = AssetHashCache.open(path);
  put(join(asset, 'sub/b.png'), 'image b', Date.now() / 1000); // too fresh for a to cache
  await a.hashPath(asset);
  put(join(asset, 'sub/b.png'), 'image b');
  put(join(asset, 'a.png'), 'image a', Date.now() / 1000); // too fresh for b to cache
  await b.hashPath(asset);
  assert.deepEqual([a.cachedFiles(asset), b.cachedFiles(asset)], [['a.png'], ['sub/b.png']]);
  await Promise.all([a.save(), b.save()]);
  assert.deepEqual(AssetHashCache.open(path).cachedFiles(asset), ['a.png', 'sub/b.png']);
});

test('verifyPath names the file whose content changed under an unchanged stat, and corrects the cache', async () => {
  const dir = folder();
  const asset = join(dir, 'asset');
  const cache = AssetHashCache.open(cacheFile(dir));
  await cache.hashPath(asset);
  put(join(asset, 'sub/b.png'), 'image B');
  const { sha256, files } = await cache.verifyPath(asset);
  assert.equal(sha256, await sha256Path(asset));
  assert.deepEqual(files.map((f) => [f.path, f.status]), [[join(asset, 'a.png'), 'unchanged'], [join(asset, 'sub/b.png'), 'content-changed-same-stat']]);
  assert.equal(await cache.hashPath(asset), sha256);
});

test('vsdlab verify exits 1 naming a file changed behind the cache; plan then sees the new content', () => {
  const dir = folder();
  const env = { VSDLAB_ASSET_CACHE: cacheFile(dir) };
  const exp = join(dir, 'e.yaml');
  writeFileSync(exp, `name: v\nbase:\n  teacher:\n    model: ${join(dir, 'asset')}\n`);
  const planId = (): string => JSON.parse(vsdlab(['plan', exp, '--json'], { env }).stdout).cells[0].id;
  // (hashing that is over within a second says nothing, unless progress lines are asked for every 0 s)
  const first = vsdlab(['plan', exp], { env: { ...env, VSDLAB_PROGRESS_SECONDS: '0' } });
  assert.match(first.stderr, new RegExp(`^hash ${join(dir, 'asset')}: 2/2 files in `, 'm'), 'the files read are shown');
  assert.equal(vsdlab(['plan', exp], { env: { ...env, VSDLAB_PROGRESS_SECONDS: '0' } }).stderr, '', 'a cached plan reads no file and says nothing');
  put(join(dir, 'asset/a.png'), 'image a', OLD + 5);
  assert.equal(vsdlab(['plan', exp], { env }).stderr, '', 'one small file read again is no news');
  put(join(dir, 'asset/a.png'), 'image a');
  const before = planId();
  const clean = vsdlab(['verify', exp], { env });
  assert.equal(clean.code, 0, clean.stderr);
  assert.match(clean.stdout, /asset \(teacher\.model\): 2 files/);
  put(join(dir, 'asset/a.png'), 'image A');
  assert.equal(planId(), before, 'the stat cache cannot see this change');
  const caught = vsdlab(['verify', exp, '--json'], { env });
  assert.equal(caught.code, 1);
  const report = JSON.parse(caught.stdout);
  assert.equal(report.ok, false);
  assert.deepEqual(report.changed_without_stat_change.map((c: { path: string }) => c.path), [join(dir, 'asset/a.png')]);
  assert.notEqual(planId(), before);
  assert.equal(vsdlab(['verify', join(dir, 'asset')], { env }).code, 0);
  const missing = vsdlab(['verify', join(dir, 'nope')], { env });
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope: no such file or folder/);
});
