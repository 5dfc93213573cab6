import AxeBuilder from '@axe-core/playwright';
import { type Page } from '@playwright/test';
import { expect, hydrated, newUser, signIn, tarGz, test } from './helpers';

/**
 * After a failed submit every form shows what was typed (a password never), the error beside its
 * field, and nothing of either in the URL; a reload shows neither. The same with and without
 * JavaScript: the forms are plain HTML forms either way.
 */

/** The error the field `label` points at with aria-describedby, which must say `text`. */
async function expectErrorBeside(page: Page, field: ReturnType<Page['getByLabel']>, text: string) {
  await expect(field).toHaveAttribute('aria-invalid', 'true');
  const described = await field.getAttribute('aria-describedby');
  expect(described).toBeTruthy();
  await expect(page.locator(`[id="${described}"]`)).toContainText(text);
  await expect(field).toBeFocused();
}

function expectCleanUrl(page: Page) {
  expect(page.url()).not.toMatch(/__err|__path|=saved|_created/);
}

/** Signs in the way a person does, with or without JavaScript. */
async function signInPlain(page: Page, username: string, password: string, path: string) {
  await page.goto(`/signin?next=${encodeURIComponent(path)}`);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`${path.replace(/\//g, '\\/')}$`));
}

for (const javaScriptEnabled of [true, false]) {
  test.describe(`forms with JavaScript ${javaScriptEnabled ? 'on' : 'off'}`, () => {
    test.use({ javaScriptEnabled });

    test('sign-in keeps the username, never the password', async ({ page, request }) => {
      const user = await newUser(request, 'formsignin');
      await page.goto('/signin');
      await page.getByLabel('Username').fill(user.username);
      await page.getByLabel('Password').fill('wrong-password');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
      expectCleanUrl(page);
      await expect(page.getByLabel('Username')).toHaveValue(user.username);
      await expect(page.getByLabel('Password')).toHaveValue('');
      await expect(page.getByLabel('Password')).toBeFocused();
      await page.reload();
      await expect(page.getByRole('alert')).toHaveCount(0);
    });

    test('email settings keep the address typed, beside its error', async ({ page, request }) => {
      const user = await newUser(request, 'formemail');
      await signInPlain(page, user.username, user.password, '/profile');
      // On a phone, where Email Settings start below the fold.
      await page.setViewportSize({ width: 390, height: 844 });
      const email = page.getByLabel('Email', { exact: true });
      await email.fill('not-an-address');
      await page.getByRole('switch', { name: 'I want to receive email notifications' }).check({ force: true });
      await page.getByRole('button', { name: 'Update' }).click();
      await expectErrorBeside(page, page.getByLabel('Email', { exact: true }), 'not a valid email address');
      await expect(page.getByLabel('Email', { exact: true })).toHaveValue('not-an-address');
      await expect(page.getByRole('switch', { name: 'I want to receive email notifications' })).toBeChecked();
      expectCleanUrl(page);
      // The focused field is scrolled into view.
      await expect(page.getByLabel('Email', { exact: true })).toBeInViewport();
      await page.reload();
      await expect(page.getByText('not a valid email address')).toHaveCount(0);
      await expect(page.getByLabel('Email', { exact: true })).toHaveValue('');
    });

    test('new application and upload keep their names', async ({ page, request }) => {
      const user = await newUser(request, 'formapps');
      await signInPlain(page, user.username, user.password, '/applications');
      const name = `Twice ${Date.now().toString(36)}`;
      for (const lands of [/\/applications\/\d+$/, /\/applications$/]) {
        await page.goto('/applications');
        await page.getByLabel('Application name').fill(name);
        await page.getByRole('button', { name: 'Create' }).click();
        await expect(page).toHaveURL(lands);
      }
      await expectErrorBeside(page, page.getByLabel('Application name'), 'You already have an application named');
      await expect(page.getByLabel('Application name')).toHaveValue(name);
      expectCleanUrl(page);

      await page.goto('/applications');
      await page.getByRole('link', { name }).click();
      await page.getByLabel('Version name *').fill('release 1.0');
      await page.getByLabel('Source archive (.zip, .tar.gz) *').setInputFiles({
        name: 'notes.txt',
        mimeType: 'text/plain',
        buffer: Buffer.from('not an archive'),
      });
      await page.getByRole('button', { name: 'Upload' }).click();
      await expect(page.getByLabel('Version name *')).toHaveValue('release 1.0');
      await expect(page.getByLabel('Source archive (.zip, .tar.gz) *')).toHaveAttribute('aria-invalid', 'true');
      expectCleanUrl(page);
      await page.reload();
      await expect(page.getByLabel('Version name *')).toHaveValue('');
      // The start-job form keeps the chosen version (errors beside it are covered by integration tests).
      await page.getByLabel('Version name *').fill('2.0');
      await page.getByLabel('Source archive (.zip, .tar.gz) *').setInputFiles({
        name: 'src.tar.gz',
        mimeType: 'application/gzip',
        buffer: tarGz({ 'a/Main.java': 'class Main {}\n' }),
      });
      await page.getByRole('button', { name: 'Upload' }).click();
      await expect(page.getByTestId('versions')).toContainText('2.0');
    });

    test('API key generate and delete, and starting a job, work as plain forms', async ({ page, request }) => {
      const user = await newUser(request, 'formkey');
      await signInPlain(page, user.username, user.password, '/profile');
      await page.getByRole('button', { name: 'Generate' }).click();
      await expect(page).toHaveURL(/\/profile#api-key$/);
      const key = await page.getByLabel('New API key').inputValue();
      expect(key).toMatch(/^[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}$/);
      await page.getByRole('button', { name: 'Delete', exact: true }).click();
      await page.getByRole('dialog', { name: 'Confirm: Delete' }).getByRole('button', { name: 'Yes, delete' }).click();
      await expect(page.getByTestId('no-api-key')).toBeVisible();
      expectCleanUrl(page);

      await page.goto('/applications');
      await page.getByLabel('Application name').fill(`Jobs ${Date.now().toString(36)}`);
      await page.getByRole('button', { name: 'Create' }).click();
      await expect(page).toHaveURL(/\/applications\/\d+$/);
      for (const name of ['1.0', '2.0']) {
        await page.getByLabel('Version name *').fill(name);
        await page.getByLabel('Source archive (.zip, .tar.gz) *').setInputFiles({
          name: 'src.tar.gz',
          mimeType: 'application/gzip',
          buffer: tarGz({ 'a/Main.java': `class Main { /* ${name} */ }\n` }),
        });
        await page.getByRole('button', { name: 'Upload' }).click();
        await expect(page.getByTestId('versions')).toContainText(name);
      }
      await page.getByRole('combobox', { name: 'Version' }).selectOption({ label: '1.0' });
      await page.getByRole('button', { name: 'Analyze' }).click();
      await expect(page.getByTestId('job').first()).toContainText('Analyze of 1.0');
      expectCleanUrl(page);
    });

    test('administration forms keep what was typed', async ({ page, request }) => {
      const admin = await newUser(request, 'formadmin', 'admin');
      await signInPlain(page, admin.username, admin.password, '/admin');
      // New user with a short password: username, name and email survive; the password does not.
      const username = `short${Date.now().toString(36)}`;
      await page.getByLabel('Username *').fill(username);
      await page.getByLabel('Password * (at least 8 characters)').fill('short');
      await page.getByLabel('Name', { exact: true }).fill('Short Password');
      await page.getByLabel('Email', { exact: true }).fill('short@example.com');
      await page.getByLabel('Role', { exact: true }).selectOption('admin');
      await page.getByRole('button', { name: 'Create user' }).click();
      await expectErrorBeside(page, page.getByLabel('Password * (at least 8 characters)'), '8 to 1024 characters');
      await expect(page.getByLabel('Username *')).toHaveValue(username);
      await expect(page.getByLabel('Name', { exact: true })).toHaveValue('Short Password');
      await expect(page.getByLabel('Email', { exact: true })).toHaveValue('short@example.com');
      await expect(page.getByLabel('Role', { exact: true })).toHaveValue('admin');
      await expect(page.getByLabel('Password * (at least 8 characters)')).toHaveValue('');
      expectCleanUrl(page);

      // Mail server with port 99999: the host typed is still there.
      await page.getByLabel('Host').fill('smtp.example.test');
      await page.getByLabel('Port').fill('99999');
      await page.getByRole('button', { name: 'Save' }).click();
      await expectErrorBeside(page, page.getByLabel('Port'), '1 to 65535');
      await expect(page.getByLabel('Host')).toHaveValue('smtp.example.test');
      await expect(page.getByLabel('Port')).toHaveValue('99999');
      expectCleanUrl(page);
      await page.reload();
      await expect(page.getByText('1 to 65535')).toHaveCount(0);
    });
  });
}

for (const viewport of [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
]) {
  test(`axe finds nothing on the profile and sign-in at ${viewport.width}×${viewport.height}`, async ({ page, request }) => {
    await page.setViewportSize(viewport);
    const audit = async (state: string) => {
      const results = await new AxeBuilder({ page }).analyze();
      expect(results.violations.map((v) => `${state}: ${v.id} ${v.nodes.map((n) => n.target).join(' ')}`)).toEqual([]);
    };
    await page.goto('/signin');
    await page.getByLabel('Username').fill('admin');
    await page.getByLabel('Password').fill('wrong');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page.getByRole('alert')).toBeVisible();
    await audit('sign-in with an error');

    const user = await newUser(request, 'axe');
    await signIn(page, user.username, user.password);
    await audit('profile without a key');
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.getByTestId('new-api-key')).toBeVisible();
    await audit('profile with a fresh key');
    // The whole key is in view, even on a phone.
    const key = page.getByLabel('New API key');
    const box = await key.boundingBox();
    expect(await key.evaluate((area: HTMLTextAreaElement) => area.scrollHeight <= area.clientHeight + 1)).toBe(true);
    expect(box!.width).toBeLessThanOrEqual(viewport.width);
    await page.reload();
    await hydrated(page);
    await audit('profile with a key');
    await page.getByRole('button', { name: 'Delete', exact: true }).click();
    await audit('profile with a confirmation open');
    await page.keyboard.press('Escape');
    await page.getByLabel('Email', { exact: true }).fill('nope');
    await page.getByRole('button', { name: 'Update' }).click();
    await expect(page.getByText('not a valid email address')).toBeVisible();
    await audit('profile with an error');
    await page.goto('/applications');
    await audit('applications');
    await page.goto('/unsubscribe/1.tampered');
    await expect(page.getByText('This unsubscribe link is not valid')).toBeVisible();
    await audit('an invalid unsubscribe link');

    await page.context().clearCookies();
    const admin = await newUser(request, 'axeadmin', 'admin');
    await signIn(page, admin.username, admin.password, '/admin');
    await audit('administration');
    await page.getByLabel('Port').fill('99999');
    await page.getByRole('button', { name: 'Save' }).click();
    await expect(page.getByText('1 to 65535')).toBeVisible();
    await audit('administration with an error');
  });
}

test('signed-out visitors see no Applications link', async ({ page }) => {
  await page.goto('/signin');
  await expect(page.getByRole('banner')).toBeVisible();
  await expect(page.getByRole('link', { name: 'Applications' })).toHaveCount(0);
});
