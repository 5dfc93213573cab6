import { gzipSync } from 'node:zlib';
import type { APIRequestContext } from '@playwright/test';
import { proxyURL, sinkDir } from '../proxy.config';
import { expect, hydrated, mailsTo, signIn, tarEntry, tarGz, test } from '../tests/helpers';
import { adminPassword, Cluster, failureBurst, staleSeconds, viaProxy as get } from './cluster';

const KEY = /^[A-Za-z0-9]{8}\.[A-Za-z0-9]{32}$/;
const admin = { Authorization: 'Basic ' + Buffer.from(`admin:${adminPassword}`).toString('base64') };

let cluster: Cluster;

async function newUser(request: APIRequestContext, prefix: string) {
  const username = `${prefix}${Date.now().toString(36)}`;
  const password = `${username}-password`;
  const email = `${username}@example.com`;
  const created = await request.post('/rest/users', {
    headers: admin,
    data: { username, password, role: 'user', email },
  });
  expect(created.status()).toBe(201);
  const auth = { Authorization: 'Basic ' + Buffer.from(`${username}:${password}`).toString('base64') };
  return { username, password, email, auth };
}

async function uploadVersion(request: APIRequestContext, base: string, auth: object, application: number, archive: Buffer) {
  const uploaded = await request.post(`${base}/rest/applications/${application}/versions`, {
    headers: { ...auth },
    multipart: { name: `v${Date.now()}`, archive: { name: 'src.tar.gz', mimeType: 'application/gzip', buffer: archive } },
  });
  expect(uploaded.status(), await uploaded.text()).toBe(201);
  return (await uploaded.json()).id as number;
}

async function startAnalysis(request: APIRequestContext, auth: object, application: number, version: number) {
  const started = await request.post('/rest/jobs', {
    headers: { ...auth },
    data: { application, version, type: 'analyze' },
  });
  expect(started.status()).toBe(202);
  return (await started.json()).id as number;
}

async function jobStatus(request: APIRequestContext, auth: object, job: number) {
  return (await (await request.get(`/rest/jobs/${job}`, { headers: { ...auth } })).json()).status as string;
}

/**
 * A source archive whose analysis takes seconds: 400 MB of code-like text in 50 files, compressed
 * about 100 to 1 (within the console's zip-bomb ratio), as a gzip stream of one member per file.
 */
function slowArchive(): Buffer {
  const lines: string[] = [];
  for (let i = 0; i < 200_000; i++) {
    lines.push(i % 40 === 0 ? `    // section ${i}\n` : `    total = total + value_${i % 7} * factor;\n`);
  }
  const text = Buffer.from(lines.join(''));
  const members = Array.from({ length: 50 }, (_, n) => gzipSync(Buffer.concat(tarEntry(`src/Part${n}.java`, text))));
  members.push(gzipSync(Buffer.alloc(1024)));
  return Buffer.concat(members);
}

/** A new user's analysis of a slow archive, uploaded through the proxy: the job, once an instance runs it, and that instance. */
async function slowAnalysis(request: APIRequestContext, prefix: string, name: string) {
  const user = await newUser(request, prefix);
  const created = await request.post('/rest/applications', { headers: user.auth, data: { name } });
  expect(created.status()).toBe(201);
  const application = (await created.json()).id as number;
  const version = await uploadVersion(request, proxyURL, user.auth, application, slowArchive());
  const job = await startAnalysis(request, user.auth, application, version);
  await expect.poll(() => cluster.runnerOf(job), { timeout: 15_000, intervals: [50] }).toBeDefined();
  return { user, job, runner: cluster.runnerOf(job)! };
}

test.use({ permissions: ['clipboard-read', 'clipboard-write'] });

