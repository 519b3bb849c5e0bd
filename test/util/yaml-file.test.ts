import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { z } from 'zod';
import { BadInputError } from '../../src/errors.js';
import { IssuesError } from '../../src/util/issues.js';
import { readYamlFile, YamlSource, type YamlFileKind } from '../../src/util/yaml-file.js';
import { tempDir } from '../helpers/temp.js';

const kind: YamlFileKind = { noun: 'widget', code: 'WIDGET_INVALID', hint: 'fix it', unreadable: 'WIDGET_UNREADABLE' };
const schema = z.strictObject({ name: z.string(), sizes: z.array(z.number()), shape: z.enum(['round', 'square']).optional() });

/** the error's message, one line per issue, and the issues as data */
function failure(file: string): IssuesError {
  try {
    readYamlFile(file, schema, kind);
  } catch (e) {
    assert.ok(e instanceof IssuesError, `expected an IssuesError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the file to be refused');
}

test('a valid file gives the schema output', () => {
  const dir = tempDir({ 'w.yaml': 'name: w\nsizes: [1, 2]\n' });
  assert.deepEqual(readYamlFile(join(dir, 'w.yaml'), schema, kind), { name: 'w', sizes: [1, 2] });
});

test('every schema issue is reported as file:line  dotted.path  message, sorted by line, not only the first', () => {
  const dir = tempDir({ 'w.yaml': 'name: w\nsizes:\n  - 1\n  - two\nshape: oval\ncolour: red\nkolor: blue\n' });
  const file = join(dir, 'w.yaml');
  const e = failure(file);
  assert.equal(e.code, 'WIDGET_INVALID');
  assert.equal(e.hint, 'fix it');
  assert.ok(e instanceof BadInputError, 'exit code 2 at the CLI');
  assert.deepEqual(e.issues.map((i) => [i.line, i.path, i.code]), [
    [4, 'sizes[1]', 'invalid_type'],
    [5, 'shape', 'invalid_value'],
    [6, 'colour', 'unrecognized_keys'],
    [7, 'kolor', 'unrecognized_keys'],
  ]);
  assert.equal(
    e.message,
    [
      '4 problems in the widget:',
      `  ${file}:4  sizes[1]  expected number, got string "two"`,
      `  ${file}:5  shape  must be one of "round", "square", got "oval"`,
      `  ${file}:6  colour  unknown key`,
      `  ${file}:7  kolor  unknown key`,
    ].join('\n'),
  );
});

test('every YAML syntax error is reported with its line, not only the first', () => {
  const dir = tempDir({ 'w.yaml': 'name: w\nname: again\nsizes: [1, 2\nshape: round\n' });
  const e = failure(join(dir, 'w.yaml'));
  assert.ok(e.issues.length >= 2, e.message);
  assert.ok(e.issues.every((i) => i.code === 'yaml_syntax' && typeof i.line === 'number' && i.file === join(dir, 'w.yaml')));
  assert.equal(e.issues[0]?.line, 2, 'the repeated key');
  assert.match(e.issues[0]?.message ?? '', /unique/);
});

test('a missing file is one line with the kind\'s code', () => {
  const dir = tempDir();
  assert.throws(() => readYamlFile(join(dir, 'nope.yaml'), schema, kind), (e: unknown) => {
    assert.ok(e instanceof BadInputError && !(e instanceof IssuesError));
    assert.equal(e.code, 'WIDGET_UNREADABLE');
    assert.equal(e.message, `${join(dir, 'nope.yaml')}: cannot read the widget file (no such file)`);
    return true;
  });
});

test('lineOf finds keys and list elements, and falls back to the deepest written ancestor', () => {
  const dir = tempDir({ 'w.yaml': 'name: w\nsizes:\n  - 1\n  - 2\n' });
  const source = YamlSource.read(join(dir, 'w.yaml'), kind);
  assert.equal(source.lineOf(['sizes', 1]), 4);
  assert.equal(source.lineOf(['sizes', 7]), 2);
  assert.equal(source.lineOf(['missing', 'deeper']), 1);
});
