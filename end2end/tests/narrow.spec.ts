import type { APIRequestContext, Page } from '@playwright/test';
import { adminPassword } from '../playwright.config';
import { expect, newUser, signIn, tarGz, test } from './helpers';

/**
 * On a phone (390 px wide) no page is wider than the screen, reports included: wide tables
 * scroll sideways inside their own region instead.
 */

const project = {
  'narrow/src/main/java/org/example/very/deeply/nested/package/name/WithALongClassName.java': 'class A {\n  void run() {}\n}\n',
  'narrow/web/app.ts': 'export const x = 1;\n\n',
  'narrow/scripts/build.py': 'print("hello")\n',
  'narrow/README.md': '# Narrow\n',
  'narrow/src/style.css': 'body { margin: 0 }\n',
};

async function finished(request: APIRequestContext, headers: Record<string, string>, job: number) {
  await expect
    .poll(async () => (await (await request.get(`/rest/jobs/${job}`, { headers })).json()).status, { timeout: 30_000 })
    .toBe('succeeded');
}

async function expectNoWiderThanTheScreen(page: Page, path: string) {
  await page.goto(path);
  const width = await page.evaluate(() => document.documentElement.scrollWidth);
  expect(width, `${path} is ${width} px wide`).toBeLessThanOrEqual(390);
}

test.use({ viewport: { width: 390, height: 844 } });

test('no page is wider than a phone, reports included', async ({ page }) => {
  // A long login name: the top bar must wrap or cut it, not widen the page.
  const user = await newUser(page.request, 'narrowwithaverylongloginname');
  const headers = { Authorization: 'Basic ' + Buffer.from(`${user.username}:${user.password}`).toString('base64') };
  const created = await page.request.post('/rest/applications', { headers, data: { name: `NARROW ${Date.now().toString(36)}` } });
  const application = (await created.json()).id;
  const jobs: number[] = [];
  for (const name of ['1.0', '2.0']) {
    const files = name === '1.0' ? project : { ...project, 'narrow/web/more.ts': 'export const y = 2;\n' };
    const uploaded = await page.request.post(`/rest/applications/${application}/versions`, {
      headers,
      multipart: { name, archive: { name: 'narrow.tar.gz', mimeType: 'application/gzip', buffer: tarGz(files) } },
    });
    expect(uploaded.status()).toBe(201);
    const version = (await uploaded.json()).id;
    for (const type of ['analyze', 'compare']) {
      const started = await page.request.post('/rest/jobs', { headers, data: { application, version, type } });
      expect(started.status()).toBe(202);
      jobs.push((await started.json()).id);
    }
  }
  for (const job of jobs) await finished(page.request, headers, job);

  await signIn(page, user.username, user.password);
  for (const path of [
    '/profile',
    '/applications',
    `/applications/${application}`,
    ...jobs.map((job) => `/applications/${application}/jobs/${job}`),
  ]) {
    await expectNoWiderThanTheScreen(page, path);
  }

  await page.context().clearCookies();
  await signIn(page, 'admin', adminPassword, '/admin');
  for (const path of ['/admin', `/admin/users/${user.username}`, '/admin/audit']) {
    await expectNoWiderThanTheScreen(page, path);
  }
});
