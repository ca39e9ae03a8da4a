// The HTTP face: `/`, `/metrics`, `/healthz`, `/ready`. Built here, listened on elsewhere, so
// tests talk to the same app the daemon serves.

import express, { type Express, type Request, type RequestHandler } from 'express';
import type { Registry } from 'prom-client';
import type { CollectOptions } from '../config.js';
import { ExpositionWriter } from '../metrics/exposition.js';
import { explainText } from '../explainText.js';
import { HaproxyMetrics } from '../metrics/haproxy.js';
import { writeLogMetrics } from '../metrics/logs.js';
import type { LogIngest } from '../logs/ingest.js';
import type { LogReceiver } from '../logs/receiver.js';
import { explainPage } from './explainPage.js';
import type { HaproxyReader } from '../reader.js';
import { VERSION } from '../version.js';
import { escapeHtml } from './html.js';
import type { WebConfig } from '../webConfig.js';
import { basicAuth } from './basicAuth.js';
import { loadRunbooks, runbookIndex, runbookPage } from './runbooks.js';
import { alertsPage, alertsReport } from './alertsPage.js';
import type { Alerting } from '../alerting/dispatcher.js';

export interface AppDeps {
  readonly reader: HaproxyReader;
  readonly ownMetrics: Registry;
  readonly collect: CollectOptions;
  /** The --web.config.file settings in force: read per request, so a reload applies at once. */
  readonly web?: (() => WebConfig | null) | null;
  readonly logs?: { readonly ingest: LogIngest; readonly receiver: LogReceiver } | null;
  /** `socat stdio PATH` for --haproxy.admin-socket, printed in the runbooks' commands. */
  readonly adminSocat?: string | null;
  /** nosrv's own alerts, with --alertmanager.url. */
  readonly alerting?: Alerting | null;
}

/** Seconds kept back from Prometheus's scrape timeout, to write and send the answer. */
const SCRAPE_MARGIN_MS = 250;

export function buildApp({ reader, ownMetrics, collect, web, logs, adminSocat, alerting }: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // An ETag means hashing every answer; at 10,000 servers /metrics is megabytes, never cached.
  app.set('etag', false);
  if (web) app.use(webSettings(web));

  app.get('/', (_req, res) => {
    res.type('html').send(landingPage(reader.source.target));
  });

  app.get('/healthz', (_req, res) => {
    res.type('text').send('ok\n');
  });

  app.get('/ready', (_req, res) => {
    if (reader.hasRead) res.type('text').send('ready\n');
    else
      res
        .status(503)
        .type('text')
        .send(`HAProxy not read yet (${reader.lastError?.message ?? 'first read pending'})\n`);
  });

  app.get('/metrics', metricsHandler(reader, new HaproxyMetrics(collect), ownMetrics, logs ?? null));
  app.get('/explain', explainHandler(reader));

  app.get('/alerts', (req, res) => {
    const report = alertsReport(alerting ?? null);
    const json = req.query.format === 'json' || (req.query.format === undefined && req.accepts(['text/html', 'application/json']) === 'application/json');
    if (json) res.json(report);
    else res.type('html').send(alertsPage(report));
  });

  const runbooks = loadRunbooks();
  app.get('/runbooks/', (_req, res) => {
    res.type('html').send(runbookIndex(runbooks));
  });
  app.get('/runbooks', (_req, res) => {
    res.redirect(301, 'runbooks/');
  });
  app.get('/runbooks/:alert', async (req, res) => {
    const markdown = runbooks.get(req.params.alert);
    if (markdown === undefined)
      res
        .status(404)
        .type('text')
        .send(`no runbook named ${JSON.stringify(req.params.alert)}; see /runbooks/\n`);
    else res.type('html').send(await runbookPage(markdown, req.params.alert, adminSocat ?? null));
  });

  return app;
}

/** --web.config.file's headers and basic auth, as the file says now (SIGHUP reads it again). */
function webSettings(web: () => WebConfig | null): RequestHandler {
  // One basic-auth check per set of users, made again only when a reload changes them.
  let auth: { users: ReadonlyMap<string, string>; check: RequestHandler } | null = null;
  return (req, res, next) => {
    const settings = web();
    if (!settings) {
      next();
      return;
    }
    res.set(settings.headers);
    if (settings.users.size === 0) {
      next();
      return;
    }
    if (auth?.users !== settings.users) auth = { users: settings.users, check: basicAuth(settings.users) };
    auth.check(req, res, next);
  };
}

