import { adminPassword } from '../playwright.config';
import { expect, expectAccessible, hydrated, newUser, signIn, test } from './helpers';

/**
 * Finds `username` in Administration → Users (filtered, then through its link, as an
 * administrator would among many accounts), opens the confirmation of `action` on the account's
 * page and confirms it.
 */
async function confirmUserAction(page: import('@playwright/test').Page, username: string, action: string, yes: string) {
  await page.goto('/admin');
  await page.getByLabel('Filter by name, username or email').fill(username);
  await page.getByRole('button', { name: 'Filter', exact: true }).click();
  await page.getByRole('link', { name: username, exact: true }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/users/${username}$`));
  const account = page.locator(`[data-testid="user-row"][data-username="${username}"]`);
  await account.getByRole('button', { name: action, exact: true }).click();
  await page.getByRole('dialog', { name: `Confirm: ${action}` }).getByRole('button', { name: yes }).click();
  await expect(page).toHaveURL(new RegExp(`/admin/users/${username}$`));
  return account;
}

test('an administrator disables a user signed in elsewhere: their next page is the sign-in page with the reason, their key is refused', async ({
  page,
  browser,
}) => {
  const user = await newUser(page.request, 'gone');
  const context = await browser.newContext();
  const elsewhere = await context.newPage();
  await signIn(elsewhere, user.username, user.password);
  await elsewhere.getByRole('button', { name: 'Generate' }).click();
  const key = (await elsewhere.getByLabel('New API key').inputValue()).trim();
  const withKey = () => elsewhere.request.get('/rest/user', { headers: { 'X-API-KEY': key } });
  expect((await withKey()).status()).toBe(200);

  await signIn(page, 'admin', adminPassword, '/admin');
  const row = await confirmUserAction(page, user.username, 'Disable', 'Yes, disable');
  await expect(row.getByTestId('user-status')).toHaveText('Disabled');
  await expect(page.getByTestId('user-action-status')).toContainText(`${user.username} disabled: signed out everywhere`);
  await expectAccessible(page, 'administration with a disabled user');

  await elsewhere.goto('/applications');
  await expect(elsewhere).toHaveURL(/\/signin\?next=/);
  await expect(elsewhere.getByTestId('session-ended')).toHaveText(
    'This account is disabled. Ask an administrator to enable it.',
  );
  expect((await withKey()).status()).toBe(401);
  await hydrated(elsewhere);
  await elsewhere.getByLabel('Username').fill(user.username);
  await elsewhere.getByLabel('Password').fill(user.password);
  await elsewhere.getByRole('button', { name: 'Sign in' }).click();
  await expect(elsewhere.getByRole('alert')).toContainText('This account is disabled');

  // The audit page shows it, filtered to the user.
  await page.goto(`/admin/audit?user=${user.username}`);
  await expect(page.locator('[data-testid="security-event"][data-kind="disabled"]')).toContainText('by admin');
  await expectAccessible(page, 'audit page');

  // Enabled again, they sign in anew.
  await confirmUserAction(page, user.username, 'Enable', 'Yes, enable');
  await elsewhere.getByLabel('Password').fill(user.password);
  await elsewhere.getByRole('button', { name: 'Sign in' }).click();
  await expect(elsewhere).toHaveURL(/\/applications$/);
  await context.close();
});

test('a password change says why a weak one is refused, then ends the other sessions but not this one', async ({
  page,
  browser,
}) => {
  const user = await newUser(page.request, 'pw');
  const context = await browser.newContext({ javaScriptEnabled: false });
  const other = await context.newPage();
  await other.goto('/profile');
  await other.getByLabel('Username').fill(user.username);
  await other.getByLabel('Password').fill(user.password);
  await other.getByRole('button', { name: 'Sign in' }).click();
  await expect(other).toHaveURL(/\/profile$/);

  await signIn(page, user.username, user.password);
  const form = page.getByRole('form', { name: 'Change password' });
  await form.getByLabel('Current password').fill(user.password);
  await form.getByLabel(/^New password \(/).fill('password123');
  await form.getByLabel('New password again').fill('password123');
  await form.getByRole('button', { name: 'Change password' }).click();
  const newPassword = page.locator('#password-new');
  await expect(newPassword).toHaveAttribute('aria-invalid', 'true');
  await expect(page.locator('#password-new-error')).toContainText('This password is too weak');
  await expectAccessible(page, 'profile with a weak password refused');

  const strong = 'lantern-orchid-basalt-77';
  await form.getByLabel('Current password').fill(user.password);
  await form.getByLabel(/^New password \(/).fill(strong);
  await form.getByLabel('New password again').fill(strong);
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(page.getByText('Password changed. Every other session of your account was signed out.')).toBeVisible();
  await expect(page.locator('[data-testid="security-event"][data-kind="password_changed"]')).toBeVisible();

  // This session stays; the other one (without JavaScript) is signed out with the reason.
  await page.goto('/applications');
  await expect(page).toHaveURL(/\/applications$/);
  await other.goto('/applications');
  await expect(other).toHaveURL(/\/signin\?next=/);
  await expect(other.getByTestId('session-ended')).toContainText('You were signed out because your password changed');
  await context.close();
});

test('a reset shows the administrator a temporary password once, which opens only the password form', async ({
  page,
  browser,
}) => {
  const user = await newUser(page.request, 'reset');
  await signIn(page, 'admin', adminPassword, '/admin');
  await confirmUserAction(page, user.username, 'Reset password', 'Yes, reset');
  const shown = page.getByLabel(`Temporary password for ${user.username}`);
  const temporary = await shown.inputValue();
  expect(temporary).toMatch(/^[A-Za-z0-9]{20}$/);
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await page.getByRole('button', { name: 'Copy temporary password' }).click();
  await expect(page.getByTestId('temporary-password').getByText('Copied')).toBeVisible();
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(temporary);
  await page.reload();
  await expect(page.getByTestId('temporary-password')).toHaveCount(0);

  const context = await browser.newContext();
  const them = await context.newPage();
  await them.goto('/applications');
  await hydrated(them);
  await them.getByLabel('Username').fill(user.username);
  await them.getByLabel('Password').fill(temporary);
  await them.getByRole('button', { name: 'Sign in' }).click();
  // Anything they open, the password form comes first.
  await expect(them).toHaveURL(/\/profile#password$/);
  await expect(them.getByTestId('must-change-password')).toBeVisible();
  await expect(them.getByRole('heading', { name: 'API Key' })).toHaveCount(0);
  const form = them.getByRole('form', { name: 'Change password' });
  await form.getByLabel('Current password').fill(temporary);
  await form.getByLabel(/^New password \(/).fill('granite-pelican-summit-31');
  await form.getByLabel('New password again').fill('granite-pelican-summit-31');
  await form.getByRole('button', { name: 'Change password' }).click();
  await expect(them.getByRole('heading', { name: 'API Key' })).toBeVisible();
  await them.goto('/applications');
  await expect(them).toHaveURL(/\/applications$/);
  await context.close();
});
