// --web.config.file: TLS and basic auth in the Prometheus exporter-toolkit format, so the file a
// team already has for node_exporter works here. Relative paths are taken from the file's folder,
// as the toolkit does. Settings nosrv does not implement are refused, never silently ignored.

import path from 'node:path';
import type { SecureContextOptions, SecureVersion } from 'node:tls';
import { yaml } from './onDemand.js';
import { isMapping } from './isMapping.js';

export type ClientAuth = 'NoClientCert' | 'RequestClientCert' | 'RequireAnyClientCert' | 'VerifyClientCertIfGiven' | 'RequireAndVerifyClientCert';
const CLIENT_AUTH: readonly ClientAuth[] = [
  'NoClientCert',
  'RequestClientCert',
  'RequireAnyClientCert',
  'VerifyClientCertIfGiven',
  'RequireAndVerifyClientCert',
];
const VERSIONS: Record<string, SecureVersion> = { TLS10: 'TLSv1', TLS11: 'TLSv1.1', TLS12: 'TLSv1.2', TLS13: 'TLSv1.3' };

export interface WebConfig {
  readonly tls: {
    readonly cert: string;
    readonly key: string;
    readonly clientCa: string | null;
    readonly clientAuth: ClientAuth;
    readonly minVersion: SecureVersion;
    readonly maxVersion: SecureVersion;
  } | null;
  /** user -> bcrypt hash; empty: no basic auth. */
  readonly users: ReadonlyMap<string, string>;
  readonly headers: Readonly<Record<string, string>>;
}

const KNOWN = {
  top: ['tls_server_config', 'basic_auth_users', 'http_server_config'],
  tls: ['cert', 'key', 'cert_file', 'key_file', 'client_ca', 'client_ca_file', 'client_auth_type', 'min_version', 'max_version'],
  http: ['headers'],
  headers: ['Content-Security-Policy', 'X-Frame-Options', 'X-Content-Type-Options', 'X-XSS-Protection', 'Strict-Transport-Security'],
};

// Long: one check per setting of the exporter-toolkit format, every problem listed.
/** Reads and checks the file; throws one Error that lists every problem. */
export function loadWebConfig(file: string, readFile: (path: string) => string): WebConfig {
  const problems: string[] = [];
  const dir = path.dirname(file);
  const raw = asMapping(yaml().parse(readFile(file)) ?? {}, 'the file', problems);
  unknownKeys(raw, KNOWN.top, '', problems);

  const tlsRaw = raw.tls_server_config === undefined ? null : asMapping(raw.tls_server_config, 'tls_server_config', problems);
  let tls: WebConfig['tls'] = null;
  if (tlsRaw) {
    unknownKeys(tlsRaw, KNOWN.tls, 'tls_server_config.', problems);
    const pem = (inline: string, fileKey: string, required: boolean): string | null => {
      const value = tlsRaw[inline];
      const fromFile = tlsRaw[fileKey];
      if (value !== undefined && fromFile !== undefined) problems.push(`tls_server_config: give ${inline} or ${fileKey}, not both`);
      if (typeof value === 'string') return value;
      if (typeof fromFile === 'string') {
        try {
          return readFile(path.resolve(dir, fromFile));
        } catch (err) {
          problems.push(`tls_server_config.${fileKey}: ${err instanceof Error ? err.message : String(err)}`);
          return null;
        }
      }
      if (required) problems.push(`tls_server_config: ${inline} or ${fileKey} is required`);
      return null;
    };
    const cert = pem('cert', 'cert_file', true);
    const key = pem('key', 'key_file', true);
    const clientCa = pem('client_ca', 'client_ca_file', false);
    const givenClientAuth: unknown = tlsRaw.client_auth_type ?? 'NoClientCert';
    const clientAuth = CLIENT_AUTH.find((known) => known === givenClientAuth) ?? 'NoClientCert';
    if (clientAuth !== givenClientAuth) problems.push(`tls_server_config.client_auth_type: expected one of ${CLIENT_AUTH.join(', ')}`);
    if ((clientAuth === 'VerifyClientCertIfGiven' || clientAuth === 'RequireAndVerifyClientCert') && clientCa === null) {
      problems.push(`tls_server_config: client_auth_type ${clientAuth} needs client_ca_file`);
    }
    const version = (name: string, fallback: string): SecureVersion => {
      const given = tlsRaw[name] ?? fallback;
      const text = typeof given === 'string' ? given : JSON.stringify(given);
      const v = VERSIONS[text];
      if (!v) problems.push(`tls_server_config.${name}: expected TLS10, TLS11, TLS12 or TLS13`);
      return v ?? 'TLSv1.2';
    };
    const minVersion = version('min_version', 'TLS12');
    const maxVersion = version('max_version', 'TLS13');
    if (cert !== null && key !== null) tls = { cert, key, clientCa, clientAuth, minVersion, maxVersion };
  }

  const users = new Map<string, string>();
  if (raw.basic_auth_users !== undefined) {
    for (const [user, hash] of Object.entries(asMapping(raw.basic_auth_users, 'basic_auth_users', problems))) {
      if (typeof hash !== 'string' || !/^\$2[abxy]?\$\d{2}\$/.test(hash)) problems.push(`basic_auth_users.${user}: not a bcrypt hash`);
      else users.set(user, hash);
    }
  }

  const headers: Record<string, string> = {};
  if (raw.http_server_config !== undefined) {
    const http = asMapping(raw.http_server_config, 'http_server_config', problems);
    unknownKeys(http, KNOWN.http, 'http_server_config.', problems);
    if (http.headers !== undefined) {
      const h = asMapping(http.headers, 'http_server_config.headers', problems);
      unknownKeys(h, KNOWN.headers, 'http_server_config.headers.', problems);
      for (const [name, value] of Object.entries(h)) if (typeof value === 'string' && value !== '') headers[name] = value;
    }
  }

  if (problems.length > 0) throw new Error(problems.join('; '));
  return { tls, users, headers };
}

function asMapping(value: unknown, where: string, problems: string[]): Record<string, unknown> {
  if (isMapping(value)) return value;
  problems.push(`${where}: expected a mapping`);
  return {};
}

function unknownKeys(mapping: Record<string, unknown>, known: readonly string[], prefix: string, problems: string[]): void {
  for (const key of Object.keys(mapping)) {
    if (!known.includes(key)) problems.push(`${prefix}${key}: not supported by nosrv (supported: ${known.join(', ')})`);
  }
}

/** Options for https.createServer. */
export function tlsServerOptions(tls: NonNullable<WebConfig['tls']>): SecureContextOptions & { requestCert: boolean; rejectUnauthorized: boolean } {
  return {
    cert: tls.cert,
    key: tls.key,
    ...(tls.clientCa ? { ca: tls.clientCa } : {}),
    minVersion: tls.minVersion,
    maxVersion: tls.maxVersion,
    requestCert: tls.clientAuth !== 'NoClientCert',
    rejectUnauthorized: tls.clientAuth === 'RequireAndVerifyClientCert',
  };
}

/** For the client auth types node's TLS options cannot say alone: whether to drop a connection. */
export function refuseClient(clientAuth: ClientAuth, hasCertificate: boolean, authorized: boolean): boolean {
  if (clientAuth === 'RequireAnyClientCert') return !hasCertificate;
  if (clientAuth === 'VerifyClientCertIfGiven') return hasCertificate && !authorized;
  return false;
}
