import { expect, hydrated, newUser, signIn, test } from './helpers';

const KEY = /^[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}$/;

test('a skip link leads past the top bar, and the navigation marks the page one is on', async ({ page, request }) => {
  const user = await newUser(request, 'nav');
  await signIn(page, user.username, user.password, '/applications');
  const applications = page.getByRole('link', { name: 'Applications', exact: true });
  await expect(applications).toHaveAttribute('aria-current', 'page');

  // The first Tab reaches the skip link, shown while focused; it moves the focus to the content.
  await page.locator('body').focus();
  await page.keyboard.press('Tab');
  const skip = page.getByRole('link', { name: 'Skip to content' });
  await expect(skip).toBeFocused();
  await expect(skip).toBeInViewport();
  await page.keyboard.press('Enter');
  await expect(page.locator('#content')).toBeFocused();

  await page.goto('/profile');
  await hydrated(page);
  await expect(applications).not.toHaveAttribute('aria-current');
  await page.getByTestId('login-name').click();
  await expect(page.getByRole('link', { name: 'Profile' })).toHaveAttribute('aria-current', 'page');
});

test('times read as how long ago, with the exact time on hover and in datetime', async ({ page, request }) => {
  const user = await newUser(request, 'times');
  await signIn(page, user.username, user.password, '/applications');
  await page.getByLabel('Application name').fill(`Timed ${Date.now().toString(36)}`);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/applications\/\d+$/);
  const created = page.locator('main time').first();
  await expect(created).toHaveText('just now');
  await expect(created).toHaveAttribute('datetime', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  await expect(created).toHaveAttribute('title', /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
});

test.describe('without JavaScript', () => {
  test.use({ javaScriptEnabled: false });

  test('a new key is shown without a copy button that could not work', async ({ page, request }) => {
    const user = await newUser(request, 'nojscopy');
    await page.goto('/signin?next=%2Fprofile');
    await page.getByLabel('Username').fill(user.username);
    await page.getByLabel('Password').fill(user.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect(page).toHaveURL(/\/profile$/);
    await page.getByRole('button', { name: 'Generate' }).click();
    await expect(page.getByLabel('New API key')).toHaveValue(KEY);
    await expect(page.getByRole('button', { name: 'Copy API key' })).toBeHidden();
  });
});

test('every control Tab reaches shows a focus indicator of at least 3:1', async ({ page, request }) => {
  const user = await newUser(request, 'focus');
  await signIn(page, user.username, user.password, '/profile');
  for (const path of ['/profile', '/applications']) {
    await page.goto(path);
    await hydrated(page);
    await page.locator('body').focus();
    const seen = new Set<string>();
    for (let step = 0; step < 40; step++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const element = document.activeElement as HTMLElement | null;
        if (!element || element === document.body) return null;
        // Any CSS colour (Tailwind's are oklch) as sRGB 0–255 and alpha 0–1, through a canvas.
        const canvas = document.createElement('canvas').getContext('2d', { willReadFrequently: true })!;
        const rgb = (color: string) => {
          canvas.clearRect(0, 0, 1, 1);
          canvas.fillStyle = color;
          canvas.fillRect(0, 0, 1, 1);
          const [r, g, b, a] = canvas.getImageData(0, 0, 1, 1).data;
          return [r, g, b, a / 255];
        };
        const luminance = ([r, g, b]: number[]) => {
          const [R, G, B] = [r, g, b].map((v) => {
            const c = v / 255;
            return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
          });
          return 0.2126 * R + 0.7152 * G + 0.0722 * B;
        };
        const contrast = (a: number[], b: number[]) => {
          const [x, y] = [luminance(a), luminance(b)].sort((p, q) => q - p);
          return (x + 0.05) / (y + 0.05);
        };
        // What is behind: the first ancestor with an opaque background.
        let behind: HTMLElement | null = element.parentElement;
        let background = [255, 255, 255];
        while (behind) {
          const colour = rgb(getComputedStyle(behind).backgroundColor);
          if (colour[3] === 1) {
            background = colour.slice(0, 3);
            break;
          }
          behind = behind.parentElement;
        }
        // The switch draws its ring on the track beside the (visually hidden) checkbox.
        const drawn = element.matches('.peer') ? (element.nextElementSibling as HTMLElement) : element;
        const style = getComputedStyle(element);
        const shadow = getComputedStyle(drawn).boxShadow;
        let best = 0;
        if (style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0) {
          // The browser's own ring (outline: auto) is two-toned, made to show on any background.
          best = style.outlineStyle === 'auto' ? 21 : contrast(rgb(style.outlineColor).slice(0, 3), background);
        }
        for (const colour of shadow === 'none' ? [] : shadow.match(/(?:rgba?|oklch|oklab|lab|lch|hsla?|color)\([^)]*\)/g) ?? []) {
          const parts = rgb(colour);
          if (parts[3] < 1) continue;
          best = Math.max(best, contrast(parts.slice(0, 3), background));
        }
        const name = `${element.tagName} ${element.getAttribute('aria-label') ?? element.textContent?.trim().slice(0, 30)}`;
        return { name, best };
      });
      if (!focused || seen.has(focused.name)) continue;
      seen.add(focused.name);
      expect(focused.best, `${path}: ${focused.name}'s focus indicator`).toBeGreaterThanOrEqual(3);
    }
    expect(seen.size).toBeGreaterThan(5);
  }
});