function metricsHandler(reader: HaproxyReader, haproxyMetrics: HaproxyMetrics, ownMetrics: Registry, logs: AppDeps['logs'] | null): RequestHandler {
  return async (req, res, next) => {
    try {
      res.type('text/plain; version=0.0.4; charset=utf-8');
      // Each piece goes out as it is written, so the client reads the first families while the
      // rest are written (a Content-Length would wait for the whole answer). Node's http holds a
      // response's writes until the next tick: uncorked, each leaves at once.
      const out = new ExpositionWriter((piece) => {
        res.write(piece);
        res.uncork();
      });
      // Until then the cache must not write over the families this answer sends; told before the
      // read, so a client gone while HAProxy answered holds none.
      res.once('close', () => {
        out.sent();
      });
      const result = await reader.read(scrapeDeadline(req));
      // The diagnosis first, the per-server families last: see `HaproxyMetrics.write`.
      haproxyMetrics.writeDiagnosis(out, result.diagnosis);
      if (result.ok) haproxyMetrics.write(out, result.snapshot, result.history);
      if (logs) writeLogMetrics(out, logs.ingest, await logs.receiver.dropped());
      out.family('haproxy_up', 'gauge', '1 when the last read of HAProxy succeeded.');
      out.sample('haproxy_up', '', result.ok ? 1 : 0);
      out.raw(await ownMetrics.metrics());
      out.end();
      res.end();
    } catch (err) {
      next(err);
    }
  };
}

function explainHandler(reader: HaproxyReader): RequestHandler {
  return async (req, res, next) => {
    try {
      const result = await reader.read(scrapeDeadline(req));
      const backend = typeof req.query.backend === 'string' && req.query.backend !== '' ? req.query.backend : null;
      let diagnosis = result.diagnosis;
      if (backend !== null) {
        const matching = diagnosis.backends.filter((b) => b.name === backend);
        if (matching.length === 0 && diagnosis.haproxy.up) {
          res
            .status(404)
            .type('text')
            .send(`HAProxy has no backend named ${JSON.stringify(backend)}\n`);
          return;
        }
        diagnosis = { ...diagnosis, backends: matching, frontends: [] };
      }
      const format =
        typeof req.query.format === 'string' ? req.query.format : req.accepts(['text/html', 'application/json']) === 'application/json' ? 'json' : 'html';
      if (format === 'json') res.json(diagnosis);
      else if (format === 'text') res.type('text/plain; charset=utf-8').send(explainText(diagnosis, reader.source.target));
      else if (format === 'html') res.type('html').send(explainPage(diagnosis, reader.source.target, backend));
      else res.status(400).type('text').send('format is json, text or html\n');
    } catch (err) {
      next(err);
    }
  };
}

/** The deadline Prometheus sets for this scrape, if it says one. */
function scrapeDeadline(req: Request): number | undefined {
  const header = Number(req.get('X-Prometheus-Scrape-Timeout-Seconds'));
  if (!Number.isFinite(header) || header <= 0) return undefined;
  return Date.now() + Math.max(100, header * 1000 - SCRAPE_MARGIN_MS);
}

function landingPage(target: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>nosrv</title>
<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem;line-height:1.5}code{background:#eee;padding:0 .2em}</style>
</head><body>
<h1>nosrv ${escapeHtml(VERSION)}</h1>
<p>Why HAProxy answers <code>503 Service Unavailable</code>, and what to type to fix it.</p>
<p>Watching <code>${escapeHtml(target)}</code>.</p>
<ul>
<li><a href="explain">/explain</a>: why HAProxy answers 503, and what to type to fix it (also <a href="explain?format=json">JSON</a>, <a href="explain?format=text">text</a>)</li>
<li><a href="metrics">/metrics</a>: Prometheus metrics</li>
<li><a href="runbooks/">/runbooks/</a>: what each alert means and what to do</li>
<li><a href="alerts">/alerts</a>: the alerts nosrv sends Alertmanager itself, and where it sent them</li>
<li><a href="ready">/ready</a>: 200 once HAProxy has been read</li>
<li><a href="healthz">/healthz</a>: 200 while nosrv runs</li>
</ul>
</body></html>
`;
}
