// The /explain page as a person sees it: Debian's Chromium, driven by playwright-core.

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { chromium } from 'playwright-core';
import { freePort, missingTool, startBackend, startHaproxy, waitFor } from '../support/lab.js';
import { get } from '../support/metrics.js';
import { startNosrv } from '../support/nosrv.js';

const ARTIFACTS = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test-artifacts');
const missing = missingTool('haproxy', 'haproxy') ?? missingTool('chromium', 'chromium');

test('/explain in Chromium: the failing backend first, with its fix command', { skip: missing ?? false }, async () => {
  const [a, b] = [await startBackend(), await startBackend()];
  const haproxy = await startHaproxy({
    proxies: `backend be_shop\n    server a 127.0.0.1:${a.port}\n    server b 127.0.0.1:${b.port}\nbackend be_search\n    server s1 127.0.0.1:${a.port}\nbackend be_api\n    server api1 127.0.0.1:${await freePort()} check inter 100ms\n    server api2 127.0.0.1:${await freePort()} check inter 100ms\n`,
  });
  const nosrv = await startNosrv([`--haproxy.socket=${haproxy.userSocket}`]);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  try {
    await waitFor(async () => (await get(`${nosrv.url}/explain?format=text`)).text.includes('FAILING  backend be_api'), {
      timeoutMs: 5000,
      what: 'be_api failing',
    });
    mkdirSync(ARTIFACTS, { recursive: true });
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(`${nosrv.url}/explain`);
    const first = page.locator('section.card').first();
    assert.equal(await first.getAttribute('data-name'), 'be_api');
    assert.match((await first.getAttribute('class')) ?? '', /\bfailing\b/);
    assert.match((await first.locator('h3').innerText()).replace(/\s+/g, ' '), /FAILING backend be_api/);
    const commands = await first.locator('pre code').allInnerTexts();
    // Without --haproxy.admin-socket nosrv does not print the `level user` socket it reads for a command that socket refuses.
    assert.ok(commands.includes(`echo 'set server be_api/api1 health up' | socat stdio <admin socket>`), commands.join('\n'));
    assert.equal(await page.locator('section.card.at_risk').first().getAttribute('data-name'), 'be_search');
    assert.match(await page.locator('#ok + p').innerText(), /1 backend and 0 frontends have nothing to report/);
    await page.screenshot({ path: path.join(ARTIFACTS, 'explain.png'), fullPage: true });

    const phone = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
    await phone.goto(`${nosrv.url}/explain`);
    const overflow = await phone.evaluate<number>('document.documentElement.scrollWidth - window.innerWidth');
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than a phone`);
    await phone.screenshot({ path: path.join(ARTIFACTS, 'explain-phone.png'), fullPage: true });
  } finally {
    await browser.close();
    await nosrv.stop();
    await haproxy.stop();
    await a.close();
    await b.close();
  }
});
