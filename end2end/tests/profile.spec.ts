import { expect, hydrated, newUser, signIn, test } from './helpers';

test('sign in, open the profile from the login-name menu, and save email settings', async ({ page, request }) => {
  const user = await newUser(request, 'profile');
  await signIn(page, user.username, user.password, '/');

  // Upper right: the login name opens a menu with Profile and Sign out.
  await page.getByTestId('login-name').click();
  await expect(page.getByRole('link', { name: 'Profile', exact: true })).toBeVisible();
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();
  await page.getByRole('link', { name: 'Profile', exact: true }).click();
  await expect(page).toHaveURL(/\/profile$/);

  await expect(page.getByTestId('avatar')).toBeVisible();
  await expect(page.getByTestId('profile-name')).toHaveText(user.name);

  // Both sections collapse and expand with their arrow toggles.
  for (const [title, inside] of [
    ['API Key', page.getByTestId('no-api-key')],
    ['Email Settings', page.getByRole('button', { name: 'Update' })],
  ] as const) {
    await expect(inside).toBeVisible();
    await page.getByRole('heading', { name: title }).click();
    await expect(inside).toBeHidden();
    await page.getByRole('heading', { name: title }).click();
    await expect(inside).toBeVisible();
  }
  await expect(page.getByTestId('no-api-key')).toHaveText('No API Key found, click generate to create a new one');

  // Change the address and the toggle, Update, reload: persisted.
  const email = page.getByLabel('Email', { exact: true });
  const toggle = page.getByRole('switch', { name: 'I want to receive email notifications' });
  // A new account has no address, so notifications start off: the form accepts its first state.
  await expect(toggle).not.toBeChecked();
  await page.getByRole('button', { name: 'Update' }).click();
  await expect(page.getByText('Email settings saved.')).toBeVisible();
  await page.getByLabel('Email', { exact: true }).fill(`${user.username}@example.com`);
  await page.getByRole('switch', { name: 'I want to receive email notifications' }).check({ force: true });
  await page.getByRole('button', { name: 'Update' }).click();
  await expect(page.getByText('Email settings saved.')).toBeVisible();
  await page.reload();
  await hydrated(page);
  await expect(page.getByText('Email settings saved.')).toHaveCount(0);
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(`${user.username}@example.com`);
  await expect(page.getByRole('switch', { name: 'I want to receive email notifications' })).toBeChecked();

  // An invalid address: the error is shown next to the form and nothing is saved.
  await page.getByLabel('Email', { exact: true }).fill('not an address');
  await page.getByRole('button', { name: 'Update' }).click();
  await expect(page.getByRole('alert')).toContainText('email address');
  await page.reload();
  await expect(page.getByLabel('Email', { exact: true })).toHaveValue(`${user.username}@example.com`);

  // Notifications on without an address are refused with a message.
  await hydrated(page);
  await page.getByLabel('Email', { exact: true }).fill('');
  await page.getByRole('switch', { name: 'I want to receive email notifications' }).check({ force: true });
  await page.getByRole('button', { name: 'Update' }).click();
  await expect(page.getByRole('alert')).toContainText('to receive notifications');

  // Sign out from the menu; the profile then sends us to sign-in.
  await page.getByTestId('login-name').click();
  await page.getByRole('button', { name: 'Sign out', exact: true }).click();
  await expect(page).toHaveURL(/\/signin$/);
  await page.goto('/profile');
  await expect(page).toHaveURL(/\/signin\?next=%2Fprofile$/);
});

test('the login-name menu works with the keyboard', async ({ page, request }) => {
  const user = await newUser(request, 'keyboard');
  await signIn(page, user.username, user.password, '/');
  await page.locator('summary', { has: page.getByTestId('login-name') }).focus();
  await page.keyboard.press('Enter');
  await expect(page.getByRole('link', { name: 'Profile', exact: true })).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(page.getByRole('link', { name: 'Profile', exact: true })).toBeHidden();
  // The focus is back on the menu's button, not lost to the page.
  await expect(page.locator('summary', { has: page.getByTestId('login-name') })).toBeFocused();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('link', { name: 'Profile', exact: true })).toBeFocused();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/profile$/);
});

test('the login-name menu closes on a click outside it and when the focus leaves it', async ({ page, request }) => {
  const user = await newUser(request, 'menu');
  await signIn(page, user.username, user.password);
  const menu = page.locator('details', { has: page.getByTestId('login-name') });
  const profile = page.getByRole('link', { name: 'Profile', exact: true });
  await page.getByTestId('login-name').click();
  await expect(profile).toBeVisible();
  await page.getByTestId('profile-name').click();
  await expect(profile).toBeHidden();
  await expect(menu).not.toHaveAttribute('open');

  // By keyboard: the focused item shows a ring; tabbing past the last item closes the menu.
  await page.locator('summary', { has: page.getByTestId('login-name') }).focus();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Tab');
  await expect(profile).toBeFocused();
  expect(await profile.evaluate((link) => getComputedStyle(link).boxShadow)).not.toBe('none');
  await page.keyboard.press('Tab');
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeFocused();
  await page.keyboard.press('Tab');
  await expect(profile).toBeHidden();
  await expect(menu).not.toHaveAttribute('open');
});

test('wrong credentials get a clear message', async ({ page }) => {
  await page.goto('/signin');
  await hydrated(page);
  await page.getByLabel('Username').fill('admin');
  await page.getByLabel('Password').fill('certainly-wrong');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page.getByRole('alert')).toHaveText('Wrong username or password.');
  await expect(page).toHaveURL(/\/signin(\?|$)/);
  await expect(page.getByLabel('Username')).toBeVisible();
});

test('the Content-Security-Policy lets the islands run and refuses an injected script', async ({ page, request, cspViolations }) => {
  const user = await newUser(request, 'csp');
  await signIn(page, user.username, user.password);
  const answer = await page.reload();
  const policy = answer!.headers()['content-security-policy'];
  const nonce = /'nonce-([^']+)'/.exec(policy)?.[1];
  expect(nonce, policy).toBeTruthy();
  expect(policy).toContain("'wasm-unsafe-eval'");
  expect(policy).toContain("frame-ancestors 'none'");
  await hydrated(page);
  // The island loader carries this response's nonce (a new one per response).
  expect(await page.locator('script[type="module"]').evaluate((script: HTMLScriptElement) => script.nonce)).toBe(nonce);
  // An island works: the account menu opens.
  await page.getByTestId('login-name').click();
  await expect(page.getByRole('button', { name: 'Sign out', exact: true })).toBeVisible();

  // A script smuggled into the page without the nonce does not run, and is reported.
  const ran = await page.evaluate(async () => {
    const script = document.createElement('script');
    script.textContent = 'window.__injected = true;';
    document.body.append(script);
    await new Promise((resolve) => setTimeout(resolve, 100));
    return (window as unknown as { __injected?: boolean }).__injected === true;
  });
  expect(ran).toBe(false);
  await expect.poll(() => cspViolations.length).toBeGreaterThan(0);
  expect(cspViolations.join('\n')).toContain('script-src');
  cspViolations.length = 0;
});
