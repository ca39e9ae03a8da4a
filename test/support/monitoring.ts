// A real Prometheus and Alertmanager on loopback (Debian's packages), and a local receiver that
// stands in for PagerDuty, Slack and a heartbeat service: the only parts of the pipeline that
// cannot run here. Every process is stopped by its PID; every wait is bounded.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parse as parseYaml, stringify } from 'yaml';
import { escapeHtml } from '../../src/web/html.js';
import { freePort, stopper, waitFor } from './lab.js';

interface Started {
  readonly url: string;
  readonly dir: string;
  stop(): Promise<void>;
}

/** Starts `command` and waits for `ready` at `url`; stops it (SIGTERM, then SIGKILL) by its PID. */
async function startProcess(command: string, args: readonly string[], dir: string, url: string, ready: string): Promise<Started> {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'], cwd: dir });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString()).slice(-4000);
  });
  const stopChild = stopper(child, 5000);
  const stop = async (): Promise<void> => {
    await stopChild();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await fetch(`${url}${ready}`).catch(() => null))?.ok === true, { timeoutMs: 20_000, what: `${command} to be ready` });
  } catch (err) {
    await stop();
    throw new Error(`${(err as Error).message}; it said: ${stderr.trim()}`);
  }
  return { url, dir, stop };
}

/** Prometheus scraping `targets` (job "nosrv") and evaluating `rules` every `interval` (1s), sending to `alertmanager`. */
export async function startPrometheus(options: { targets: readonly string[]; rules: string; alertmanager: string; interval?: string }): Promise<Started> {
  const interval = options.interval ?? '1s';
  const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-prometheus-'));
  writeFileSync(path.join(dir, 'nosrv.rules.yml'), options.rules);
  writeFileSync(
    path.join(dir, 'prometheus.yml'),
    stringify({
      global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
      rule_files: ['nosrv.rules.yml'],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [options.alertmanager] }] }] },
      scrape_configs: [{ job_name: 'nosrv', static_configs: [{ targets: options.targets }] }],
    }),
  );
  const port = await freePort();
  return startProcess(
    'prometheus',
    [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`],
    dir,
    `http://127.0.0.1:${port}`,
    '/-/ready',
  );
}

/**
 * Alertmanager loading `configFile` (with its templates beside it), changed only where a receiver
 * sends: PagerDuty, Slack and webhook URLs point at `receiver`, and the secret files it names are
 * written with test values.
 */
export async function startAlertmanager(
  configFile: string,
  receiver: string,
  options: { port?: number } = {},
): Promise<Started & { readonly address: string; readonly secrets: ReadonlyMap<string, string> }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'nosrv-alertmanager-'));
  const config = parseYaml(readFileSync(configFile, 'utf8')) as { templates?: string[]; receivers: Array<Record<string, unknown>> };
  for (const template of config.templates ?? []) writeFileSync(path.join(dir, template), readFileSync(path.join(path.dirname(configFile), template)));
  const secrets = new Map<string, string>();
  const secret = (file: string, value: string): string => {
    const local = path.join(dir, 'secrets', path.basename(file));
    mkdirSync(path.dirname(local), { recursive: true });
    writeFileSync(local, value);
    secrets.set(path.basename(file), value);
    return local;
  };
  for (const r of config.receivers) {
    for (const pd of (r.pagerduty_configs ?? []) as Array<Record<string, unknown>>) {
      pd.url = `${receiver}/pagerduty`;
      pd.routing_key_file = secret(pd.routing_key_file as string, 'test-routing-key');
    }
    for (const slack of (r.slack_configs ?? []) as Array<Record<string, unknown>>)
      slack.api_url_file = secret(slack.api_url_file as string, `${receiver}/slack`);
    for (const hook of (r.webhook_configs ?? []) as Array<Record<string, unknown>>) {
      hook.url = `${receiver}/heartbeat`;
      const auth = (hook.http_config as { authorization?: { credentials_file?: string } } | undefined)?.authorization;
      if (auth?.credentials_file) auth.credentials_file = secret(auth.credentials_file, 'test-heartbeat-key');
    }
  }
  writeFileSync(path.join(dir, 'alertmanager.yml'), stringify(config));
  const port = options.port ?? (await freePort());
  const address = `127.0.0.1:${port}`;
  const started = await startProcess(
    'prometheus-alertmanager',
    [
      `--config.file=${path.join(dir, 'alertmanager.yml')}`,
      `--storage.path=${path.join(dir, 'data')}`,
      `--web.listen-address=${address}`,
      '--cluster.listen-address=',
    ],
    dir,
    `http://${address}`,
    '/-/ready',
  );
  return { ...started, address, secrets };
}

export interface Received {
  readonly path: string;
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Record<string, unknown>;
}

/** What a notification says, in one line: a PagerDuty event's summary, a Slack message's title. */
export function notificationTitle(r: Received): string {
  const body = r.body as {
    event_action?: string;
    dedup_key?: string;
    payload?: { summary?: string };
    attachments?: Array<{ title?: string }>;
    alerts?: unknown[];
  };
  if (r.path === '/pagerduty') return `${body.event_action ?? ''}: ${body.payload?.summary ?? body.dedup_key ?? ''}`;
  if (r.path === '/slack') return body.attachments?.[0]?.title ?? '';
  return `${body.alerts?.length ?? 0} alert(s)`;
}

function notificationsPage(received: readonly Received[]): string {
  const rows = [...received]
    .reverse()
    .map(
      (r) =>
        `<tr><td>${new Date(r.at).toISOString().slice(11, 19)}</td><td>${escapeHtml(r.path.slice(1))}</td><td>${escapeHtml(notificationTitle(r))}</td></tr>`,
    );
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="5"><title>notifications</title>
<style>body{font-family:system-ui,sans-serif;margin:2rem}td,th{padding:.2em .6em;text-align:left;border-bottom:1px solid #ddd}</style></head><body>
<h1>What PagerDuty, Slack and the heartbeat service would have received</h1>
<table><tr><th>time (UTC)</th><th>to</th><th>what</th></tr>${rows.join('')}</table>${rows.length === 0 ? '<p>Nothing yet: critical alerts page about a minute after a backend starts answering 503.</p>' : ''}
</body></html>`;
}

/**
 * An HTTP server on loopback that records what Alertmanager sends it, as PagerDuty and Slack would
 * receive it; GET shows what it received.
 */
export async function startReceiver(options: { port?: number } = {}): Promise<{ readonly url: string; readonly received: Received[]; close(): Promise<void> }> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(notificationsPage(received));
      return;
    }
    let body = '';
    req.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    req.on('end', () => {
      received.push({ path: req.url ?? '', at: Date.now(), headers: req.headers, body: JSON.parse(body || '{}') as Record<string, unknown> });
      // PagerDuty's Events API v2 answers 202 with a status; Slack answers 200 "ok".
      if (req.url === '/pagerduty') res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"success","message":"Event processed"}');
      else res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
        server.closeAllConnections();
      }),
  };
}
