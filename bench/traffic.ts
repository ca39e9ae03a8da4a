// Light traffic for `BENCH_TRAFFIC=true`: one HTTP server on loopback that every server of the
// lab points to, and requests through HAProxy to backends picked at random, at a steady rate.
// Counters then move between two scrapes, as they do in production, so nosrv writes its
// per-server families again instead of sending them as cached. Its own process, so its work is
// not the scraper's.
//
// node dist/bench/traffic.js BACKEND_PORT FRONTEND_PORT BACKENDS RATE: prints "ready" once it serves.

import http from 'node:http';

const [backendPort, frontendPort, backends, rate] = process.argv.slice(2).map(Number) as [number, number, number, number];

const backend = http.createServer((_req, res) => res.end('ok\n'));
backend.listen(backendPort, '127.0.0.1', () => {
  process.stdout.write('ready\n');
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const ask = (): void => {
    const path = `/be_${Math.floor(Math.random() * backends)}/`;
    http
      .get({ host: '127.0.0.1', port: frontendPort, path, agent }, (res) => res.resume())
      // A refused or dropped request is traffic too; the bench only needs the counters to move.
      .on('error', () => {});
  };
  // A tick every 10 ms, so the rate holds without a burst.
  const perTick = rate / 100;
  let owed = 0;
  setInterval(() => {
    owed += perTick;
    for (; owed >= 1; owed--) ask();
  }, 10);
});
