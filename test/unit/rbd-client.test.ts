import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../activities/command.js';
import { RbdClient } from '../../activities/rbd-client.js';

/** A runner that answers every rbd command with the given exit code and error line. */
const failing =
  (exitCode: number, stderr: string): CommandRunner =>
  () =>
    Promise.resolve({ exitCode, stdout: '', stderr });

describe('RbdClient errors', () => {
  it('name the host, the domain, the step and the image', async () => {
    const client = new RbdClient(failing(5, 'rbd: failed to create snapshot: (5) Input/output error'), { conf: '/etc/ceph/ceph.conf' }, 'hv1');
    const err = await client.snapCreate({ pool: 'vms', image: 'vm1-vdb' }, 'vmsnap-t', 'snap source', { protect: false, context: { domain: 'vm1' } }).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toBe('host hv1, domain vm1, step snap source, rbd snap create vms/vm1-vdb@vmsnap-t: exit 5: rbd: failed to create snapshot: (5) Input/output error');
  });

  it('take a snapshot that exists already, or one already gone, as done', async () => {
    const client = new RbdClient(failing(17, 'rbd: failed to create snapshot: (17) File exists'), { conf: '/c' }, 'hv1');
    await expect(client.snapCreate({ pool: 'vms', image: 'vm1' }, 's', 'snap source', { protect: false })).resolves.toBeUndefined();
    const gone = new RbdClient(failing(2, 'rbd: failed to remove snapshot: (2) No such file or directory'), { conf: '/c' }, 'hv1');
    await expect(gone.snapRemove({ pool: 'vms', image: 'vm1' }, 's', 'remove source snap', { unprotect: true })).resolves.toBeUndefined();
  });
});
