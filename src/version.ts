import { createRequire } from 'node:module';

// dist/src/version.js -> the package.json at the top of the project.
export const VERSION: string = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;
