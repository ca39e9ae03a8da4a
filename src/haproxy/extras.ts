// What the diagnosis reads beside the snapshot: the master CLI's `show proc` and the
// configuration file. Either may be missing or broken without failing the read of HAProxy.

import { readFile, stat } from 'node:fs/promises';
import { parseHaproxyConfig, type HaproxyConfig } from '../parse/haproxyConfig.js';
import { parseShowProc, type ProcList } from '../parse/showProc.js';
import { runShowCommands, type RuntimeApiAddress } from './runtimeApi.js';

export async function readProcs(address: RuntimeApiAddress, deadline: number): Promise<ProcList> {
  const [answer] = await runShowCommands(address, ['show proc'], { deadline, maxBytes: 1024 * 1024 });
  return parseShowProc(answer?.text ?? '');
}

/** The configuration file, parsed again only when it changes. */
export class ConfigFile {
  private cached: { key: string; config: HaproxyConfig } | null = null;

  constructor(readonly path: string) {}

  async read(): Promise<HaproxyConfig> {
    const info = await stat(this.path);
    const key = `${info.mtimeMs}/${info.size}`;
    if (this.cached?.key !== key) this.cached = { key, config: parseHaproxyConfig(await readFile(this.path, 'utf8')) };
    return this.cached.config;
  }
}
