// /runbooks/<AlertName>: docs/runbooks/*.md as HTML, so the rules' default runbook_url works
// wherever nosrv runs. The commands in them name Debian's admin socket; the pages name the one
// given with --haproxy.admin-socket instead.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALERTS } from '../rules/alerts.js';
import { escapeHtml } from './html.js';
import { loadMarked } from '../onDemand.js';

/** dist/src/web -> docs/runbooks */
const RUNBOOKS_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../docs/runbooks');

/** The admin socket the runbooks' commands are written with. */
export const RUNBOOK_ADMIN_SOCAT = 'socat stdio /run/haproxy/admin.sock';

/** Each alert's runbook, by alert name, as Markdown. */
export function loadRunbooks(dir = RUNBOOKS_DIR): ReadonlyMap<string, string> {
  const files = readdirSync(dir).filter((f) => f.endsWith('.md'));
  return new Map(files.map((f) => [f.slice(0, -'.md'.length), readFileSync(path.join(dir, f), 'utf8')]));
}

const STYLE = `body{font-family:system-ui,sans-serif;max-width:48rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
code{background:#eee;padding:0 .2em}pre{background:#f4f4f4;padding:.6em;overflow-x:auto}pre code{background:none}
table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em;text-align:left}.note{background:#fff6d6;padding:.5em}`;

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title><style>${STYLE}</style></head><body>
<p><a href="../explain">/explain</a> · <a href="./">all runbooks</a></p>
${body}
</body></html>
`;
}

/** `adminSocat`: `socat stdio PATH` for --haproxy.admin-socket, or null when it is not given. */
export async function runbookPage(markdown: string, name: string, adminSocat: string | null): Promise<string> {
  const text = adminSocat ? markdown.replaceAll(RUNBOOK_ADMIN_SOCAT, adminSocat) : markdown;
  const note = adminSocat
    ? ''
    : `<p class="note">Commands that change HAProxy's state go through its admin socket (a <code>stats socket ... level admin</code> line); they name Debian's <code>/run/haproxy/admin.sock</code>. Start nosrv with <code>--haproxy.admin-socket=PATH</code> to see yours here.</p>\n`;
  const marked = await loadMarked();
  return page(name, note + marked.parse(text, { async: false }));
}

export function runbookIndex(runbooks: ReadonlyMap<string, string>): string {
  const rows = ALERTS.filter((a) => runbooks.has(a.alert)).map(
    (a) =>
      `<tr><td><a href="${escapeHtml(a.alert)}">${escapeHtml(a.alert)}</a></td><td>${a.severity}</td><td>${escapeHtml(a.firesWhen.replaceAll('`', ''))}</td></tr>`,
  );
  return page('nosrv runbooks', `<h1>Runbooks</h1>\n<table><tr><th>alert</th><th>severity</th><th>fires when</th></tr>\n${rows.join('\n')}\n</table>`);
}
