// One Alertmanager that nosrv posts to (`POST /api/v2/alerts`), with the HTTP settings of
// Prometheus's alertmanager_config: basic auth or a bearer token read from files, and TLS.

import { readFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { AxiosInstance } from 'axios';
import { loadAxios, yaml } from '../onDemand.js';
import { isMapping } from '../isMapping.js';

/** The parts of Prometheus's http_config that nosrv reads, from --alertmanager.http-config.file. */
export interface AlertmanagerHttpConfig {
  readonly basicAuth: { readonly username: string; readonly passwordFile: string | null; readonly password: string | null } | null;
  /** `Authorization: <type> <credentials>`; the credentials are read from their file at each post. */
  readonly authorization: { readonly type: string; readonly credentialsFile: string } | null;
  readonly tls: {
    readonly caFile: string | null;
    readonly certFile: string | null;
    readonly keyFile: string | null;
    readonly serverName: string | null;
    readonly insecureSkipVerify: boolean;
  } | null;
}

const KNOWN = new Set(['basic_auth', 'authorization', 'bearer_token_file', 'tls_config']);

/** Parses the file; relative paths are taken from its folder. Throws with every problem named. */
export function parseAlertmanagerHttpConfig(text: string, file: string): AlertmanagerHttpConfig {
  const doc: unknown = yaml().parse(text) ?? {};
  if (!isMapping(doc)) throw new Error('expected a mapping');
  const problems: string[] = [];
  for (const key of Object.keys(doc)) if (!KNOWN.has(key)) problems.push(`unknown setting "${key}" (nosrv reads ${[...KNOWN].join(', ')})`);
  const at = (p: unknown): string | null => (typeof p === 'string' && p !== '' ? path.resolve(path.dirname(file), p) : null);
  const mapping = (key: string): Record<string, unknown> | null => {
    const v = doc[key];
    if (v === undefined || v === null) return null;
    if (isMapping(v)) return v;
    problems.push(`${key}: expected a mapping`);
    return null;
  };
  const basic = mapping('basic_auth');
  const auth = mapping('authorization');
  const tls = mapping('tls_config');
  const username = basic?.username;
  const credentialsFile = at(auth?.credentials_file);
  if (basic && typeof username !== 'string') problems.push('basic_auth: needs a username');
  if (auth && credentialsFile === null) problems.push('authorization: needs credentials_file (credentials are never written in the file itself)');
  if ((basic || auth) && doc.bearer_token_file) problems.push('bearer_token_file goes alone, not with basic_auth or authorization');
  if (basic && auth) problems.push('basic_auth and authorization: one or the other');
  if (problems.length > 0) throw new Error(problems.join('; '));
  const bearer = at(doc.bearer_token_file);
  return {
    basicAuth:
      basic && typeof username === 'string'
        ? { username, passwordFile: at(basic.password_file), password: typeof basic.password === 'string' ? basic.password : null }
        : null,
    authorization:
      auth && credentialsFile !== null
        ? { type: typeof auth.type === 'string' ? auth.type : 'Bearer', credentialsFile }
        : bearer
          ? { type: 'Bearer', credentialsFile: bearer }
          : null,
    tls: tls
      ? {
          caFile: at(tls.ca_file),
          certFile: at(tls.cert_file),
          keyFile: at(tls.key_file),
          serverName: typeof tls.server_name === 'string' ? tls.server_name : null,
          insecureSkipVerify: tls.insecure_skip_verify === true,
        }
      : null,
  };
}

/** The JSON Alertmanager's v2 API takes for one alert. */
export interface PostableAlert {
  readonly labels: Readonly<Record<string, string>>;
  readonly annotations: Readonly<Record<string, string>>;
  readonly startsAt: string;
  readonly endsAt: string;
  readonly generatorURL: string;
}

/** How long one post may take. */
const POST_TIMEOUT_MS = 5000;

export class AlertmanagerClient {
  private readonly httpsAgent: https.Agent | undefined;
  private http: Promise<AxiosInstance> | null = null;

  constructor(
    readonly url: string,
    private readonly config: AlertmanagerHttpConfig | null,
  ) {
    // Made here, so a TLS file that cannot be read stops nosrv as it starts, not at its first alert.
    const tls = config?.tls;
    this.httpsAgent = tls
      ? new https.Agent({
          ca: tls.caFile ? readFileSync(tls.caFile) : undefined,
          cert: tls.certFile ? readFileSync(tls.certFile) : undefined,
          key: tls.keyFile ? readFileSync(tls.keyFile) : undefined,
          servername: tls.serverName ?? undefined,
          rejectUnauthorized: !tls.insecureSkipVerify,
        })
      : undefined;
  }

  private client(): Promise<AxiosInstance> {
    this.http ??= loadAxios().then((axios) =>
      axios.create({
        baseURL: this.url.replace(/\/+$/, ''),
        timeout: POST_TIMEOUT_MS,
        // Whatever the answer, it is judged here: a 4xx or 5xx is a failed post, not an exception.
        validateStatus: () => true,
        ...(this.httpsAgent ? { httpsAgent: this.httpsAgent } : {}),
      }),
    );
    return this.http;
  }

  /** Posts `alerts`; throws an Error saying why when Alertmanager does not take them. */
  async post(alerts: readonly PostableAlert[]): Promise<void> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    const auth = this.config?.authorization;
    // Read at each post, so a rotated token is used without a restart.
    if (auth) headers.authorization = `${auth.type} ${readFileSync(auth.credentialsFile, 'utf8').trim()}`;
    const basic = this.config?.basicAuth;
    const credentials = basic
      ? { username: basic.username, password: basic.passwordFile ? readFileSync(basic.passwordFile, 'utf8').trim() : (basic.password ?? '') }
      : undefined;
    const http = await this.client();
    const answer = await http.post('/api/v2/alerts', alerts, { headers, ...(credentials ? { auth: credentials } : {}) });
    if (answer.status < 200 || answer.status > 299)
      throw new Error(`Alertmanager answered ${answer.status}: ${(typeof answer.data === 'string' ? answer.data : JSON.stringify(answer.data)).slice(0, 200)}`);
  }
}
