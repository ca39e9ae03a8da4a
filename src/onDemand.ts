// Libraries that only some daemons use, loaded by the first call that needs them: each adds to the
// memory of a process that reads a socket, has no settings file, sends no alert and logs to no
// terminal, which is most of them.

import { createRequire } from 'node:module';
import type { AxiosError, AxiosStatic } from 'axios';
import type * as Yaml from 'yaml';
import type { marked as Marked } from 'marked';
import type PinoPretty from 'pino-pretty';

const requireModule = createRequire(import.meta.url);

let axiosModule: Promise<AxiosStatic> | null = null;

export function loadAxios(): Promise<AxiosStatic> {
  axiosModule ??= import('axios').then((module) => module.default);
  return axiosModule;
}

/** axios's own guard needs the module loaded; an error from it says so by this flag. */
export function isAxiosError(err: unknown): err is AxiosError {
  return typeof err === 'object' && err !== null && (err as { isAxiosError?: unknown }).isAxiosError === true;
}

/** For settings files, which are read where they are needed, synchronously. */
export function yaml(): typeof Yaml {
  return requireModule('yaml') as typeof Yaml;
}

/** For a person watching the logs in a terminal. */
export function pinoPretty(): typeof PinoPretty {
  return requireModule('pino-pretty') as typeof PinoPretty;
}

/** For /runbooks pages. */
export async function loadMarked(): Promise<typeof Marked> {
  return (await import('marked')).marked;
}
