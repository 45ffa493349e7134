import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { SnapshotResult } from '../../common/result.js';
import { launchChromium } from './browser.js';
import { host, makeDomain, vmsnap } from './lab.js';
import { TEMPORAL_UI_PORT } from './stack.js';

describe('the Web UI tells the story of a snapshot', () => {
  it('finds a vmsnap run by its search attribute and shows its steps, memo and search attributes', async () => {
    const dom = await makeDomain('ui', { sizeMiB: 32 });
    const started = await vmsnap(['snapshot', dom.name, '--host', host(), '--json']);
    expect(started.code, started.stderr).toBe(0);
    const result = started.json<SnapshotResult>();
    expect(result.mode).toBe('live');

    const browser = await launchChromium();
    try {
      const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
      const ui = `http://127.0.0.1:${TEMPORAL_UI_PORT}`;
      await page.goto(`${ui}/namespaces/default/workflows?query=${encodeURIComponent(`VmsnapDomain="${dom.name}"`)}`);
      const runLinks = page.locator('a[href*="/history"]', { hasText: result.workflowId });
      const link = runLinks.first();
      await link.waitFor({ timeout: 30_000 });
      // The filter found this domain's one run, and nothing else.
      expect(await page.locator('a[href*="/history"]', { hasText: /snapshot-/ }).count()).toBe(1);
      await link.click();
      await page.getByText('Completed', { exact: true }).first().waitFor({ timeout: 30_000 });
      await page.getByText('createLiveOverlay').first().waitFor({ timeout: 30_000 });
      const body = await page.locator('body').innerText();
      // One activity per step, by readable name, in the event history's timeline.
      for (const step of ['acquireDomainLock', 'inspectDomain', 'createLiveOverlay', 'convertDisk', 'mergeOverlay', 'commitImage', 'finishRun']) {
        expect(body, `step ${step} shown`).toContain(step);
      }
      expect(body).toContain('snapshotInstance');
      await page.screenshot({ path: path.join(inject('stateDir'), 'web-ui-workflow.png') });

      await page.getByRole('link', { name: 'Memo' }).or(page.getByRole('tab', { name: 'Memo' })).first().click();
      await page.getByText(`live snapshot of ${dom.name}`).first().waitFor({ timeout: 15_000 });
      await page.getByRole('link', { name: 'Search Attributes' }).or(page.getByRole('tab', { name: 'Search Attributes' })).first().click();
      await page.getByText('VmsnapDomain').first().waitFor({ timeout: 15_000 });
      expect(await page.locator('body').innerText()).toContain(dom.name);
    } finally {
      await browser.close();
    }
  });
});
