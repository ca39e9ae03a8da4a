// Wires the daemon: one source, one watcher, one reader; the watcher's clock; the HTTP server.

import http from 'node:http';
import https from 'node:https';
import type { TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import cron from 'node-cron';
import type { Logger } from 'pino';
import { cronExpression, type Config } from './config.js';
import { ConfigFile } from './haproxy/extras.js';
import { LogIngest } from './logs/ingest.js';
import { startLogReceiver, type LogReceiver } from './logs/receiver.js';
import { SocketSource, StatsPageSource, type HaproxySource } from './haproxy/source.js';
import { socatCommand } from './haproxy/runtimeApi.js';
import { createOwnRegistry } from './metrics/own.js';
import { BackendSeriesGatherer } from './metrics/backendSeries.js';
import { ServerSeriesGatherer } from './metrics/serverSeries.js';
import { HaproxyReader, type ReaderOptions } from './reader.js';
import { buildApp } from './web/app.js';
import { refuseClient, tlsServerOptions } from './web/webConfig.js';
import { Watcher } from './watcher.js';

export interface Daemon {
  readonly address: AddressInfo;
  readonly reader: HaproxyReader;
  /** Where HAProxy's logs are received, with --logs.listen. */
  readonly logsAddress: string | null;
  close(): Promise<void>;
}

export function createSource(haproxy: Config['haproxy']): HaproxySource {
  if (haproxy.statsUrl !== null) {
    return new StatsPageSource({ url: haproxy.statsUrl, username: haproxy.statsUsername, password: haproxy.statsPassword });
  }
  return new SocketSource(haproxy.socket);
}

export function createReader(config: Config, watcher: Watcher, log: Logger, logs: LogIngest | null, series: ReaderOptions['series']): HaproxyReader {
  return new HaproxyReader(createSource(config.haproxy), watcher, log.child({ component: 'reader' }), {
    timeoutMs: config.haproxy.timeoutMs,
    master: config.haproxy.masterSocket,
    adminSocket: config.haproxy.adminSocket,
    configFile: config.haproxy.configFile ? new ConfigFile(config.haproxy.configFile) : null,
    logs,
    series,
  });
}

async function startLogs(listen: string, watcher: Watcher, log: Logger): Promise<{ ingest: LogIngest; receiver: LogReceiver }> {
  const logsLog = log.child({ component: 'logs' });
  const ingest = new LogIngest(
    (event) => watcher.logged(event),
    (sample) => logsLog.debug({ sample }, 'a log line nosrv does not understand (sampled once)'),
  );
  const receiver = await startLogReceiver(listen, (text) => ingest.ingest(text, Date.now()));
  logsLog.info({ address: receiver.address }, 'receiving HAProxy logs');
  return { ingest, receiver };
}

export async function startDaemon(config: Config, log: Logger): Promise<Daemon> {
  const watcher = new Watcher();
  const logs = config.logsListen ? await startLogs(config.logsListen, watcher, log) : null;
  const series = { servers: new ServerSeriesGatherer(config.collect, watcher), backends: new BackendSeriesGatherer(config.collect) };
  const reader = createReader(config, watcher, log, logs?.ingest ?? null, series);
  const adminSocat = config.haproxy.adminSocket ? socatCommand(config.haproxy.adminSocket) : null;
  const app = buildApp({ reader, watcher, ownMetrics: createOwnRegistry(reader), collect: config.collect, web: config.web, logs, adminSocat });
  const tls = config.web?.tls ?? null;
  const server = tls ? https.createServer(tlsServerOptions(tls), app) : http.createServer(app);
  if (tls) {
    server.on('secureConnection', (socket: TLSSocket) => {
      const certificate = socket.getPeerCertificate();
      if (refuseClient(tls.clientAuth, certificate !== null && Object.keys(certificate).length > 0, socket.authorized)) socket.destroy();
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.listen.port, config.listen.host, () => resolve());
  });
  const address = server.address() as AddressInfo;
  log.info({ address: `${address.address}:${address.port}`, tls: tls !== null, haproxy: reader.source.target }, 'nosrv serving');

  void reader.read(); // so /ready turns green without waiting for the first scrape
  const cronLog = log.child({ component: 'watcher' });
  const watch = cron.schedule(cronExpression(config.watchIntervalMs), () => reader.poll(), {
    name: 'watcher',
    noOverlap: true,
    suppressMissedWarning: true,
    logger: {
      info: (m) => cronLog.debug(m),
      warn: (m) => cronLog.debug(m),
      error: (m, err) => cronLog.error({ err }, String(m)),
      debug: (m) => cronLog.trace(String(m)),
    },
  });

  return {
    address,
    reader,
    logsAddress: logs?.receiver.address ?? null,
    async close() {
      await watch.destroy();
      await logs?.receiver.close();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
