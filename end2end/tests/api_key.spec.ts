import { baseURL } from '../playwright.config';
import { expect, hydrated, newUser, signIn, test } from './helpers';

const KEY = /^[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}$/;

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

test('generate a key, copy it, use it, and see it only once; delete it', async ({ page, request }) => {
  const user = await newUser(request, 'keys');
  await signIn(page, user.username, user.password);

  await expect(page.getByTestId('no-api-key')).toBeVisible();
  await expect(page.getByRole('button', { name: 'Delete' })).toBeDisabled();
  await page.getByRole('button', { name: 'Generate' }).click();

  const field = page.getByLabel('New API key');
  await expect(field).toHaveValue(KEY);
  const key = await field.inputValue();
  await expect(page.getByText('It will not be shown again.')).toBeVisible();

  await page.getByRole('button', { name: 'Copy API key' }).click();
  await expect(page.getByText('Copied')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);

  const ok = await request.get(`${baseURL}/rest/user`, { headers: { 'X-API-KEY': key } });
  expect(ok.status()).toBe(200);
  expect((await ok.json()).username).toBe(user.username);

  // Reload: the secret is gone for good; the public prefix remains.
  await page.reload();
  await hydrated(page);
  await expect(page.getByLabel('New API key')).toHaveCount(0);
  expect(await page.content()).not.toContain(key.slice(9));
  await expect(page.getByTestId('api-key-prefix')).toHaveText(`${key.slice(0, 8)}.••••`);
  await expect(page.getByTestId('api-key-last-used')).toContainText('127.0.0.1');

  // Generating again asks first; the old key stops working at once.
  await page.getByText('Generate', { exact: true }).click();
  const confirmGenerate = page.getByRole('dialog', { name: 'Confirm: Generate' });
  await expect(confirmGenerate).toContainText('Your current key stops working immediately.');
  await confirmGenerate.getByRole('button', { name: 'Generate new key' }).click();
  await expect(page.getByLabel('New API key')).not.toHaveValue(key);
  const second = await page.getByLabel('New API key').inputValue();
  expect(second).toMatch(KEY);
  expect((await request.get(`${baseURL}/rest/user`, { headers: { 'X-API-KEY': key } })).status()).toBe(401);

  // Delete, confirmed: the no-key text is back and the key is refused.
  await page.getByText('Delete', { exact: true }).click();
  const confirmDelete = page.getByRole('dialog', { name: 'Confirm: Delete' });
  await expect(confirmDelete).toContainText('stops working immediately');
  await confirmDelete.getByRole('button', { name: 'Yes, delete' }).click();
  await expect(page.getByTestId('no-api-key')).toHaveText('No API Key found, click generate to create a new one');
  await expect(page.getByLabel('New API key')).toHaveCount(0);
  const refused = await request.get(`${baseURL}/rest/user`, { headers: { 'X-API-KEY': second } });
  expect(refused.status()).toBe(401);
  expect((await refused.json()).error).toBe('invalid_api_key');
});
