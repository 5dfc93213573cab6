import type { Page } from '@playwright/test';
import AxeBuilder from '@axe-core/playwright';
import { adminPassword, sinkDir, sinkPort } from '../playwright.config';
import { expect, hydrated, mailsTo, newUser, signIn, subjectsTo, tarGz, test, verifyAddress } from './helpers';

async function createApplication(page: Page, name: string) {
  await page.goto('/applications');
  await page.getByLabel('Application name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/applications\/\d+$/);
}

/** Gives the address and turns notifications on (new accounts start with them off). */
async function saveEmail(page: Page, address: string) {
  await page.getByLabel('Email', { exact: true }).fill(address);
  await page.getByRole('switch', { name: 'I want to receive email notifications' }).check({ force: true });
  await page.getByRole('button', { name: 'Update' }).click();
  await expect(page.getByText('Email settings saved.')).toBeVisible();
}

// In order: the second test needs the mail server the first one configures.
test.describe.serial('notification mail', () => {
  test('an administrator configures the mail server, sends a test mail and creates a user', async ({ page }) => {
    await signIn(page, 'admin', adminPassword);
    await expect(page.getByTestId('mail-not-configured')).toBeVisible();
    await saveEmail(page, 'admin@example.com');

    await hydrated(page);
    await page.getByTestId('login-name').click();
    await page.getByRole('navigation', { name: 'Account' }).getByRole('link', { name: 'Administration' }).click();
    await expect(page).toHaveURL(/\/admin$/);
    await expect(page.getByTestId('mail-server-status')).toContainText('No mail server is configured');

    const server = page.getByRole('form', { name: 'Mail server' });
    await server.getByLabel('Host', { exact: true }).fill('127.0.0.1');
    await server.getByLabel('Port', { exact: true }).fill(String(sinkPort));
    await server.getByLabel('Security').selectOption('none');
    await server.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('Mail server settings saved.')).toBeVisible();
    await expect(page.getByTestId('mail-server-status')).toHaveText(
      `Notification mail is sent through 127.0.0.1:${sinkPort}.`,
    );

    await page.getByRole('button', { name: 'Send test email' }).click();
    await expect(page.getByTestId('test-mail-result')).toHaveText(
      `Test mail sent to admin@example.com through 127.0.0.1:${sinkPort}.`,
    );
    await expect.poll(() => mailsTo(sinkDir, 'admin@example.com').length).toBe(1);
    expect(mailsTo(sinkDir, 'admin@example.com')[0]).toContain('Subject: AIP Console: test mail');

    const username = `ops${Date.now().toString(36)}`;
    const newUserForm = page.getByRole('form', { name: 'New user' });
    await newUserForm.getByLabel('Username *').fill(username);
    await newUserForm.getByLabel('Password *').fill('short');
    await newUserForm.getByRole('button', { name: 'Create user' }).click();
    await expect(newUserForm.getByRole('alert')).toHaveText('The password must have 8 to 1024 characters.');
    await newUserForm.getByLabel('Username *').fill(username);
    await newUserForm.getByLabel('Password *').fill('ops-password-1');
    await newUserForm.getByRole('button', { name: 'Create user' }).click();
    // The new account's own page, with what was done.
    await expect(page).toHaveURL(new RegExp(`/admin/users/${username}$`));
    await expect(page.getByTestId('user-action-status')).toHaveText(
      `User ${username} created. They can sign in with the password you chose.`,
    );
    await expect(page.getByTestId('user-status')).toHaveText('Active');

    const audit = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa']).analyze();
    expect(audit.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target).join(', ')}`)).toEqual([]);
  });

  test('a finished job mails its owner; the unsubscribe link opens the profile; one click turns mail off', async ({
    page,
    browser,
  }) => {
    const user = await newUser(page.request, 'mail');
    const address = `${user.username}@example.com`;
    await signIn(page, user.username, user.password);
    await expect(page.getByTestId('mail-not-configured')).toHaveCount(0);
    await saveEmail(page, address);
    // No notification goes to the address until the link in the mail sent to it verifies it.
    await expect(page.getByTestId('email-unverified')).toBeVisible();
    await verifyAddress(page, sinkDir, address);
    await page.goto('/profile');
    await expect(page.getByTestId('email-verified')).toBeVisible();

    await createApplication(page, `Mail ${user.username}`);
    await page.getByLabel('Version name *').fill('1.0');
    await page.getByLabel('Source archive (.zip, .tar.gz) *').setInputFiles({
      name: 'src.tar.gz',
      mimeType: 'application/gzip',
      buffer: tarGz({ 'src/Main.java': 'class Main {}\n' }),
    });
    await page.getByRole('button', { name: 'Upload', exact: true }).click();
    await page.getByRole('button', { name: 'Analyze' }).click();
    await expect(page.getByTestId('job').first().getByTestId('job-status')).toHaveText('succeeded', {
      timeout: 15_000,
    });

    await expect
      .poll(() => subjectsTo(sinkDir, address), { timeout: 15_000 })
      .toEqual([
        `[AIP Console] Analyze completed: Mail ${user.username}`,
        `[AIP Console] Application created: Mail ${user.username}`,
        `[AIP Console] New version: Mail ${user.username}`,
        '[AIP Console] Verify your email address',
      ]);

    // A new key is a security notice, sent whatever the notification setting.
    await page.goto('/profile');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.getByTestId('new-api-key')).toBeVisible();
    await expect
      .poll(() => subjectsTo(sinkDir, address).filter((subject) => subject.includes('API key')), { timeout: 15_000 })
      .toEqual(['[AIP Console] A new API key was generated']);
    const notice = mailsTo(sinkDir, address).find((m) => m.includes('A new API key was generated'))!;
    expect(notice).toContain('whatever your notification setting');
    const mail = mailsTo(sinkDir, address).find((m) => m.includes('Subject: [AIP Console] Analyze completed'))!;
    const link = /^List-Unsubscribe: <([^>]+)>/m.exec(mail)![1];

    // Without a session, with JavaScript off and on: the console's frame, the masked address and
    // one button, which turns mail off by the token alone.
    const notificationsOn = async () => (await (await page.request.get('/rest/user')).json()).notifications;
    for (const javaScriptEnabled of [false, true]) {
      const context = await browser.newContext({ javaScriptEnabled });
      const stranger = await context.newPage();
      for (const viewport of [{ width: 390, height: 844 }, { width: 1280, height: 800 }]) {
        await stranger.setViewportSize(viewport);
        await stranger.goto(link);
        await expect(stranger.getByRole('banner')).toBeVisible();
        await expect(stranger.locator('main')).toContainText(`${user.username[0]}•••@example.com`);
        // axe runs as a script in the page.
        if (javaScriptEnabled) {
          const axe = await new AxeBuilder({ page: stranger }).analyze();
          expect(axe.violations.map((v) => v.id)).toEqual([]);
        }
      }
      await expect(stranger.getByLabel('Password')).toHaveCount(0);
      await stranger.getByRole('button', { name: 'Turn off email notifications' }).click();
      await expect(stranger.getByTestId('unsubscribed')).toContainText('Email notifications are off for');
      expect(await notificationsOn()).toBe(false);
      if (javaScriptEnabled) {
        const axe = await new AxeBuilder({ page: stranger }).analyze();
        expect(axe.violations.map((v) => v.id)).toEqual([]);
      }
      await context.close();
      // On again, from the profile.
      await page.goto('/profile');
      await saveEmail(page, address);
      expect(await notificationsOn()).toBe(true);
    }

    // Signed in, the link lands on the profile, Email Settings in view, the one-click button focused.
    await page.goto(link);
    await expect(page).toHaveURL(/\/profile\?unsubscribe=[^#]+$/);
    await hydrated(page);
    const turnOff = page.getByRole('button', { name: 'Turn off email notifications' });
    await expect(turnOff).toBeFocused();
    await expect(page.getByRole('switch', { name: 'I want to receive email notifications' })).toBeChecked();
    await turnOff.click();
    await expect(page.getByTestId('unsubscribed')).toContainText('Email notifications are off for');

    await page.goto('/profile');
    await expect(page.getByRole('switch', { name: 'I want to receive email notifications' })).not.toBeChecked();

    // The next event sends nothing.
    await createApplication(page, `Quiet ${user.username}`);
    await page.waitForTimeout(2_000);
    expect(mailsTo(sinkDir, address)).toHaveLength(5);
  });
});
