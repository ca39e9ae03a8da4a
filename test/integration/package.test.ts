// The npm package: `npm pack` holds only what runs, and `npm install -g` of it gives a nosrv command
// that keeps its runtime settings and reads a real HAProxy.

import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { freePort, missingTool, startHaproxy, type Haproxy } from '../support/lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const missing = missingTool('haproxy', 'haproxy');

describe('the npm package', { skip: missing ?? false, timeout: 600_000 }, () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-package-'));
  const prefix = path.join(dir, 'prefix');
  let tarball = '';
  let haproxy: Haproxy;

  before(() => {
    // The test command built dist/ already; packing must not build it again under running tests.
    const packed = spawnSync('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(packed.status, 0, packed.stderr);
    tarball = path.join(dir, (JSON.parse(packed.stdout) as Array<{ filename: string }>)[0]?.filename ?? '');
  });

  after(async () => {
    await haproxy.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('holds only what runs: the compiled code, the runbooks it serves, README and package.json', () => {
    const files = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.trim().split('\n');
    const unexpected = files.filter((f) => !/^package\/(package\.json|README\.md|dist\/src\/.+\.js|docs\/runbooks\/HAProxy\w+\.md)$/.test(f));
    assert.deepEqual(unexpected, []);
    assert.ok(files.includes('package/dist/src/main.js'));
  });

  test('npm install -g gives a nosrv command that keeps its runtime settings and reads HAProxy', async () => {
    const installed = spawnSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], { encoding: 'utf8', timeout: 480_000 });
    assert.equal(installed.status, 0, installed.stderr);
    const nosrv = path.join(prefix, 'bin/nosrv');
    assert.match(readlinkSync(nosrv), /nosrv\/dist\/src\/main\.js$/);
    const shebang = readFileSync(nosrv, 'utf8').split('\n')[0] ?? '';
    assert.match(shebang, /^#!\/usr\/bin\/env -S MALLOC_MMAP_THRESHOLD_=131072 node --max-semi-space-size=\d+/);
    // The settings are written once, in src/main.ts: the installed command carries them as they are.
    assert.equal(shebang, readFileSync(path.join(ROOT, 'src/main.ts'), 'utf8').split('\n')[0]);
    const version = spawnSync(nosrv, ['--version'], { encoding: 'utf8' });
    assert.equal(version.stdout.trim(), `nosrv ${(JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}`);

    haproxy = await startHaproxy({ proxies: `backend be_api\n    server api1 127.0.0.1:${await freePort()} check inter 200ms fall 1\n` });
    // Explained once HAProxy has marked the server DOWN; bounded in count.
    let explained = spawnSync(nosrv, ['explain', `--haproxy.socket=${haproxy.userSocket}`], { encoding: 'utf8' });
    for (let i = 0; i < 20 && explained.status !== 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 250));
      explained = spawnSync(nosrv, ['explain', `--haproxy.socket=${haproxy.userSocket}`], { encoding: 'utf8' });
    }
    assert.equal(explained.status, 1, explained.stdout + explained.stderr);
    assert.match(explained.stdout, /FAILING {2}backend be_api/);
    assert.match(explained.stdout, /\[servers_down\]/);
  });
});
