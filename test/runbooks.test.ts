// Every alert has a runbook that says what it means, what it breaks, how to look and what to do;
// nosrv serves them as HTML, with the admin socket it was given in every command that changes state.

import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { ALERTS } from '../src/rules/alerts.js';
import { loadRunbooks, RUNBOOK_ADMIN_SOCAT } from '../src/web/runbooks.js';
import { get } from './support/metrics.js';
import { startNosrv } from './support/nosrv.js';

const runbooks = loadRunbooks();

describe('runbooks', () => {
  test('one per alert, and none for an alert that does not exist', () => {
    assert.deepEqual([...runbooks.keys()].sort(), ALERTS.map((a) => a.alert).sort());
  });

  for (const [name, markdown] of runbooks) {
    test(`${name}: its title, severity, and Meaning, Impact, Diagnosis, Mitigation`, () => {
      assert.equal(markdown.split('\n')[0], `# ${name}`);
      const severity = ALERTS.find((a) => a.alert === name)?.severity;
      assert.match(markdown, new RegExp(`Severity: \\*\\*${severity}\\*\\*`));
      const sections = [...markdown.matchAll(/^## (.+)$/gm)].map((m) => m[1]);
      assert.deepEqual(sections, ['Meaning', 'Impact', 'Diagnosis', 'Mitigation']);
    });

    test(`${name}: commands that change state go through the admin socket`, () => {
      for (const line of markdown.split('\n').filter((l) => /^\s*echo '(set|disable|enable|shutdown|add|del|clear) /.test(l))) {
        assert.ok(line.trimEnd().endsWith(`| ${RUNBOOK_ADMIN_SOCAT}`), line);
      }
    });
  }
});

test('/runbooks/<AlertName> as HTML, with the admin socket nosrv was given', async () => {
  const nosrv = await startNosrv([`--haproxy.socket=${path.join(tmpdir(), 'nosrv-no-such.sock')}`, '--haproxy.admin-socket=/var/lib/haproxy/admin.sock']);
  try {
    const response = await fetch(`${nosrv.url}/runbooks/HAProxyServerHeld`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get('content-type') ?? '', /text\/html/);
    const held = { text: await response.text() };
    assert.match(held.text, /<h2>Mitigation<\/h2>/);
    assert.match(held.text, /state ready&#39; \| socat stdio \/var\/lib\/haproxy\/admin\.sock|state ready' \| socat stdio \/var\/lib\/haproxy\/admin\.sock/);
    assert.doesNotMatch(held.text, /\/run\/haproxy\/admin\.sock/);
    const index = await get(`${nosrv.url}/runbooks/`);
    for (const a of ALERTS) assert.match(index.text, new RegExp(`href="${a.alert}"`));
    assert.equal((await get(`${nosrv.url}/runbooks/HAProxyNope`)).status, 404);
  } finally {
    await nosrv.stop();
  }
});
