// axios is loaded by the first request that needs it: it adds 10 to 20 MB to the RSS of a process
// that reads a socket and sends no alert, which is most of them.

import type { AxiosError, AxiosStatic } from 'axios';

let axiosModule: Promise<AxiosStatic> | null = null;

export function loadAxios(): Promise<AxiosStatic> {
  axiosModule ??= import('axios').then((module) => module.default);
  return axiosModule;
}

/** axios's own guard needs the module loaded; an error from it says so by this flag. */
export function isAxiosError(err: unknown): err is AxiosError {
  return typeof err === 'object' && err !== null && (err as { isAxiosError?: unknown }).isAxiosError === true;
}
