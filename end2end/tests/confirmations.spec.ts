import type { Locator, Page } from '@playwright/test';
import { adminPassword } from '../playwright.config';
import { expect, expectAccessible, newUser, test } from './helpers';

/**
 * Every confirmation (`ui::Confirm`: a modal dialog its button opens without script) on a phone
 * and on a laptop, with JavaScript on and off: it opens beside its button and inside the screen,
 * the focus starts on Cancel (so Enter cancels), Tab never leaves it, Escape and a click outside
 * close it, and the focus returns to the button.
 */

/** The distance between two boxes, 0 when they touch or overlap. */
function distance(a: Box, b: Box): number {
  const dx = Math.max(0, a.x - (b.x + b.width), b.x - (a.x + a.width));
  const dy = Math.max(0, a.y - (b.y + b.height), b.y - (a.y + a.height));
  return Math.hypot(dx, dy);
}
type Box = { x: number; y: number; width: number; height: number };

/** Signs in through the form alone (no waiting for islands: they never wake without script). */
async function signInPlainly(page: Page, username: string, password: string, path: string) {
  await page.goto(path);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`${path}$`));
}

async function focusIsInsideAnOpenDialog(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const focused = document.activeElement;
    // Past the dialog's last button the focus may rest on the document itself for one step
    // (where a browser window would show its address bar); never on the page behind.
    return !focused || focused === document.body || focused.closest('dialog[open]') !== null;
  });
}

async function checkConfirmation(page: Page, button: Locator, action: string, width: number) {
  await button.scrollIntoViewIfNeeded();
  await button.click();
  const dialog = page.getByRole('dialog', { name: `Confirm: ${action}` });
  await expect(dialog).toBeVisible();
  const box = (await dialog.boundingBox())!;
  const at = (await button.boundingBox())!;
  expect(distance(box, at), `${action}: opens beside its button`).toBeLessThanOrEqual(100);
  expect(box.x, `${action}: inside the screen`).toBeGreaterThanOrEqual(0);
  expect(box.x + box.width, `${action}: inside the screen`).toBeLessThanOrEqual(width);
  await expect(dialog.getByRole('button', { name: 'Cancel' }), `${action}: Cancel first`).toBeFocused();

  for (let step = 0; step < 4; step++) {
    await page.keyboard.press('Tab');
    expect(await focusIsInsideAnOpenDialog(page), `${action}: Tab stays inside`).toBe(true);
  }
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  await expect(button, `${action}: the focus returns`).toBeFocused();

  // Enter on a freshly opened confirmation cancels it.
  await button.click();
  await expect(dialog).toBeVisible();
  await page.keyboard.press('Enter');
  await expect(dialog).toBeHidden();
  // A click outside closes it too.
  await button.click();
  await expect(dialog).toBeVisible();
  await page.mouse.click(box.x > 20 ? 5 : width - 5, 5);
  await expect(dialog).toBeHidden();
}

for (const javaScriptEnabled of [true, false]) {
  for (const viewport of [
    { width: 1280, height: 800 },
    { width: 390, height: 844 },
  ]) {
    test.describe(`confirmations at ${viewport.width} wide, JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, () => {
      test.use({ javaScriptEnabled, viewport });

      test('on the profile and on an account page: beside their button, Cancel first, Tab inside', async ({ page, request }) => {
        const user = await newUser(request, 'confirm');
        await signInPlainly(page, user.username, user.password, '/profile');
        await page.getByRole('button', { name: 'Generate', exact: true }).click();
        await expect(page.getByTestId('new-api-key')).toBeVisible();

        await checkConfirmation(page, page.getByRole('button', { name: 'Delete', exact: true }), 'Delete', viewport.width);
        await checkConfirmation(page, page.getByRole('button', { name: 'Generate', exact: true }), 'Generate', viewport.width);
        await checkConfirmation(
          page,
          page.getByRole('button', { name: 'Sign out everywhere', exact: true }),
          'Sign out everywhere',
          viewport.width,
        );
        // Nothing was confirmed: the key is still there.
        await page.reload();
        await expect(page.getByRole('button', { name: 'Delete', exact: true })).toBeVisible();
        // axe runs as a script in the page: with scripts off there is nothing to run it with.
        if (javaScriptEnabled) {
          await page.getByRole('button', { name: 'Delete', exact: true }).click();
          await expectAccessible(page, 'the profile with a confirmation open');
          await page.keyboard.press('Escape');
        }

        await page.context().clearCookies();
        await signInPlainly(page, 'admin', adminPassword, `/admin/users/${user.username}`);
        const account = page.locator(`[data-testid="user-row"][data-username="${user.username}"]`);
        for (const action of ['Disable', 'Make administrator', 'Reset password', 'Revoke API key']) {
          await checkConfirmation(page, account.getByRole('button', { name: action, exact: true }), action, viewport.width);
        }
        if (javaScriptEnabled) {
          await account.getByRole('button', { name: 'Disable', exact: true }).click();
          await expectAccessible(page, 'an account page with a confirmation open');
        }
      });
    });
  }
}
