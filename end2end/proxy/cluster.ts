import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { clusterDir, proxyPort, proxyURL, sinkPort } from '../proxy.config';

/**
 * The console as operators run it on several machines: three instances of the release build,
 * each with a data directory of its own, on one PostgreSQL database and one S3 store, behind
 * HAProxy terminating TLS with a certificate openssl makes for the run. The instances are
 * children of the test process, so a test can kill one (-9 or SIGTERM), see how it exits and
 * start it again.
 */

export const adminPassword = 'proxy-admin-password';
/** Failed REST authentications one client may make across all instances. */
export const failureBurst = 6;
/** A job whose instance died is taken over after this long without a heartbeat. */
export const staleSeconds = 6;

const root = resolve('..');
const names = ['one', 'two', 'three'];
const firstPort = proxyPort + 1;

/**
 * A GET of `path` through the proxy with curl, sent from `from` (a loopback address of its own):
 * the status, and which instance answered (HAProxy says so in `X-Served-By`).
 */
export function viaProxy(path: string, headers: Record<string, string> = {}, from = '127.0.0.1') {
  const out = execFileSync('curl', [
    '-sk', '--interface', from, '-o', '/dev/null', '-D', '-',
    ...Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}: ${value}`]),
    `${proxyURL}${path}`,
  ]).toString();
  return {
    status: Number(/^HTTP\/\S+ (\d+)/m.exec(out)?.[1]),
    servedBy: /^x-served-by: (\S+)/im.exec(out)?.[1] ?? '',
  };
}

export interface Instance {
  name: string;
  port: number;
  dataDir: string;
  log: string;
  process?: ChildProcess;
  exit?: Promise<number | null>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run the suite with scripts/test.sh`);
  return value;
}

export class Cluster {
  readonly instances: Instance[];
  private haproxy?: ChildProcess;
  private readonly databaseUrl: string;
  private readonly store: string;

  constructor() {
    const run = Date.now().toString(36);
    const admin = required('TEST_POSTGRES_URL');
    const database = `console_proxy_${run}`;
    execFileSync('psql', [admin, '-qc', `CREATE DATABASE ${database}`]);
    this.databaseUrl = `${admin.slice(0, admin.lastIndexOf('/'))}/${database}`;
    this.store = `${required('TEST_ARCHIVE_S3')}/proxy-${run}`;
    rmSync(`${clusterDir}/instances`, { recursive: true, force: true });
    this.instances = names.map((name, index) => {
      const dataDir = `${clusterDir}/instances/${name}`;
      mkdirSync(dataDir, { recursive: true });
      return { name, port: firstPort + index, dataDir, log: `${dataDir}/server.log` };
    });
  }

  /** Starts the instances (the first alone: it creates the schema and the administrator), then HAProxy. */
  async start() {
    this.startInstance(0);
    await this.ready(0);
    this.startInstance(1);
    this.startInstance(2);
    await Promise.all([this.ready(1), this.ready(2)]);
    this.startProxy();
    await Promise.all(this.instances.map((_, index) => this.balanced(index)));
  }

  async stop() {
    for (const instance of this.instances) instance.process?.kill('SIGKILL');
    this.haproxy?.kill('SIGKILL');
  }

