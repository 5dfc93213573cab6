import { resolve } from 'node:path';
import { defineConfig } from '@playwright/test';
import { chromium, smtpSink } from './browser';

// The scale-out suite: three instances of the release build on one PostgreSQL and one S3 store,
// behind HAProxy terminating TLS (end2end/proxy/cluster.ts starts them). scripts/test.sh starts
// PostgreSQL and the S3 store first and passes them in TEST_POSTGRES_URL and AWS_*.
export const proxyPort = Number(process.env.E2E_PROXY_PORT ?? 3443);
export const proxyURL = `https://127.0.0.1:${proxyPort}`;
export const clusterDir = resolve(process.env.E2E_PROXY_DIR ?? '../target/e2e-proxy');
export const sinkPort = Number(process.env.E2E_PROXY_SMTP_PORT ?? 3126);
export const sinkDir = `${clusterDir}/sink`;

export default defineConfig({
  testDir: './proxy',
  outputDir: '../target/playwright-proxy',
  timeout: 120_000,
  expect: { timeout: 15_000 },
  fullyParallel: false,
  workers: 1,
  forbidOnly: !!process.env.CI,
  retries: 0,
  reporter: [['list']],
  use: {
    ...chromium.use,
    baseURL: proxyURL,
    // The proxy's certificate is self-signed, made by openssl for this run.
    ignoreHTTPSErrors: true,
  },
  projects: chromium.projects,
  webServer: [smtpSink(sinkPort, sinkDir)],
});
