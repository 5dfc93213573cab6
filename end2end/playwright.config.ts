import { resolve } from 'node:path';
import { defineConfig } from '@playwright/test';
import { chromium, smtpSink } from './browser';

// The release build under test, started by Playwright itself. scripts/test.sh builds it first and
// passes a throwaway data directory in E2E_DATA_DIR.
const port = Number(process.env.E2E_PORT ?? 3100);
export const baseURL = `http://127.0.0.1:${port}`;
export const adminPassword = 'e2e-admin-password';
// Absolute, so the tests (run from end2end/) and the servers (run from the root) agree.
export const dataDir = resolve(process.env.E2E_DATA_DIR ?? '../target/e2e-data');
// The SMTP sink (server/tests/fixtures/smtp_sink.py) the administrator points the console at; it keeps each
// mail it receives as a file in sinkDir.
export const sinkPort = Number(process.env.E2E_SMTP_PORT ?? 3125);
export const sinkDir = `${dataDir}/sink`;

export default defineConfig({
  testDir: './tests',
  outputDir: '../target/playwright',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: { ...chromium.use, baseURL },
  projects: chromium.projects,
  webServer: [
    smtpSink(sinkPort, sinkDir),
    {
      command: './target/release/server',
      cwd: '..',
      url: `${baseURL}/healthz`,
      reuseExistingServer: false,
      timeout: 60_000,
      stdout: 'ignore',
      stderr: 'pipe',
      env: {
        LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
        LEPTOS_SITE_ROOT: 'target/site',
        LEPTOS_HASH_FILES: 'true',
        CONSOLE_DATA_DIR: dataDir,
        CONSOLE_ADMIN_PASSWORD: adminPassword,
        RUST_LOG: 'warn',
      },
    },
  ],
});
