import AxeBuilder from '@axe-core/playwright';
import { test as base, expect, type Page, type APIRequestContext } from '@playwright/test';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { adminPassword, baseURL } from '../playwright.config';

/**
 * Every browser test runs with the console's Content-Security-Policy enforced, as users' browsers
 * do, and fails if anything on its pages was refused by it (an inline script without the page's
 * nonce, a style, an image, a connection). `cspViolations` is what was refused so far, for the
 * test that provokes one on purpose.
 */
export const test = base.extend<{ cspViolations: string[] }>({
  cspViolations: async ({}, use) => {
    await use([]);
  },
  page: async ({ page, cspViolations }, use) => {
    await page.exposeFunction('__reportCspViolation', (violation: string) => {
      cspViolations.push(violation);
    });
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (event) => {
        (window as unknown as { __reportCspViolation: (v: string) => void }).__reportCspViolation(
          `${event.violatedDirective} refused ${event.blockedURI || 'inline'} on ${event.documentURI}`,
        );
      });
    });
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) cspViolations.push(message.text());
    });
    await use(page);
    expect(cspViolations, 'refused by the Content-Security-Policy').toEqual([]);
  },
});

export { expect };

/**
 * Waits until the page's islands (the interactive parts: account menu, copy button) have
 * hydrated; they carry data-ready="false" until then. Everything else is plain HTML and forms.
 */
export async function hydrated(page: Page) {
  await page.waitForLoadState('load');
  await expect(page.locator('[data-ready="false"]')).toHaveCount(0);
}

let counter = 0;

/** Creates a fresh user through the REST API (as the administrator) and returns its credentials. */
export async function newUser(request: APIRequestContext, prefix: string, role = 'user') {
  const username = `${prefix}${Date.now().toString(36)}${counter++}`;
  const password = `${username}-password`;
  const response = await request.post(`${baseURL}/rest/users`, {
    headers: { Authorization: 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64') },
    data: { username, password, role, name: `Name of ${username}` },
  });
  expect(response.status()).toBe(201);
  return { username, password, name: `Name of ${username}` };
}

/** Signs in through the sign-in page, as a person would. */
export async function signIn(page: Page, username: string, password: string, path = '/profile') {
  await page.goto(path);
  await expect(page).toHaveURL(/\/signin\?next=/);
  await hydrated(page);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await expect(page).toHaveURL(new RegExp(`${path.replace('/', '\\/')}$`));
  await hydrated(page);
}

/** A .tar.gz holding `files` (name → text), written the way `tar czf` does. */
export function tarGz(files: Record<string, string>): Buffer {
  const blocks: Buffer[] = Object.entries(files).flatMap(([name, text]) => tarEntry(name, Buffer.from(text)));
  blocks.push(Buffer.alloc(1024));
  return gzipSync(Buffer.concat(blocks));
}

/** The blocks of one regular file in a tar archive: its ustar header, its data, the padding. */
export function tarEntry(name: string, data: Buffer): Buffer[] {
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(data.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  return [header, data, Buffer.alloc((512 - (data.length % 512)) % 512)];
}

/** The mails the SMTP sink keeping its mails in `sinkDir` has received for `address`, oldest first. */
export function mailsTo(sinkDir: string, address: string): string[] {
  let names: string[] = [];
  try {
    names = readdirSync(sinkDir).filter((name) => name.endsWith('.eml'));
  } catch {
    return [];
  }
  return names
    .sort()
    .map((name) => readFileSync(join(sinkDir, name), 'utf8'))
    .filter((mail) => mail.split('\r\n').some((line) => line.toLowerCase() === `to: ${address}`));
}

/** The sizes every page is audited at: a laptop and a phone. */
export const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
];

/** axe-core finds nothing, of any impact, on the page as it is, at each of VIEWPORTS. */
export async function expectAccessible(page: Page, state: string) {
  const original = page.viewportSize();
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize(viewport);
    const results = await new AxeBuilder({ page }).analyze();
    expect(
      results.violations.map((v) => `${state} at ${viewport.width}px: ${v.id} ${v.nodes.map((n) => n.target).join(' ')}`),
    ).toEqual([]);
  }
  if (original) await page.setViewportSize(original);
}

/**
 * What a mail says, whatever transfer encoding its parts use: the raw message, then each
 * quoted-printable or base64 part decoded.
 */
export function mailText(mail: string): string {
  const parts = mail.split(/\r?\n--[^\r\n]+\r?\n/);
  const decoded = parts.map((part) => {
    const [head, ...rest] = part.split(/\r?\n\r?\n/);
    const body = rest.join('\n\n');
    if (/content-transfer-encoding:\s*base64/i.test(head)) {
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8');
    }
    if (/content-transfer-encoding:\s*quoted-printable/i.test(head)) {
      return Buffer.from(
        body.replace(/=\r?\n/g, '').replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16))),
        'latin1',
      ).toString('utf8');
    }
    return part;
  });
  return decoded.join('\n');
}

/** The first link in `mail` whose path starts with `path`. */
export function linkIn(mail: string, path: string): string {
  const found = new RegExp(`https?://[^\\s"<>]+${path}[A-Za-z0-9._~-]+`).exec(mailText(mail));
  expect(found, `a ${path} link in the mail`).not.toBeNull();
  return found![0];
}

/** The subjects of the mail `address` received, sorted. */
export function subjectsTo(sinkDir: string, address: string): string[] {
  return mailsTo(sinkDir, address)
    .map((mail) => /^Subject: (.*)$/m.exec(mail)![1])
    .sort();
}

/** Opens the verification link of the last verification mail to `address` and verifies it. */
export async function verifyAddress(page: Page, sinkDir: string, address: string) {
  const verification = () =>
    mailsTo(sinkDir, address).filter((mail) => mail.includes('Subject: [AIP Console] Verify your email address'));
  await expect.poll(() => verification().length, { timeout: 15_000 }).toBeGreaterThan(0);
  const mails = verification();
  await page.goto(linkIn(mails[mails.length - 1], '/verify-email/'));
  await page.getByRole('button', { name: 'Verify this address' }).click();
  await expect(page.getByTestId('email-verified-now')).toBeVisible();
}
