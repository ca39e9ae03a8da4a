// Debian's podman, as these machines run it: no Docker engine and no registry, so the Dockerfile's
// base image is a stand-in for node:20-bookworm-slim made with debootstrap and this machine's Node.
// The stand-in is built once and kept (its root in a cache folder outside the clone, its image in
// podman's storage); it belongs to the tests only, never to the Dockerfile.

import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** What makes podman work here: runc with cgroupfs (crun fails on these machines' cgroups). */
export const PODMAN = ['--runtime', 'runc', '--cgroup-manager=cgroupfs'];

/**
 * For build and run: podman asks runc for open-file and process limits that this sandbox refuses
 * ("error setting rlimit ... operation not permitted"); these it grants.
 */
export const LIMITS = ['--ulimit', 'nofile=8192:8192', '--ulimit', 'nproc=4096:4096'];

export function podman(args: readonly string[], options: { input?: Buffer; timeoutMs?: number } = {}): SpawnSyncReturns<string> {
  return spawnSync('podman', [...PODMAN, ...args], {
    encoding: 'utf8',
    input: options.input,
    timeout: options.timeoutMs ?? 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function run(command: string, args: readonly string[], what: string): void {
  const done = spawnSync(command, args, { encoding: 'utf8', timeout: 600_000, maxBuffer: 64 * 1024 * 1024 });
  if (done.status !== 0) throw new Error(`${what} failed: ${done.stderr || done.stdout || done.error?.message}`);
}

/** The Debian mirror this machine's apt uses: never written into a project file. */
function aptMirror(): string {
  const sources = ['/etc/apt/sources.list.d/debian.sources', '/etc/apt/sources.list']
    .filter(existsSync)
    .map((f) => readFileSync(f, 'utf8'))
    .join('\n');
  const uri = /^URIs:\s*(\S+)/m.exec(sources)?.[1] ?? /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+bookworm\s/m.exec(sources)?.[1];
  if (!uri) throw new Error("no Debian mirror found in apt's sources");
  return uri;
}

const CACHE = path.join(process.env.XDG_CACHE_HOME ?? path.join(homedir(), '.cache'), 'nosrv-test');

/** The stand-in's tag: one per Node version, since it carries this machine's Node. */
export function standinImage(): string {
  return `localhost/node-standin:${process.version.slice(1)}-bookworm-slim`;
}

/** Builds the stand-in base image unless podman has it already; returns its name. */
export function ensureNodeStandin(): string {
  const image = standinImage();
  if (podman(['image', 'exists', image]).status === 0) return image;
  const root = path.join(CACHE, `bookworm-minbase-${process.version}`);
  if (!existsSync(path.join(root, 'usr/local/bin/node'))) {
    rmSync(root, { recursive: true, force: true });
    mkdirSync(root, { recursive: true });
    run('debootstrap', ['--variant=minbase', 'bookworm', root, aptMirror()], 'debootstrap');
    // This machine's Node where the official image keeps it, with npm and the headers node-gyp needs.
    cpSync(process.execPath, path.join(root, 'usr/local/bin/node'));
    const npmHome = path.resolve(path.dirname(process.execPath), '../lib/node_modules/npm');
    cpSync(npmHome, path.join(root, 'usr/local/lib/node_modules/npm'), { recursive: true });
    symlinkSync('../lib/node_modules/npm/bin/npm-cli.js', path.join(root, 'usr/local/bin/npm'));
    symlinkSync('../lib/node_modules/npm/bin/npx-cli.js', path.join(root, 'usr/local/bin/npx'));
    cpSync(path.resolve(path.dirname(process.execPath), '../include/node'), path.join(root, 'usr/local/include/node'), { recursive: true });
    // What lets npm reach the registry from this network: the stand-in's, not the Dockerfile's.
    mkdirSync(path.join(root, 'etc/ssl/certs'), { recursive: true });
    cpSync('/etc/ssl/certs/ca-certificates.crt', path.join(root, 'etc/ssl/certs/ca-certificates.crt'));
    const globalConfig = spawnSync('npm', ['config', 'get', 'globalconfig'], { encoding: 'utf8' }).stdout.trim();
    const npmrc = [globalConfig, path.join(homedir(), '.npmrc')]
      .filter(existsSync)
      .map((f) => readFileSync(f, 'utf8').replace(/^nodedir=.*$/m, ''))
      .join('\n');
    mkdirSync(path.join(root, 'usr/local/etc'), { recursive: true });
    writeFileSync(path.join(root, 'usr/local/etc/npmrc'), `${npmrc}\nnodedir=/usr/local\n`);
  }
  const tar = spawnSync('tar', ['-C', root, '-c', ...readdirSync(root)], { maxBuffer: 2 * 1024 * 1024 * 1024 });
  if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr.toString()}`);
  const imported = podman(
    [
      'import',
      '--change',
      'CMD ["node"]',
      '--change',
      'ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt',
      '--change',
      'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
      '-',
      image,
    ],
    { input: tar.stdout },
  );
  if (imported.status !== 0) throw new Error(`podman import failed: ${imported.stderr}`);
  return image;
}
