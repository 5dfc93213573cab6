import { execFileSync } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { expect, expectAccessible, hydrated, newUser, signIn, tarGz, test } from './helpers';

const dataDir = process.env.E2E_DATA_DIR ?? '../target/e2e-data';

/**
 * The archive stored last: the version just uploaded (the tests run one at a time). Archives are
 * objects of the store (`<data dir>/archives` by default) under names the server chose.
 */
function newestArchive(): string {
  const directory = join(dataDir, 'archives');
  const files = readdirSync(directory)
    .map((name) => join(directory, name))
    .filter((path) => statSync(path).isFile());
  return files.reduce((newest, path) => (statSync(path).mtimeMs > statSync(newest).mtimeMs ? path : newest));
}

const project = {
  'meudon/src/Main.java': 'class Main {\n  void run() {}\n}\n',
  'meudon/src/Util.java': 'class Util {\n}\n',
  'meudon/web/app.ts': 'export const x = 1;\n\n',
  'meudon/README.md': '# Meudon\n',
};

test('create an application, upload a version, analyse it and watch it finish', async ({ page }) => {
  const user = await newUser(page.request, 'apps');
  await signIn(page, user.username, user.password);

  // From the top bar, by keyboard.
  await page.getByRole('link', { name: 'Applications' }).focus();
  await page.keyboard.press('Enter');
  await expect(page).toHaveURL(/\/applications$/);
  await expect(page.getByTestId('no-applications')).toBeVisible();

  const name = `MEUDON ${Date.now().toString(36)}`;
  await page.getByLabel('Application name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/applications\/\d+$/);
  await expect(page.getByTestId('application-name')).toHaveText(name);

  // An upload without a file is refused next to the field; nothing is stored.
  await page.getByLabel('Version name *').fill('1.0');
  await page.getByLabel('Version name *').evaluate((input) => input.closest('form')!.noValidate = true);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(page.locator('#version-archive-error')).toContainText('Choose a .zip or .tar.gz archive to upload.');
  await expect(page.getByTestId('no-versions')).toBeVisible();

  await page.getByLabel('Version name *').fill('1.0');
  await page.getByLabel('Source archive (.zip, .tar.gz) *').setInputFiles({
    name: 'meudon-1.0.tar.gz',
    mimeType: 'application/gzip',
    buffer: tarGz(project),
  });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(page.getByTestId('versions')).toContainText('1.0');
  await expect(page.getByTestId('versions')).toContainText('tar.gz');

  // Hold the stored archive behind a named pipe so the job visibly runs until we let it read.
  const archive = newestArchive();
  const bytes = readFileSync(archive);
  rmSync(archive);
  execFileSync('mkfifo', [archive]);

  await page.getByRole('button', { name: 'Analyze' }).click();
  await hydrated(page);
  const job = page.getByTestId('job').first();
  await expect(job.getByTestId('job-status')).toHaveText('running');
  await expect(job.getByRole('button', { name: /Stop job/ })).toBeVisible();

  // Let the analysis read the archive; the page updates by itself.
  writeFileSync(archive, bytes);
  await expect(job.getByTestId('job-status')).toHaveText('succeeded', { timeout: 15_000 });
  await expect(job.getByTestId('job-totals')).toHaveText('4 files · 8 lines · 76 B');
  await expectAccessible(page, 'an application with a finished analysis');

  // The full report is on the job's own page, which the list links to.
  await job.getByRole('link', { name: 'Analyze of 1.0' }).click();
  await expect(page).toHaveURL(/\/applications\/\d+\/jobs\/\d+$/);
  await expect(page.getByTestId('job-title')).toHaveText('Analyze of 1.0');
  const java = page.getByTestId('languages').getByRole('row', { name: /Java/ });
  await expect(java).toContainText('2');
  await expect(java).toContainText('5');
  await page.getByText('Largest files').click();
  await expect(page.getByTestId('largest-files')).toContainText('meudon/src/Main.java');

  // No accessibility violations on the job's page with its report.
  await expectAccessible(page, 'a finished analysis');
  rmSync(archive);
  writeFileSync(archive, bytes);

  // Compare, the other kind: the first version compares with nothing.
  await page.getByRole('link', { name: `← ${name}` }).click();
  await page.getByRole('button', { name: 'Compare' }).click();
  const compared = page.getByTestId('job').first();
  await expect(compared).toContainText('Compare of 1.0');
  await expect(compared.getByTestId('job-status')).toHaveText('succeeded', { timeout: 15_000 });
  await expect(compared.getByTestId('job-totals')).toHaveText('4 added · 0 removed · 0 changed');
  await compared.getByRole('link', { name: 'Compare of 1.0' }).click();
  await expect(page.getByTestId('comparison-summary')).toHaveText(
    'First version: every file is new. 4 added · 0 removed · 0 changed · 0 unchanged',
  );
  await expect(page.getByTestId('language-changes').getByRole('row', { name: /Java/ })).toContainText('0 → 2 (+2)');
  await expectAccessible(page, 'a finished comparison');
});

test('a running job can be stopped from the page', async ({ page }) => {
  const user = await newUser(page.request, 'stop');
  await signIn(page, user.username, user.password, '/applications');
  await page.getByLabel('Application name').fill(`Stop ${Date.now().toString(36)}`);
  await page.getByRole('button', { name: 'Create' }).click();
  await expect(page).toHaveURL(/\/applications\/\d+$/);
  await page.getByLabel('Version name *').fill('1');
  await page.getByLabel('Source archive (.zip, .tar.gz) *').setInputFiles({
    name: 'p.tar.gz',
    mimeType: 'application/gzip',
    buffer: tarGz(project),
  });
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await expect(page.getByTestId('versions')).toContainText('tar.gz');
  const archive = newestArchive();
  const bytes = readFileSync(archive);
  rmSync(archive);
  execFileSync('mkfifo', [archive]);

  await page.getByRole('button', { name: 'Analyze' }).click();
  const job = page.getByTestId('job').first();
  await expect(job.getByTestId('job-status')).toHaveText('running');
  await expectAccessible(page, 'an application with a running job');
  await job.getByRole('button', { name: /Stop job/ }).click();
  await expect(page.getByTestId('job').first().getByTestId('job-status')).toHaveText('stopped');
  await expect(page.getByTestId('job').first()).toContainText(`stopped by ${user.username}`);
  // Release the waiting analysis; the job stays stopped.
  writeFileSync(archive, bytes);
  await page.reload();
  await expect(page.getByTestId('job').first().getByTestId('job-status')).toHaveText('stopped');
  rmSync(archive);
  writeFileSync(archive, bytes);
});

test('jobs that finish while the application page is open update in place: the page never reloads', async ({ page }) => {
  const user = await newUser(page.request, 'live');
  const basic = { Authorization: 'Basic ' + Buffer.from(`${user.username}:${user.password}`).toString('base64') };
  const created = await page.request.post('/rest/applications', { headers: basic, data: { name: `LIVE ${Date.now().toString(36)}` } });
  expect(created.status()).toBe(201);
  const application = (await created.json()).id;
  const uploaded = await page.request.post(`/rest/applications/${application}/versions`, {
    headers: basic,
    multipart: { name: '1.0', archive: { name: 'live.tar.gz', mimeType: 'application/gzip', buffer: tarGz(project) } },
  });
  expect(uploaded.status()).toBe(201);
  const version = (await uploaded.json()).id;

  // The first job waits on its archive, held behind a named pipe; the other four queue behind it
  // (one job at a time per instance).
  const archive = newestArchive();
  const bytes = readFileSync(archive);
  rmSync(archive);
  execFileSync('mkfifo', [archive]);
  for (let n = 0; n < 5; n++) {
    const started = await page.request.post('/rest/jobs', { headers: basic, data: { application, version, type: 'analyze' } });
    expect(started.status()).toBe(202);
  }

  await signIn(page, user.username, user.password, `/applications/${application}`);
  const jobs = page.getByTestId('job');
  await expect(jobs).toHaveCount(5);
  await expect(jobs.getByTestId('job-status').filter({ hasText: /queued|running/ })).toHaveCount(5);
  let navigations = 0;
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });

  // Let the first job read its archive, with a plain file in the pipe's place for the rest: the
  // pipe is opened for writing (the job's read begins), then replaced, then written.
  const pipe = openSync(archive, 'w');
  writeFileSync(`${archive}.plain`, bytes);
  renameSync(`${archive}.plain`, archive);
  writeSync(pipe, bytes);
  closeSync(pipe);

  await expect(jobs.getByTestId('job-status').filter({ hasText: 'succeeded' })).toHaveCount(5, { timeout: 30_000 });
  await expect(jobs.getByTestId('job-totals')).toHaveCount(5);
  await expect(jobs.first().getByTestId('job-totals')).toHaveText('4 files · 8 lines · 76 B');
  expect(navigations, 'the page reloaded itself').toBe(0);
});
