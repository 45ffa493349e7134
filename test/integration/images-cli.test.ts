import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import path from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import type { StoreListing } from '../../activities/images.js';
import type { StoredImage } from '../../activities/stores/image-store.js';
import type { SnapshotResult } from '../../common/result.js';
import { host, makeDomain, vmsnap } from './lab.js';
import { ROOT, TEMPORAL_ADDRESS } from './stack.js';

describe('vmsnap images, --json, exit codes and connection settings', () => {
  it('lists images across stores, shows one, and deletes it', async () => {
    const dom = await makeDomain('imgs', { sizeMiB: 32, layout: 'flat', start: false });
    const inFile = (await vmsnap(['snapshot', dom.name, '--host', host(), '--json'])).json<SnapshotResult>();
    const inPool = (await vmsnap(['snapshot', dom.name, '--host', host(), '--store', 'pool', '--json'])).json<SnapshotResult>();

    const all = await vmsnap(['images', 'list', '--host', host(), '--domain', dom.name, '--json']);
    // Some lab stores cannot be read on purpose (a file where a directory should be, Glance down): exit 4.
    expect(all.code, all.stderr).toBe(4);
    const listings = all.json<StoreListing[]>();
    expect(listings.find((l) => l.store === 'default')?.images.map((i) => i.imageId)).toEqual([inFile.imageId]);
    expect(listings.find((l) => l.store === 'pool')?.images.map((i) => i.imageId)).toEqual([inPool.imageId]);
    expect(listings.find((l) => l.store === 'glance-down')?.error).toMatch(/cannot be reached/);

    const human = await vmsnap(['images', 'list', '--host', host(), '--store', 'default', '--domain', dom.name]);
    expect(human.code).toBe(0);
    expect(human.stdout).toMatch(new RegExp(`^STORE +NAME +ID[^\\n]*\\ndefault +${inFile.imageName} +${inFile.imageId}`));

    const shown = await vmsnap(['images', 'show', inPool.imageName, '--host', host(), '--store', 'pool', '--json']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.json<StoredImage>()).toMatchObject({ imageId: inPool.imageId, sha256: inPool.sha256, source: { domain: dom.name } });

    for (const [store, image] of [['default', inFile.imageName], ['pool', inPool.imageId]] as const) {
      const del = await vmsnap(['images', 'delete', image, '--host', host(), '--store', store, '--json']);
      expect(del.code, del.stderr).toBe(0);
      const after = await vmsnap(['images', 'show', image, '--host', host(), '--store', store, '--json']);
      expect(after.code).toBe(1);
    }
  });

  it('exit codes: 2 for an invalid request, 3 when Temporal cannot be reached', async () => {
    const bad = await vmsnap(['snapshot', 'bad/name', '--host', host(), '--json']);
    expect(bad.code).toBe(2);
    expect(bad.json<{ error: string }>().error).toMatch(/domain: domain may hold only/);
    const missingFlag = await vmsnap(['snapshot', 'vm1']);
    expect(missingFlag.code).toBe(2);
    const down = await vmsnap(['images', 'list', '--host', host(), '--json'], { TEMPORAL_ADDRESS: '127.0.0.1:9' });
    expect(down.code).toBe(3);
    expect(down.json<{ error: string }>().error).toMatch(/cannot reach Temporal at 127.0.0.1:9/);
  });

  it("reads connection settings from a Temporal CLI config profile, and flags win over the environment", async () => {
    const file = path.join(inject('stateDir'), 'temporal.toml');
    await writeFile(file, `[profile.lab]\naddress = "${TEMPORAL_ADDRESS}"\nnamespace = "default"\n\n[profile.nowhere]\naddress = "127.0.0.1:9"\n`);
    const viaProfile = await vmsnap(['images', 'list', '--host', host(), '--store', 'default', '--json', '--profile', 'lab'], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_ADDRESS: '' });
    expect(viaProfile.code, viaProfile.stderr).toBe(0);
    const viaEnvProfile = await vmsnap(['images', 'list', '--host', host(), '--store', 'default', '--json'], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nowhere', TEMPORAL_ADDRESS: '' });
    expect(viaEnvProfile.code).toBe(3);
    const flagWins = await vmsnap(['images', 'list', '--host', host(), '--store', 'default', '--json', '--address', TEMPORAL_ADDRESS], { TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'nowhere' });
    expect(flagWins.code, flagWins.stderr).toBe(0);
  });

  it('on a terminal, a progress bar follows the steps from the progress query', async () => {
    const dom = await makeDomain('tty', { sizeMiB: 64 });
    // `script` gives the CLI a real pseudo-terminal, as an operator's shell would.
    const cli = `node ${path.join(ROOT, 'dist/cli/main.js')} snapshot ${dom.name} --host ${host()} --strategy transient-job --bandwidth 8`;
    const r = await execa('script', ['-qec', cli, '/dev/null'], { env: { TEMPORAL_ADDRESS, TEMPORAL_CONFIG_FILE: '/nonexistent' }, reject: false });
    expect(r.exitCode, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/blockcopy +\[[=-]+\] \d+%/);
    expect(r.stdout).toMatch(/done +\[=+\] 100%/);
    expect(r.stdout).toMatch(/snapshot of .* \(live, transient-job\)/);
  });

  it('--help shows examples and the exit codes', async () => {
    const top = await vmsnap(['--help']);
    expect(top.code).toBe(0);
    expect(top.stdout).toMatch(/Exit codes: 0 done, 1 failed/);
    for (const cmd of [['snapshot'], ['backup'], ['restore'], ['schedule', 'create'], ['images', 'list']]) {
      const h = await vmsnap([...cmd, '--help']);
      expect(h.code).toBe(0);
      expect(h.stdout).toMatch(/Examples?:/);
    }
  });
});
