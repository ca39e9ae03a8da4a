// Basic auth for --web.config.file's basic_auth_users, as the Prometheus exporter-toolkit does it.

import { createHash, randomBytes } from 'node:crypto';
import bcrypt from 'bcryptjs';
import type { RequestHandler } from 'express';

const CACHE_LIMIT = 256;

/** Basic auth against bcrypt hashes; a good pair is remembered, as the toolkit does, so each scrape does not pay for bcrypt. */
export function basicAuth(users: ReadonlyMap<string, string>): RequestHandler {
  const verified = new Map<string, boolean>();
  // Checked for unknown users, at the users' own cost, so they take as long as known ones.
  const cost = Number(/^\$2[abxy]?\$(\d{2})\$/.exec(users.values().next().value ?? '')?.[1] ?? 10);
  const decoy = bcrypt.hashSync(randomBytes(12).toString('hex'), cost);
  return (req, res, next) => {
    const header = req.get('authorization') ?? '';
    const decoded = header.startsWith('Basic ') ? Buffer.from(header.slice(6), 'base64').toString() : '';
    const colon = decoded.indexOf(':');
    const user = colon < 0 ? '' : decoded.slice(0, colon);
    const password = colon < 0 ? '' : decoded.slice(colon + 1);
    const hash = users.get(user);
    const key = createHash('sha256')
      .update(`${user}\0${password}\0${hash ?? ''}`)
      .digest('hex');
    const deny = (): void => {
      res.status(401).set('WWW-Authenticate', 'Basic realm="nosrv"').type('text').send('Unauthorized\n');
    };
    const known = verified.get(key);
    if (known === true) {
      next();
      return;
    }
    if (known === false) {
      deny();
      return;
    }
    void bcrypt.compare(password, hash ?? decoy).then((ok) => {
      const good = ok && hash !== undefined;
      if (verified.size >= CACHE_LIMIT) verified.clear();
      verified.set(key, good);
      if (good) next();
      else deny();
    }, next);
  };
}
