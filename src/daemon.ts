// Wires the daemon: one source, one watcher, one reader; the watcher's clock; the HTTP server.

import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import cron, { type ScheduledTask } from 'node-cron';
import type { Logger } from 'pino';
import { cronExpression, type Config } from './config.js';
import { ConfigFile } from './haproxy/extras.js';
import { LogIngest } from './logs/ingest.js';
import { startLogReceiver, type LogReceiver } from './logs/receiver.js';
import { SocketSource, StatsPageSource, type HaproxySource } from './haproxy/source.js';
import { socatCommand } from './haproxy/runtimeApi.js';
import { createOwnRegistry } from './metrics/own.js';
import { HaproxyReader } from './reader.js';
import { buildApp } from './web/app.js';
import type { Express } from 'express';
import { Alerting } from './alerting/dispatcher.js';
import { AlertmanagerClient } from './alerting/alertmanager.js';
import { hostname } from 'node:os';
import { refusalReason, StartError } from './startError.js';
import { loadWebConfig, refuseClient, tlsServerOptions, type WebConfig } from './webConfig.js';
import { readFileSync } from 'node:fs';
import { Watcher } from './watcher.js';

export interface Daemon {
  readonly address: AddressInfo;
  readonly reader: HaproxyReader;
  /** Where HAProxy's logs are received, with --logs.listen. */
  readonly logsAddress: string | null;
  /** Reads --web.config.file again (SIGHUP): a renewed certificate is served without a restart. */
  reloadWebConfig(): void;
  close(): Promise<void>;
}

export function createSource(haproxy: Config['haproxy']): HaproxySource {
  if (haproxy.statsUrl !== null) {
    return new StatsPageSource({ url: haproxy.statsUrl, username: haproxy.statsUsername, password: haproxy.statsPassword });
  }
  return new SocketSource(haproxy.socket);
}

export function createReader(config: Config, watcher: Watcher, log: Logger, logs: LogIngest | null): HaproxyReader {
  return new HaproxyReader(createSource(config.haproxy), watcher, log.child({ component: 'reader' }), {
    timeoutMs: config.haproxy.timeoutMs,
    master: config.haproxy.masterSocket,
    adminSocket: config.haproxy.adminSocket,
    configFile: config.haproxy.configFile ? new ConfigFile(config.haproxy.configFile) : null,
    logs,
  });
}

async function startLogs(listen: string, watcher: Watcher, log: Logger): Promise<{ ingest: LogIngest; receiver: LogReceiver }> {
  const logsLog = log.child({ component: 'logs' });
  const ingest = new LogIngest(
    (event) => {
      watcher.logged(event);
    },
    (sample) => {
      logsLog.debug({ sample }, 'a log line nosrv does not understand (sampled once)');
    },
  );
  const receiver = await startLogReceiver(listen, (text) => {
    ingest.ingest(text, Date.now());
  });
  logsLog.info({ address: receiver.address }, 'receiving HAProxy logs');
  return { ingest, receiver };
}

/** How often nosrv sends its firing alerts again; each ends four of these ahead unless sent again. */
const ALERT_RESEND_MS = 30_000;
/** At stop, how long past a read's bound an answer under way may take to be sent. */
const SEND_GRACE_MS = 2000;

function startAlerting(config: Config, externalUrl: string, reader: HaproxyReader, log: Logger): { alerting: Alerting; stop(): Promise<void> } | null {
  if (config.alerting.alertmanagers.length === 0) return null;
  const alerting = new Alerting(
    config.alerting.alertmanagers.map((url) => new AlertmanagerClient(url, config.alerting.httpConfig)),
    {
      debounceMs: config.alerting.debounceMs,
      resendMs: ALERT_RESEND_MS,
      externalUrl,
      labels: { instance: new URL(externalUrl).host, haproxy: reader.source.target, sender: 'nosrv' },
      ignoreBackends: config.alerting.ignoreBackends,
    },
    log.child({ component: 'alerts' }),
  );
  // A pending alert is read again the moment its debounce ends, not at the next tick: the page
  // for a backend that lost its last server leaves within seconds.
  let due: NodeJS.Timeout | null = null;
  reader.onDiagnosis = (diagnosis, at) => {
    alerting.observe(diagnosis, at);
    if (due) clearTimeout(due);
    const next = alerting.nextDue();
    due = next === null ? null : setTimeout(() => void reader.read(), Math.max(0, next - Date.now())).unref();
  };
  log.info({ alertmanagers: config.alerting.alertmanagers }, 'sending alerts to Alertmanager');
  return {
    alerting,
    async stop() {
      if (due) clearTimeout(due);
      await alerting.settled();
    },
  };
}

/**
 * The watcher's clock: a poll every --watch.interval and, with nosrv's own alerts, a full read when
 * the poll saw a change or an alert is due, so a page leaves within seconds of the change.
 */
