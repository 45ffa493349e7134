import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { beforeAll, describe, expect, it } from 'vitest';
import { SEARCH_ATTRIBUTE_NAMES } from '../../common/constants.js';
import { loadWorkerConfig, workerConfigSchema } from '../../workers/config.js';

// The files under deploy/ that operators copy (systemd unit, example config, Compose file) must not
// drift from the code: the unit's command line is parsed by the CLI itself, the example config by
// the worker's schema, and the Compose file's versions are the lab's.
const root = fileURLToPath(new URL('../../', import.meta.url));
const read = (p: string) => readFileSync(path.join(root, p), 'utf8');
const unitFile = 'deploy/systemd/vmsnap-worker.service';

/** systemd's unit syntax: sections, `Key=value` (repeatable), comments, `\` continuations. */
function parseUnit(text: string): Map<string, [string, string][]> {
  const sections = new Map<string, [string, string][]>();
  let current: [string, string][] = [];
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const section = /^\[(.+)\]$/.exec(line);
    if (section?.[1]) sections.set(section[1], (current = []));
    else current.push([line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)]);
  }
  return sections;
}
const unit = parseUnit(read(unitFile));
const values = (section: string, key: string) => (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
const value = (section: string, key: string) => values(section, key).at(-1);

/** The vmsnap CLI as cli/main.ts builds it, with every action replaced by a recorder. */
async function cliWithRecorder(): Promise<{ program: Command; parse: (argv: string[]) => { command: string; opts: Record<string, unknown> } }> {
  const program = new Command('vmsnap').exitOverride().configureOutput({ writeOut: () => undefined, writeErr: () => undefined });
  for (const file of readdirSync(path.join(root, 'cli/commands')).filter((f) => f.endsWith('.ts'))) {
    const mod = (await import(path.join(root, 'cli/commands', file))) as Record<string, unknown>;
    for (const [name, fn] of Object.entries(mod)) if (name.startsWith('register') && typeof fn === 'function') (fn as (p: Command) => void)(program);
  }
  let seen: { command: string; opts: Record<string, unknown> } | undefined;
  const record = (cmd: Command, prefix: string) => {
    for (const sub of cmd.commands) {
      const id = `${prefix}${sub.name()}`;
      sub.exitOverride().action(function (this: Command) {
        seen = { command: id, opts: this.opts() };
      });
      record(sub, `${id} `);
    }
  };
  record(program, '');
  return {
    program,
    parse: (argv) => {
      seen = undefined;
      program.parse(argv, { from: 'node' });
      if (!seen) throw new Error(`no command ran for ${argv.join(' ')}`);
      return seen;
    },
  };
}

describe('the systemd unit', () => {
  let cli: Awaited<ReturnType<typeof cliWithRecorder>>;
  beforeAll(async () => {
    cli = await cliWithRecorder();
  }, 60_000);

  it('starts the built CLI with a worker command line the CLI accepts', () => {
    const argv = (value('Service', 'ExecStart') ?? '').split(/\s+/);
    const pkg = JSON.parse(read('package.json')) as { bin: { vmsnap: string } };
    expect(argv[0]).toBe('/usr/bin/node');
    expect(argv[1]).toBe(`/opt/vmsnap/${pkg.bin.vmsnap}`);
    const run = cli.parse(argv);
    expect(run.command).toBe('worker');
    expect(run.opts.config).toBe('/etc/vmsnap/worker.json');
  });

  it('sets only connection variables that the worker reads (its --help names them)', () => {
    const worker = cli.program.commands.find((c) => c.name() === 'worker');
    const documented = new Set(worker?.options.flatMap((o) => [...o.description.matchAll(/env ([A-Z0-9_]+)/g)].map((m) => m[1])));
    expect(documented.has('TEMPORAL_ADDRESS')).toBe(true);
    const example = [...read('deploy/examples/worker.env').matchAll(/^#?([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]);
    const fromUnit = values('Service', 'Environment').map((e) => e.split('=')[0]);
    expect(example.length).toBeGreaterThan(0);
    for (const name of [...example, ...fromUnit]) expect(documented, `${name} is not read by vmsnap worker`).toContain(name);
    expect(values('Service', 'EnvironmentFile')).toEqual(['-/etc/vmsnap/worker.env']);
  });

  it('stops gracefully: SIGTERM to node, then SIGKILL to what is left; restarts on failure', () => {
    expect(value('Service', 'KillMode')).toBe('mixed');
    expect(value('Service', 'Restart')).toBe('on-failure');
    expect(Number.parseInt(value('Service', 'TimeoutStopSec') ?? '0', 10)).toBeGreaterThanOrEqual(30);
    expect(value('Unit', 'After')).toMatch(/\blibvirtd\.service\b/);
  });

  it('lets the worker write where the example config puts files, and hides the rest', () => {
    const writable = [`/var/lib/${value('Service', 'StateDirectory') ?? ''}`, ...values('Service', 'ReadWritePaths').flatMap((v) => v.split(/\s+/)).map((p) => p.replace(/^-/, ''))];
    expect(value('Service', 'ProtectSystem')).toBe('strict');
    expect(writable).toContain('/var/lib/libvirt/images');
    const config = loadWorkerConfig(path.join(root, 'deploy/examples/worker.json'), {});
    const underWritable = (p: string) => writable.some((w) => p === w || p.startsWith(`${w}/`));
    expect(underWritable(config.stateDir), config.stateDir).toBe(true);
    for (const [name, s] of Object.entries(config.stores)) if (s.type === 'file') expect(underWritable(s.path), `store ${name}: ${s.path}`).toBe(true);
  });

  it('passes systemd-analyze verify without a warning', () => {
    // systemd comes with libvirt-daemon-system, which deploy/test.sh installs before the tests.
    expect(spawnSync('systemd-analyze', ['--version']).status, 'systemd-analyze is missing: install Debian systemd').toBe(0);
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vmsnap-unit-'));
    try {
      copyFileSync(path.join(root, unitFile), path.join(dir, 'vmsnap-worker.service'));
      const r = spawnSync('systemd-analyze', ['verify', path.join(dir, 'vmsnap-worker.service')], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr.split('\n').filter((l) => l.includes('vmsnap-worker.service'))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('the example worker config', () => {
  it('is valid, covers every store type, and keeps Keystone secrets in files', () => {
    const raw = JSON.parse(read('deploy/examples/worker.json')) as unknown;
    const parsed = workerConfigSchema.parse(raw);
    expect(parsed.host, 'no fixed host name: each hypervisor defaults to its own').toBeUndefined();
    const stores = Object.values(parsed.stores ?? {});
    expect(new Set(stores.map((s) => s.type))).toEqual(new Set(['file', 'rbd', 'glance']));
    const auths = stores.flatMap((s) => (s.type === 'glance' && s.auth ? [s.auth] : []));
    expect(new Set(auths.map((a) => a.method))).toEqual(new Set(['password', 'application_credential']));
    for (const a of auths) {
      if (a.method === 'password') expect([a.password, a.passwordFile]).toEqual([undefined, expect.stringMatching(/^\/etc\/vmsnap\//)]);
      else expect([a.applicationCredentialSecret, a.secretFile]).toEqual([undefined, expect.stringMatching(/^\/etc\/vmsnap\//)]);
    }
  });
});

describe('the Compose file', () => {
  // A YAML parser that is already installed (eslint's); none is added for this test alone.
  let load: ((text: string) => unknown) | undefined;
  try {
    load = (createRequire(import.meta.url)('js-yaml') as { load: (text: string) => unknown }).load;
  } catch {
    load = undefined;
  }
  type Service = { image?: string; depends_on?: Record<string, unknown>; environment?: Record<string, string>; volumes?: string[]; command?: string[] };

  it('parses, pins the lab versions, and sets up what vmsnap needs', () => {
    expect(load, "js-yaml (eslint's) is gone: add a YAML parser to devDependencies").toBeDefined();
    const compose = load?.(read('deploy/compose/compose.yaml')) as { services: Record<string, Service> };
    const services = compose.services;
    const common = read('deploy/common.sh');
    const version = (name: string) => /:-v([0-9.]+)\}/.exec(common.split('\n').find((l) => l.startsWith(`${name}=`)) ?? '')?.[1];
    const tag = (image: string) => Object.values(services).find((s) => s.image?.startsWith(`${image}:`))?.image?.split(':')[1]?.split(/\s/)[0];
    expect(version('TEMPORAL_SERVER_VERSION'), 'deploy/common.sh names the server version').toBeDefined();
    expect(tag('temporalio/server')).toBe(version('TEMPORAL_SERVER_VERSION'));
    expect(tag('temporalio/ui')).toBe(version('TEMPORAL_UI_VERSION'));
    expect(tag('temporalio/admin-tools')?.startsWith(`${version('TEMPORAL_SERVER_VERSION')}-`)).toBe(true);
    for (const [name, s] of Object.entries(services)) {
      expect(s.image, name).toMatch(/^[a-z0-9/._-]+:[A-Za-z0-9._-]+$/);
      expect(s.image, name).not.toMatch(/:latest$/);
      for (const dep of Object.keys(s.depends_on ?? {})) expect(Object.keys(services), `${name} depends on ${dep}`).toContain(dep);
    }
    const init = (services['temporal-init']?.command ?? []).join('\n');
    for (const sa of Object.values(SEARCH_ATTRIBUTE_NAMES)) expect(init).toContain(sa);
    const server = services.temporal;
    const dynamic = server?.environment?.DYNAMIC_CONFIG_FILE_PATH ?? '';
    const mount = server?.volumes?.find((v) => dynamic.startsWith(`${v.split(':')[1] ?? '?'}/`));
    expect(mount, 'the dynamic config file is mounted').toBeDefined();
    expect(existsSync(path.join(root, 'deploy/compose', mount?.split(':')[0] ?? '', path.basename(dynamic)))).toBe(true);
  });
});
