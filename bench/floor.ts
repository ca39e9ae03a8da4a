// The least time any exporter could answer nosrv's /metrics in: both of HAProxy's answers that
// nosrv reads (`show servers state`, and `show info;show stat`), read at once on two connections
// and thrown away, then nosrv's own last answer sent from memory as it is. No parsing, no
// diagnosis, no rendering. The bench runs it as its own process, beside the exporters.
//
// node dist/bench/floor.js SOCKET ANSWER_FILE: prints the port it listens on.

import { readFileSync } from 'node:fs';
import http from 'node:http';
import net, { type AddressInfo } from 'node:net';

const [socketPath, answerPath] = process.argv.slice(2) as [string, string];
const answer = readFileSync(answerPath);

function readAndDrop(command: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath, () => socket.write(`${command}\n`));
    socket.resume();
    socket.on('end', () => {
      resolve();
    });
    socket.on('error', reject);
  });
}

const server = http.createServer((_req, res) => {
  Promise.all([readAndDrop('show servers state'), readAndDrop('show info;show stat')]).then(
    () => {
      res.setHeader('Content-Length', answer.length);
      res.end(answer);
    },
    (err: unknown) => res.writeHead(500).end(err instanceof Error ? err.message : String(err)),
  );
});
server.listen(0, '127.0.0.1', () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
