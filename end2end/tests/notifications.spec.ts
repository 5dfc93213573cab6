import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test, expect } from '@playwright/test';
import { hydrated, newUser, signIn } from './helpers';

// No mail server is configured for these tests: mail is written as .eml files here.
const mailDir = join(process.env.E2E_DATA_DIR ?? '../target/e2e-data', 'mail');

/** The mails written so far to `address`. */
function mailsTo(address: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(mailDir).filter((name) => name.endsWith('.eml'));
  } catch {
    return [];
  }
  return names
    .map((name) => readFileSync(join(mailDir, name), 'utf8'))
    .filter((mail) => mail.split('\r\n').some((line) => line.toLowerCase() === `to: ${address}`));
}

async function createApplication(page: import('@playwright/test').Page, name: string) {
  await page.goto('/applications');
  await page.getByLabel('Application name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/applications\/\d+$/);
}

test('the unsubscribe link of a mail opens the profile, and one click turns mail off', async ({ page }) => {
  const user = await newUser(page.request, 'mail');
  const address = `${user.username}@example.com`;
  await signIn(page, user.username, user.password);
  await page.getByLabel('Email *').fill(address);
  await page.getByRole('button', { name: 'Update' }).click();
  await expect(page.getByText('Email settings saved.')).toBeVisible();

  await createApplication(page, `Mail ${user.username}`);
  await expect.poll(() => mailsTo(address).length, { timeout: 10_000 }).toBe(1);
  const mail = mailsTo(address)[0];
  expect(mail).toContain('Subject: [AIP Console] Application created');
  const link = /^List-Unsubscribe: <([^>]+)>/m.exec(mail)![1];

  // The link lands on the profile, Email Settings in view, the one-click button focused.
  await page.goto(link);
  await expect(page).toHaveURL(/\/profile\?unsubscribe=[^#]+$/);
  await hydrated(page);
  const turnOff = page.getByRole('button', { name: 'Turn off email notifications' });
  await expect(turnOff).toBeFocused();
  await expect(page.getByRole('switch', { name: 'I want to receive email notifications' })).toBeChecked();
  await turnOff.click();
  await expect(page.getByRole('heading', { name: 'Email notifications are off' })).toBeVisible();

  await page.goto('/profile');
  await expect(page.getByRole('switch', { name: 'I want to receive email notifications' })).not.toBeChecked();

  // The next event sends nothing.
  await createApplication(page, `Quiet ${user.username}`);
  await page.waitForTimeout(2_000);
  expect(mailsTo(address)).toHaveLength(1);
});