test.describe.serial('three instances behind HAProxy (TLS), one PostgreSQL, one S3 store', () => {
  test.beforeAll(async () => {
    test.setTimeout(120_000);
    cluster = new Cluster();
    await cluster.start();
  });

  test.afterAll(async () => {
    await cluster?.stop();
  });

  test('sign in over https; a key works on every instance and its replacement ends it everywhere at once', async ({
    page,
    request,
  }) => {
    const user = await newUser(request, 'tls');
    await signIn(page, user.username, user.password);
    const session = (await page.context().cookies()).find((cookie) => cookie.name === 'console_session');
    expect(session?.secure).toBe(true);

    await page.getByRole('button', { name: 'Generate' }).click();
    const key = await page.getByLabel('New API key').inputValue();
    expect(key).toMatch(KEY);
    await page.getByRole('button', { name: 'Copy API key' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key);

    for (const instance of cluster.instances) {
      const direct = await fetch(`http://127.0.0.1:${instance.port}/rest/user`, { headers: { 'X-API-KEY': key } });
      expect(direct.status, instance.name).toBe(200);
    }
    const answered = new Set<string>();
    for (let n = 0; n < 6; n++) {
      const { status, servedBy } = get('/rest/user', { 'X-API-KEY': key });
      expect(status).toBe(200);
      answered.add(servedBy);
    }
    expect([...answered].sort()).toEqual(['one', 'three', 'two']);
    // "Last used from" is the client's address, not the proxy's.
    await page.reload();
    await hydrated(page);
    await expect(page.getByTestId('api-key-last-used')).toContainText('127.0.0.1');

    await page.getByText('Generate', { exact: true }).click();
    await page.getByRole('dialog', { name: 'Confirm: Generate' }).getByRole('button', { name: 'Generate new key' }).click();
    await expect(page.getByLabel('New API key')).not.toHaveValue(key);
    const refusedBy = new Set<string>();
    for (let n = 0; n < 6; n++) {
      const { status, servedBy } = get('/rest/user', { 'X-API-KEY': key });
      expect(status, `request ${n} after the new key, on ${servedBy}`).toBe(401);
      refusedBy.add(servedBy);
    }
    expect([...refusedBy].sort()).toEqual(['one', 'three', 'two']);
  });

  test("one client's bad keys are counted once across the instances; other clients go on", async ({
    page,
    request,
  }) => {
    const user = await newUser(request, 'honest');
    await signIn(page, user.username, user.password);
    await page.getByRole('button', { name: 'Generate' }).click();
    const key = await page.getByLabel('New API key').inputValue();
    expect(key).toMatch(KEY);
    const statuses: number[] = [];
    for (let attempt = 0; attempt < failureBurst + 4; attempt++) {
      const bad = `badbadba.${String(attempt).padStart(32, '0')}`;
      // What the client claims in X-Forwarded-For does not count: the proxy appends the real one.
      statuses.push(get('/rest/user', { 'X-API-KEY': bad, 'X-Forwarded-For': `10.9.9.${attempt}` }, '127.0.0.2').status);
      expect(get('/rest/user', { 'X-API-KEY': key }, '127.0.0.3').status).toBe(200);
    }
    // Counted per instance, three instances would have allowed three times the budget.
    expect(statuses.slice(0, failureBurst)).toEqual(Array(failureBurst).fill(401));
    expect(statuses.slice(failureBurst)).toEqual(Array(4).fill(429));
  });

  test('an archive uploaded through one instance is analysed by another after the first is killed', async ({
    request,
  }) => {
    const user = await newUser(request, 'upload');
    const created = await request.post('/rest/applications', { headers: user.auth, data: { name: 'Moved' } });
    expect(created.status()).toBe(201);
    const application = (await created.json()).id as number;
    const direct = `http://127.0.0.1:${cluster.instances[0].port}`;
    const version = await uploadVersion(request, direct, user.auth, application, tarGz({ 'src/Main.java': 'class Main {}\n' }));
    expect(await cluster.signal(0, 'SIGKILL')).toBeNull();

    const job = await startAnalysis(request, user.auth, application, version);
    await expect.poll(() => jobStatus(request, user.auth, job), { timeout: 30_000 }).toBe('succeeded');
    expect(cluster.runnerOf(job)).not.toBe(0);
    cluster.startInstance(0);
    await cluster.balanced(0);
  });

  test('a job whose instance is killed is finished by another, and each mail arrives once', async ({ request }) => {
    const { user, job, runner: victim } = await slowAnalysis(request, 'killed', 'Survivor');
    expect(await jobStatus(request, user.auth, job)).toBe('running');
    expect(await cluster.signal(victim, 'SIGKILL')).toBeNull();

    // Taken over once its heartbeat is older than staleSeconds.
    await expect
      .poll(() => jobStatus(request, user.auth, job), { timeout: (staleSeconds + 60) * 1000 })
      .toBe('succeeded');
    expect(cluster.runnerOf(job)).not.toBe(victim);
    cluster.startInstance(victim);
    await cluster.balanced(victim);

    const subjects = () => mailsTo(sinkDir, user.email).map((mail) => /^Subject: (.*)$/m.exec(mail)![1]).sort();
    await expect
      .poll(subjects, { timeout: 20_000 })
      .toEqual([
        '[AIP Console] Analyze completed: Survivor',
        '[AIP Console] Application created: Survivor',
        '[AIP Console] New version: Survivor',
      ]);
    const ids = mailsTo(sinkDir, user.email).map((mail) => /^Message-ID: (.*)$/im.exec(mail)![1]);
    expect(new Set(ids).size).toBe(ids.length);
  });

  test('SIGTERM during an analysis: the instance exits 0 at once and another continues the job', async ({ request }) => {
    const { user, job, runner: leaving } = await slowAnalysis(request, 'handover', 'Handed over');

    const stopping = Date.now();
    expect(await cluster.signal(leaving, 'SIGTERM')).toBe(0);
    const stopped = Date.now();
    expect(stopped - stopping).toBeLessThan(20_000);
    // Another instance starts it at its next look, well before a heartbeat could go stale.
    await expect
      .poll(() => {
        const runner = cluster.runnerOf(job);
        return runner !== undefined && runner !== leaving;
      }, { timeout: staleSeconds * 1000, intervals: [50] })
      .toBe(true);
    const tookOver = Date.now() - stopped;
    expect(tookOver).toBeLessThan(staleSeconds * 1000);
    await expect.poll(() => jobStatus(request, user.auth, job), { timeout: 60_000 }).toBe('succeeded');
    cluster.startInstance(leaving);
    await cluster.balanced(leaving);
  });
});
