// Configs are written as Python's json.dumps(indent=2, sort_keys=True) writes them (diffusers, PEFT).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pythonFloat, pythonJson } from '../../../src/models/sd/python-json.js';

test("floats in Python's repr", () => {
  // each right-hand side is what CPython 3.11 prints for repr(float(x))
  const cases: Array<[number, string]> = [[0, '0.0'], [1, '1.0'], [1e-5, '1e-05'], [1e-6, '1e-06'], [1.5e-5, '1.5e-05'], [0.0001, '0.0001'], [0.18215, '0.18215'], [12.5, '12.5'], [1e16, '1e+16'], [123456789012345680, '1.2345678901234568e+17'], [-2.5e-7, '-2.5e-07'], [1e15, '1000000000000000.0']];
  for (const [x, want] of cases) assert.equal(pythonFloat(x), want, String(x));
});

test('keys sorted at every depth, two-space indent, named keys as floats, non-ASCII escaped', () => {
  const text = pythonJson({ b: [1, 2], a: { z: 1, y: 0 }, eps: 1e-5, name: 'é' }, new Set(['eps', 'y']));
  assert.equal(text, '{\n  "a": {\n    "y": 0.0,\n    "z": 1\n  },\n  "b": [\n    1,\n    2\n  ],\n  "eps": 1e-05,\n  "name": "\\u00e9"\n}');
});
