import { adminPassword, baseURL } from '../playwright.config';
import { expect, expectAccessible, newUser, signIn, tarGz, test } from './helpers';

const basic = 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64');

for (const javaScriptEnabled of [true, false]) {
  const how = javaScriptEnabled ? 'with JavaScript' : 'without JavaScript';

  test(`the users list pages by plain links, ${how}`, async ({ browser, request }) => {
    // 55 accounts sharing a prefix: a full page of 50 and 5 on the next.
    const prefix = `pg${javaScriptEnabled ? 'js' : 'nojs'}${Date.now().toString(36)}`;
    for (let index = 0; index < 55; index++) {
      const response = await request.post(`${baseURL}/rest/users`, {
        headers: { Authorization: basic },
        data: { username: `${prefix}-${String(index).padStart(2, '0')}`, password: `${prefix}-password-${index}`, role: 'user' },
      });
      expect(response.status()).toBe(201);
    }
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    await page.goto('/admin');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill(adminPassword);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/admin$/);

    await page.getByLabel('Filter by name, username or email').fill(prefix.toUpperCase());
    await page.getByRole('button', { name: 'Filter', exact: true }).click();
    const rows = page.getByTestId('user-row');
    await expect(rows).toHaveCount(50);
    await expect(rows.first()).toHaveAttribute('data-username', `${prefix}-00`);
    await page.getByRole('link', { name: 'Next page' }).click();
    await expect(rows).toHaveCount(5);
    await expect(rows.first()).toHaveAttribute('data-username', `${prefix}-50`);
    await expect(page.getByRole('link', { name: 'Next page' })).toHaveCount(0);
    // The filter travels with the page link.
    expect(new URL(page.url()).searchParams.get('q')).toBe(prefix.toUpperCase());
    await page.getByRole('link', { name: 'First page' }).click();
    await expect(rows).toHaveCount(50);
    await context.close();
  });

  test(`the application page pages its versions, ${how}`, async ({ browser, request }) => {
    const user = await newUser(request, 'pgapp');
    const auth = { Authorization: 'Basic ' + Buffer.from(`${user.username}:${user.password}`).toString('base64') };
    const created = await request.post(`${baseURL}/rest/applications`, { headers: auth, data: { name: 'Paged' } });
    expect(created.status()).toBe(201);
    const application = (await created.json()).id;
    const archive = tarGz({ 'paged/src/Main.java': 'class Main {}\n' });
    for (let index = 1; index <= 23; index++) {
      const uploaded = await request.post(`${baseURL}/rest/applications/${application}/versions`, {
        headers: auth,
        multipart: { name: `1.${index}`, archive: { name: 'src.tar.gz', mimeType: 'application/gzip', buffer: archive } },
      });
      expect(uploaded.status()).toBe(201);
    }
    const context = await browser.newContext({ javaScriptEnabled });
    const page = await context.newPage();
    if (javaScriptEnabled) {
      await signIn(page, user.username, user.password, `/applications/${application}`);
    } else {
      await page.goto(`/applications/${application}`);
      await page.getByLabel('Username').fill(user.username);
      await page.getByLabel('Password').fill(user.password);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page).toHaveURL(new RegExp(`/applications/${application}$`));
    }
    const versions = page.getByTestId('versions').locator('tbody tr');
    await expect(versions).toHaveCount(20);
    await expect(versions.first()).toContainText('1.23');
    await page.getByRole('link', { name: 'Older versions' }).click();
    await expect(versions).toHaveCount(3);
    await expect(versions.last()).toContainText('1.1');
    await expect(page).toHaveURL(/versions_after=.*#versions$/);
    await expect(page.getByTestId('application-name')).toHaveText('Paged');
    if (javaScriptEnabled) await expectAccessible(page, 'an application page after the first page of versions');
    await context.close();
  });
}
