// The real Dockerfile, built with Debian's podman on a stand-in for node:20-bookworm-slim, run
// against a real HAProxy whose level user socket is mounted into the container.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ensureNodeStandin, LIMITS, podman } from '../support/container.js';
import { freePort, missingTool, startBackend, startHaproxy, waitFor, type Backend, type Haproxy } from '../support/lab.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const IMAGE = 'localhost/nosrv:test';

/** Podman builds and runs images as root here; elsewhere the test says why it does not run. */
function cannotRun(): string | null {
  const missing =
    missingTool('haproxy', 'haproxy') ?? missingTool('podman', 'podman') ?? missingTool('runc', 'runc') ?? missingTool('debootstrap', 'debootstrap');
  if (missing) return missing;
  if (process.getuid?.() !== 0) {
    const why = 'building the image needs root (podman with runc and debootstrap, as on these machines)';
    if (process.env.CI === 'true') throw new Error(why);
    return why;
  }
  return null;
}

const skip = cannotRun();

describe('the container image', { skip: skip ?? false, timeout: 1_200_000 }, () => {
  let haproxy: Haproxy;
  let backend: Backend;
  let name = '';
  let port = 0;
  let shared = '';

  before(async () => {
    const base = ensureNodeStandin();
    // Docker's image format: OCI's has no HEALTHCHECK.
    const built = podman(['build', ...LIMITS, '--format=docker', '--network=host', '--pull=never', '--build-arg', `NODE_IMAGE=${base}`, '-t', IMAGE, ROOT], {
      timeoutMs: 900_000,
    });
    assert.equal(built.status, 0, built.stderr.slice(-4000));
    backend = await startBackend();
    // The socket the container reads: level user, in a folder of its own, open to nosrv's user.
    shared = mkdtempSync(path.join(tmpdir(), 'nosrv-container-'));
    chmodSync(shared, 0o755);
    haproxy = await startHaproxy({
      proxies: `backend be_app\n    server a1 127.0.0.1:${backend.port} check\nbackend be_empty\n`,
      globalLines: `    stats socket ${shared}/nosrv.sock mode 666 level user`,
    });
    port = await freePort();
    name = `nosrv-test-${process.pid}`;
    const started = podman([
      'run',
      ...LIMITS,
      '-d',
      '--name',
      name,
      '--network=host',
      '-v',
      `${shared}:/run/haproxy:ro`,
      '-e',
      `NOSRV_WEB_LISTEN_ADDRESS=127.0.0.1:${port}`,
      IMAGE,
      '--haproxy.socket=/run/haproxy/nosrv.sock',
    ]);
    assert.equal(started.status, 0, started.stderr);
  });

  after(async () => {
    if (name) podman(['rm', '-f', name]);
    podman(['rmi', '-f', IMAGE]);
    // The build stage's image, left without a name.
    podman(['image', 'prune', '-f']);
    await haproxy.stop();
    await backend.close();
    if (shared) rmSync(shared, { recursive: true, force: true });
  });

  test('reads HAProxy through the mounted level user socket: haproxy_up 1, its backends', async () => {
    let metrics = '';
    await waitFor(
      async () => {
        metrics = (await (await fetch(`http://127.0.0.1:${port}/metrics`).catch(() => null))?.text()) ?? '';
        return /^haproxy_up 1$/m.test(metrics);
      },
      { timeoutMs: 30_000, intervalMs: 250, what: 'haproxy_up 1 from the container' },
    );
    assert.match(metrics, /^haproxy_backend_servers\{proxy="be_app"\} 1$/m);
    assert.match(metrics, /^haproxy_backend_503_cause\{proxy="be_empty",cause="no_servers"\} 1$/m);
  });

  test('runs as a user of its own, not root, with the runtime settings of src/main.ts', () => {
    const uid = podman(['exec', name, 'id', '-u']);
    assert.equal(uid.stdout.trim(), '10001');
    const args = podman(['exec', name, 'cat', '/proc/1/cmdline']);
    const v8Flags = /\bnode (.+)$/.exec(readFileSync(path.join(ROOT, 'src/main.ts'), 'utf8').split('\n')[0] ?? '')?.[1] ?? '';
    assert.match(v8Flags, /--max-semi-space-size=\d+/);
    assert.ok(args.stdout.replaceAll('\0', ' ').includes(v8Flags), `${v8Flags} in ${args.stdout}`);
    const env = podman(['exec', name, 'cat', '/proc/1/environ']);
    assert.match(env.stdout, /MALLOC_MMAP_THRESHOLD_=131072/);
  });

  test('its health check passes', () => {
    const health = podman(['healthcheck', 'run', name]);
    assert.equal(health.status, 0, health.stdout + health.stderr);
  });

  test('its size', (t) => {
    const size = Number(podman(['image', 'inspect', IMAGE, '--format', '{{.Size}}']).stdout.trim());
    t.diagnostic(`image size: ${(size / 1e6).toFixed(0)} MB (on the debootstrap stand-in for node:20-bookworm-slim)`);
    assert.ok(size > 0 && size < 500e6, `${size} bytes`);
  });
});