function startWatcherClock(intervalMs: number, reader: HaproxyReader, watcher: Watcher, alerting: Alerting | null, cronLog: Logger): ScheduledTask {
  const tick = async (): Promise<void> => {
    const changes = watcher.changesSeen;
    await reader.poll();
    if (alerting === null) return;
    // A state change the poll saw, a debounced alert now due, or time to send again: a full read
    // gives the diagnosis that decides, and the reader hands it to the alerts.
    if (watcher.changesSeen !== changes || alerting.wantsRead(Date.now())) await reader.read();
    alerting.tick(Date.now());
  };
  return cron.schedule(cronExpression(intervalMs), tick, {
    name: 'watcher',
    noOverlap: true,
    suppressMissedWarning: true,
    logger: {
      info: (m) => {
        cronLog.debug(m);
      },
      warn: (m) => {
        cronLog.debug(m);
      },
      error: (m, err) => {
        cronLog.error({ err }, String(m));
      },
      debug: (m) => {
        cronLog.trace(String(m));
      },
    },
  });
}

/** The HTTPS server; a certificate or key that cannot be used names the file that gave them. */
function httpsServer(tls: NonNullable<WebConfig['tls']>, file: string, handler: http.RequestListener): https.Server {
  try {
    return https.createServer(tlsServerOptions(tls), handler);
  } catch (err) {
    throw new StartError('web.config.file', file, `the certificate or key cannot be used: ${err instanceof Error ? err.message : String(err)}`);
  }
}

// Long: the composition root: each part made and wired in the order it starts, and how it all stops.
export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const watcher = new Watcher();
  const logsListen = config.logsListen;
  const logs = logsListen
    ? await startLogs(logsListen, watcher, log).catch((err: unknown) => Promise.reject(new StartError('logs.listen', logsListen, refusalReason(err))))
    : null;
  const reader = createReader(config, watcher, log, logs?.ingest ?? null);
  const adminSocat = config.haproxy.adminSocket ? socatCommand(config.haproxy.adminSocket) : null;
  // The server listens before the app exists: the links in nosrv's own alerts need the port it got.
  let app: Express | null = null;
  // Answers not yet sent: once nosrv stops, each closes its connection, so none is left idle.
  const unsent = new Set<http.ServerResponse>();
  let stopping = false;
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    if (stopping) res.setHeader('Connection', 'close');
    unsent.add(res);
    res.once('close', () => unsent.delete(res));
    void app?.(req, res);
  };
  let web = config.web;
  const tls = config.web?.tls ?? null;
  const server = tls ? httpsServer(tls, config.webConfigFile ?? '', handler) : http.createServer(handler);
  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const certificate = socket.getPeerCertificate();
      if (refuseClient(web?.tls?.clientAuth ?? tls.clientAuth, Object.keys(certificate).length > 0, socket.authorized)) socket.destroy();
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => {
      void logs?.receiver.close();
      reject(new StartError('web.listen-address', `${config.listen.host ?? ''}:${config.listen.port}`, refusalReason(err)));
    });
    server.listen(config.listen.port, config.listen.host, () => {
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  // Where people reach nosrv, for the links in its alerts: as given, else this host and the port.
  const externalUrl = config.externalUrl ?? `${tls ? 'https' : 'http'}://${hostname()}:${address.port}`;
  const sending = startAlerting(config, externalUrl, reader, log);
  const alerting = sending?.alerting ?? null;
  // Set before this turn ends, so before any request is handled.
  app = buildApp({
    reader,
    ownMetrics: createOwnRegistry(reader, alerting),
    collect: config.collect,
    web: config.web ? () => web : null,
    logs,
    adminSocat,
    alerting,
  });
  log.info({ address: `${address.address}:${address.port}`, tls: tls !== null, haproxy: reader.source.target }, 'nosrv serving');

  void reader.read(); // so /ready turns green without waiting for the first scrape
  const watch = startWatcherClock(config.watchIntervalMs, reader, watcher, alerting, log.child({ component: 'watcher' }));

  return {
    address,
    reader,
    reloadWebConfig() {
      const file = config.webConfigFile;
      if (file === null) return;
      try {
        const next = loadWebConfig(file, (f) => readFileSync(f, 'utf8'));
        if ((next.tls === null) !== (tls === null)) throw new Error('TLS cannot be turned on or off without a restart');
        if (next.tls && server instanceof https.Server) server.setSecureContext(tlsServerOptions(next.tls));
        web = next;
        log.info({ file }, 'web configuration read again');
      } catch (err) {
        log.warn({ file, error: err instanceof Error ? err.message : String(err) }, 'web configuration not read again: the last good one stays in force');
      }
    },
    logsAddress: logs?.receiver.address ?? null,
    async close() {
      await watch.destroy();
      await sending?.stop();
      await logs?.receiver.close();
      // A scrape under way is answered: its read ends within haproxy.timeout. Idle connections
      // close at once, and whatever is still open after that bound is cut.
      stopping = true;
      for (const res of unsent) if (!res.headersSent) res.setHeader('Connection', 'close');
      await new Promise<void>((resolve) => {
        const cut = setTimeout(() => {
          server.closeAllConnections();
        }, config.haproxy.timeoutMs + SEND_GRACE_MS);
        server.close(() => {
          clearTimeout(cut);
          resolve();
        });
        server.closeIdleConnections();
      });
    },
  };
}
