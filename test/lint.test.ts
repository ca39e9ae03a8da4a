// The code's format (Prettier) and typescript-eslint's strict, type-checked rules hold over all of
// src/, test/, bench/, scripts/ and grafana/: `npm run format` and `npm run lint -- --fix` mend most.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

function run(bin: string, args: readonly string[]): Promise<{ status: number; output: string }> {
  return new Promise((resolve) => {
    execFile(path.join(ROOT, 'node_modules/.bin', bin), [...args], { cwd: ROOT, maxBuffer: 16 * 1024 * 1024, timeout: 300_000 }, (error, stdout, stderr) => {
      resolve({ status: error ? (typeof error.code === 'number' ? error.code : 1) : 0, output: `${stdout}${stderr}` });
    });
  });
}

describe('lint and format', () => {
  test('Prettier: every file formatted', async () => {
    const { status, output } = await run('prettier', ['--check', '.']);
    assert.equal(status, 0, output);
  });

  test('typescript-eslint strict type-checked: no problem', async () => {
    const { status, output } = await run('eslint', ['--max-warnings=0', '.']);
    assert.equal(status, 0, output);
  });
});
