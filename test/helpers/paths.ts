import { fileURLToPath } from 'node:url';
import { resolve } from 'node:path';

// tests run from dist/test/...; fixtures and goldens stay in the source tree
export const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');
export const fromRoot = (...parts: string[]): string => resolve(repoRoot, ...parts);
