// The diagnosis in plain words, for a terminal (`nosrv explain`) and `/explain?format=text`.

import type { Diagnosis, Finding, Verdict } from './diagnosis.js';
import { tallyText } from './diagnosisText.js';

const LABEL: Record<Verdict, string> = { failing: 'FAILING', at_risk: 'AT RISK', ok: 'OK' };

export function explainText(d: Diagnosis, target: string): string {
  const lines: string[] = [];
  lines.push(`HAProxy ${d.haproxy.version ?? '(version unknown)'} at ${target}, ${d.generated_at}`);
  if (!d.haproxy.up) lines.push('', `CANNOT READ HAPROXY: ${d.haproxy.error ?? 'unknown error'}`);
  const items = [
    ...(d.process.verdict !== 'ok'
      ? [{ kind: 'process', name: 'HAProxy process', verdict: d.process.verdict, causes: d.process.causes, risks: d.process.risks, recent: [] }]
      : []),
    ...d.backends.map((b) => ({ kind: 'backend', name: b.name, verdict: b.verdict, causes: b.causes, risks: b.risks, recent: b.recent_503 })),
    ...d.frontends.map((f) => ({ kind: 'frontend', name: f.name, verdict: f.verdict, causes: f.causes, risks: f.risks, recent: f.recent_503 })),
  ];
  // With many backends failing at once (a shared dependency down), the count by cause comes first.
  if (items.filter((i) => i.verdict !== 'ok').length > 1) {
    for (const verdict of ['failing', 'at_risk'] as const) {
      if (items.some((i) => i.verdict === verdict)) lines.push('', `${LABEL[verdict]}  ${tallyText(d, verdict)}`);
    }
  }
  for (const verdict of ['failing', 'at_risk'] as const) {
    for (const item of items.filter((i) => i.verdict === verdict)) {
      lines.push('', `${LABEL[verdict]}  ${item.kind} ${item.name}`);
      for (const f of [...item.causes, ...item.risks]) lines.push(...findingLines(f));
      if (item.recent.length > 0) lines.push(`    last 503s in the log:`, ...item.recent.slice(-3).map((r) => `      ${r.at} ${r.line}`));
    }
  }
  const ok = (list: ReadonlyArray<{ name: string; verdict: Verdict }>): string[] => list.filter((x) => x.verdict === 'ok').map((x) => x.name);
  const okBackends = ok(d.backends);
  const okFrontends = ok(d.frontends);
  if (d.haproxy.up)
    lines.push(
      '',
      `OK  ${okBackends.length} backend(s)${okBackends.length ? `: ${someOf(okBackends)}` : ''}; ${okFrontends.length} frontend(s)${okFrontends.length ? `: ${someOf(okFrontends)}` : ''}`,
    );
  const findings = d.backends.flatMap((b) => b.findings);
  if (findings.length > 0) {
    lines.push('', 'In the configuration:');
    for (const f of findings) lines.push(...findingLines(f));
  }
  if (d.unknown.length > 0) lines.push('', 'Not known:', ...d.unknown.map((u) => `  - ${u}`));
  return `${lines.join('\n')}\n`;
}

function findingLines(f: Finding): string[] {
  return [
    `  [${f.code}] ${f.summary}`,
    ...f.evidence.map((e) => `      - ${e}`),
    ...f.advice.map((a) => `    ${a}`),
    ...(f.fix.length ? ['    fix:', ...f.fix.flatMap((x) => x.split('\n').map((l) => `        ${l}`))] : []),
  ];
}

/** The names of healthy items, up to twenty: at 1,000 backends the full list is the JSON's. */
function someOf(names: readonly string[]): string {
  return names.length <= 20 ? names.join(', ') : `${names.slice(0, 20).join(', ')} and ${names.length - 20} more`;
}