  /** Starts instance `index` (again), appending to its log. */
  startInstance(index: number) {
    const instance = this.instances[index];
    const log = openSync(instance.log, 'a');
    const child = spawn(`${root}/target/release/server`, [], {
      cwd: root,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        DATABASE_URL: this.databaseUrl,
        CONSOLE_DATA_DIR: instance.dataDir,
        CONSOLE_ARCHIVE_STORE: this.store,
        LEPTOS_SITE_ADDR: `127.0.0.1:${instance.port}`,
        LEPTOS_SITE_ROOT: 'target/site',
        LEPTOS_HASH_FILES: 'true',
        CONSOLE_PUBLIC_URL: proxyURL,
        CONSOLE_TRUSTED_PROXIES: '127.0.0.1',
        CONSOLE_SECRET: 'the-secret-every-instance-of-the-proxy-suite-shares',
        CONSOLE_ADMIN_PASSWORD: adminPassword,
        CONSOLE_AUTH_FAILURE_BURST: String(failureBurst),
        CONSOLE_JOB_STALE_SECONDS: String(staleSeconds),
        CONSOLE_SMTP_HOST: '127.0.0.1',
        CONSOLE_SMTP_PORT: String(sinkPort),
        CONSOLE_SMTP_SECURITY: 'none',
        RUST_LOG: 'info,sqlx=warn,sea_orm=warn',
      },
    });
    instance.process = child;
    instance.exit = new Promise((done) => child.once('exit', (code) => done(code)));
  }

  /** Waits until instance `index` answers `/readyz` itself. */
  async ready(index: number) {
    const { port, log } = this.instances[index];
    for (let tries = 0; tries < 300; tries++) {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/readyz`)).ok) return;
      } catch {
        // not listening yet
      }
      await new Promise((wait) => setTimeout(wait, 100));
    }
    throw new Error(`instance ${index} did not start:\n${readFileSync(log, 'utf8')}`);
  }

  /** Waits until HAProxy sends requests to instance `index` again (its health check passed). */
  async balanced(index: number) {
    const name = this.instances[index].name;
    for (let tries = 0; tries < 200; tries++) {
      for (let round = 0; round < names.length; round++) {
        try {
          if (viaProxy('/healthz').servedBy === name) return;
        } catch {
          // HAProxy is not listening yet
        }
      }
      await new Promise((wait) => setTimeout(wait, 100));
    }
    throw new Error(`HAProxy does not send requests to ${name}`);
  }

  /** Sends `signal` to instance `index`; resolves with its exit code once it exited. */
  async signal(index: number, signal: 'SIGKILL' | 'SIGTERM'): Promise<number | null> {
    const instance = this.instances[index];
    instance.process!.kill(signal);
    return instance.exit!;
  }

  /**
   * The instance whose log says it started job `id` last (by the lines' timestamps: a job handed
   * back on SIGTERM starts again with the same attempt number), by index.
   */
  runnerOf(id: number): number | undefined {
    let runner: number | undefined;
    let latest = '';
    const started = new RegExp(`^(\\S+)\\s.*job started job_id=${id} `, 'gm');
    this.instances.forEach((instance, index) => {
      if (!existsSync(instance.log)) return;
      for (const match of readFileSync(instance.log, 'utf8').matchAll(started)) {
        // RFC 3339 UTC timestamps of one format compare as strings.
        if (match[1] > latest) {
          latest = match[1];
          runner = index;
        }
      }
    });
    return runner;
  }

  private startProxy() {
    const certificate = `${clusterDir}/proxy.pem`;
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=127.0.0.1',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', `${clusterDir}/proxy.key`, '-out', `${clusterDir}/proxy.crt`,
    ], { stdio: 'ignore' });
    writeFileSync(
      certificate,
      readFileSync(`${clusterDir}/proxy.crt`, 'utf8') + readFileSync(`${clusterDir}/proxy.key`, 'utf8'),
    );
    const servers = this.instances
      .map(({ name, port }) => `  server ${name} 127.0.0.1:${port} check inter 500ms fall 2 rise 1`)
      .join('\n');
    const config = `${clusterDir}/haproxy.cfg`;
    writeFileSync(
      config,
      readFileSync(resolve('proxy/haproxy.cfg'), 'utf8')
        .replace('BIND', `127.0.0.1:${proxyPort}`)
        .replace('CERTIFICATE', certificate)
        .replace('  SERVERS', servers),
    );
    this.haproxy = spawn(existsSync('/usr/sbin/haproxy') ? '/usr/sbin/haproxy' : 'haproxy', ['-f', config, '-db'], {
      stdio: ['ignore', 'ignore', openSync(`${clusterDir}/haproxy.log`, 'w')],
    });
  }
}
