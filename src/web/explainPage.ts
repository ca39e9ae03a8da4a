// /explain for people: what fails first, then what is at risk, then how many are fine. Rendered
// on the server with no front-end build; every value from HAProxy is escaped.

import { tallyText } from '../diagnosisText.js';
import type { BackendDiagnosis, Diagnosis, Finding, FrontendDiagnosis, Verdict } from '../diagnosis.js';
import { escapeHtml } from './html.js';

const REFRESH_SECONDS = 10;

// Long: the page's markup, top to bottom.
export function explainPage(d: Diagnosis, target: string, narrowedTo: string | null): string {
  const failing = sections(d, 'failing');
  const atRisk = sections(d, 'at_risk');
  const okBackends = d.backends.filter((b) => b.verdict === 'ok');
  const okFrontends = d.frontends.filter((f) => f.verdict === 'ok');
  const configFindings = d.backends.flatMap((b) => b.findings.map((f) => ({ backend: b.name, f })));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="refresh" content="${REFRESH_SECONDS}">
<title>${failing.length ? `${failing.length} failing - ` : atRisk.length ? `${atRisk.length} at risk - ` : ''}nosrv explain</title>
<style>
body{font-family:system-ui,-apple-system,sans-serif;margin:0 auto;max-width:60rem;padding:.5rem 1rem 3rem;line-height:1.45;color:#1b1b1b;background:#fafafa}
header p{margin:.2rem 0;color:#555;font-size:.9rem}
h1{font-size:1.4rem;margin:.8rem 0 .2rem}
h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.card{background:#fff;border:1px solid #ddd;border-left:.4rem solid #999;border-radius:.3rem;padding:.6rem .9rem;margin:.7rem 0}
.failing{border-left-color:#c62828}.at_risk{border-left-color:#ef8f00}
.badge{display:inline-block;font-size:.75rem;font-weight:700;padding:.05rem .45rem;border-radius:.2rem;color:#fff;vertical-align:middle}
.badge.failing{background:#c62828}.badge.at_risk{background:#b26a00}
.card h3{margin:.1rem 0 .3rem;font-size:1.05rem;word-break:break-all}
.counts{color:#555;font-size:.85rem}
.finding{margin:.6rem 0}
.summary{font-weight:600}
.code{font-family:ui-monospace,monospace;font-size:.8rem;color:#666}
ul{margin:.3rem 0;padding-left:1.2rem}
li{margin:.15rem 0;word-break:break-word}
pre{background:#1e1e1e;color:#eee;padding:.5rem .6rem;border-radius:.25rem;overflow-x:auto;margin:.3rem 0;font-size:.85rem;position:relative;white-space:pre}
button.copy{position:absolute;top:.25rem;right:.25rem;font-size:.7rem;padding:.1rem .4rem;cursor:pointer}
.prose{margin:.3rem 0;font-size:.92rem}
table{border-collapse:collapse;font-size:.85rem;width:100%}td,th{border-bottom:1px solid #eee;padding:.15rem .3rem;text-align:left}
.down{background:#fdecea;border:1px solid #e57373;padding:.6rem .9rem;border-radius:.3rem}
details{margin:.5rem 0}
</style></head><body>
<header>
<h1>Why HAProxy answers 503</h1>
<p>HAProxy ${escapeHtml(d.haproxy.version ?? '(version unknown)')} at <code>${escapeHtml(target)}</code>${narrowedTo ? `, backend <code>${escapeHtml(narrowedTo)}</code> only (<a href="?">all</a>)` : ''}</p>
<p>Read at ${escapeHtml(d.generated_at)}; this page refreshes every ${REFRESH_SECONDS} s. Also as <a href="?${narrowedTo ? `backend=${encodeURIComponent(narrowedTo)}&amp;` : ''}format=json">JSON</a> and <a href="?${narrowedTo ? `backend=${encodeURIComponent(narrowedTo)}&amp;` : ''}format=text">text</a>. <a href="alerts">Alerts</a> nosrv sent · <a href="runbooks/">runbooks</a>.</p>
</header>
${d.haproxy.up ? '' : `<div class="down" id="haproxy-down"><strong>nosrv cannot read HAProxy:</strong> ${escapeHtml(d.haproxy.error ?? 'unknown error')}</div>`}
<main>
${failing.length ? `<h2 id="failing">Failing now (${failing.length})</h2>\n${tally(d, 'failing', failing.length)}${failing.join('\n')}` : d.haproxy.up ? '<h2 id="failing">Nothing is failing</h2>' : ''}
${atRisk.length ? `<h2 id="at-risk">At risk (${atRisk.length})</h2>\n${tally(d, 'at_risk', atRisk.length)}${atRisk.join('\n')}` : ''}
${
  d.haproxy.up
    ? `<h2 id="ok">Healthy</h2><p>${okBackends.length} backend${okBackends.length === 1 ? '' : 's'} and ${okFrontends.length} frontend${okFrontends.length === 1 ? '' : 's'} have nothing to report.</p>
${okBackends.length + okFrontends.length ? `<details><summary>Show them</summary><p>${[...okBackends, ...okFrontends].map((x) => `<code>${escapeHtml(x.name)}</code>`).join(', ')}</p></details>` : ''}`
    : ''
}
${configFindings.length ? `<h2 id="config">In the configuration</h2><ul>${configFindings.map(({ f }) => `<li>${escapeHtml(f.summary)}<ul>${f.evidence.map((e) => `<li>${escapeHtml(e)}</li>`).join('')}</ul>${fixBlock(f)}</li>`).join('')}</ul>` : ''}
${d.unknown.length ? `<h2 id="unknown">Not known</h2><ul>${d.unknown.map((u) => `<li>${escapeHtml(u)}</li>`).join('')}</ul>` : ''}
</main>
<script>
for (const pre of document.querySelectorAll('pre')) {
  const button = document.createElement('button');
  button.className = 'copy'; button.type = 'button'; button.textContent = 'copy';
  button.addEventListener('click', () => navigator.clipboard?.writeText(pre.querySelector('code').textContent).then(() => { button.textContent = 'copied'; }));
  pre.appendChild(button);
}
</script>
</body></html>
`;
}

function sections(d: Diagnosis, verdict: Verdict): string[] {
  const out: string[] = [];
  if (d.process.verdict === verdict) out.push(card('process', 'HAProxy process', verdict, [...d.process.causes, ...d.process.risks], ''));
  for (const b of d.backends.filter((x) => x.verdict === verdict)) out.push(backendCard(b));
  for (const f of d.frontends.filter((x) => x.verdict === verdict)) out.push(frontendCard(f));
  return out;
}

function backendCard(b: BackendDiagnosis): string {
  const s = b.servers;
  const counts = `${s.total} server${s.total === 1 ? '' : 's'}: ${s.up} usable${s.down ? `, ${s.down} down` : ''}${s.maint ? `, ${s.maint} in maint` : ''}${s.drain ? `, ${s.drain} draining` : ''}${s.nolb ? `, ${s.nolb} nolb` : ''}${s.unknown ? `, ${s.unknown} in a state nosrv does not know` : ''}${s.backup_up ? ` (${s.backup_up} of them backup)` : ''}`;
  const events = b.events.length
    ? `<details><summary>Recent changes (${b.events.length})</summary><table><tr><th>at</th><th>server</th><th>from</th><th>to</th><th>why</th></tr>${[
        ...b.events,
      ]
        .reverse()
        .map(
          (e) =>
            `<tr><td>${escapeHtml(e.at)}</td><td>${escapeHtml(e.server)}</td><td>${escapeHtml(e.from)}</td><td>${escapeHtml(e.to)}</td><td>${escapeHtml(e.reason ?? '')}</td></tr>`,
        )
        .join('')}</table></details>`
    : '';
  return card('backend', b.name, b.verdict, [...b.causes, ...b.risks], `<div class="counts">${escapeHtml(counts)}</div>`, events + recentLines(b.recent_503));
}

function frontendCard(f: FrontendDiagnosis): string {
  return card('frontend', f.name, f.verdict, [...f.causes, ...f.risks], '', recentLines(f.recent_503));
}

function recentLines(lines: BackendDiagnosis['recent_503']): string {
  if (lines.length === 0) return '';
  return `<details><summary>Last 503s in HAProxy's log (${lines.length})</summary><pre class="log"><code>${lines
    .map((l) => escapeHtml(`${l.at} [${l.reason}] ${l.line}`))
    .join('\n')}</code></pre></details>`;
}

function card(kind: string, name: string, verdict: Verdict, findings: readonly Finding[], header: string, footer = ''): string {
  return `<section class="card ${verdict}" data-kind="${kind}" data-name="${escapeHtml(name)}">
<h3><span class="badge ${verdict}">${verdict === 'failing' ? 'FAILING' : 'AT RISK'}</span> ${escapeHtml(kind)} ${escapeHtml(name)}</h3>
${header}
${findings.map(findingBlock).join('\n')}
${footer}
</section>`;
}

function findingBlock(f: Finding): string {
  return `<div class="finding" data-code="${escapeHtml(f.code)}">
<div class="summary">${escapeHtml(f.summary)} <span class="code">${escapeHtml(f.code)}</span></div>
<ul>${f.evidence.map((e) => `<li>${escapeHtml(e)}</li>`).join('')}</ul>
${fixBlock(f)}
</div>`;
}

function fixBlock(f: Pick<Finding, 'fix' | 'advice'>): string {
  return [...f.advice.map((a) => `<p class="prose">${escapeHtml(a)}</p>`), ...f.fix.map((x) => `<pre><code>${escapeHtml(x)}</code></pre>`)].join('\n');
}

/** Above a list of many: how many of each kind, and of each code. */
function tally(d: Diagnosis, verdict: 'failing' | 'at_risk', shown: number): string {
  return shown > 1 ? `<p class="counts" id="${verdict}-tally">${escapeHtml(tallyText(d, verdict))}</p>\n` : '';
}
