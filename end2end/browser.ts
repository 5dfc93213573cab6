import { devices, type PlaywrightTestConfig } from '@playwright/test';

/**
 * How both suites run Chromium: Debian's build, headless, with nothing that would reach the
 * network on its own (this machine's network is closed; such connections fail one by one).
 */
export const chromium: Pick<PlaywrightTestConfig, 'projects'> & { use: PlaywrightTestConfig['use'] } = {
  use: {
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--disable-quic',
      ],
    },
  },
  projects: [{ name: 'chromium', use: { ...devices['Desktop Chrome'], channel: undefined } }],
};

/** The SMTP sink (server/tests/fixtures/smtp_sink.py) on `port`, keeping each mail as a file in `dir`. */
export function smtpSink(port: number, dir: string) {
  return {
    command: `.venv/bin/python server/tests/fixtures/smtp_sink.py --port ${port} --dir ${dir}`,
    cwd: '..',
    port,
    reuseExistingServer: false,
    timeout: 30_000,
    stdout: 'ignore' as const,
    stderr: 'pipe' as const,
  };
}
