import { describe, expect, it } from 'vitest';
import { backupTargetFiles, backupXml, parseDomJobRaw } from '../../activities/backup-job.js';
import { retargetDiskSource } from '../../activities/disk-source-xml.js';
import { parseDomainDisks, rootDisk } from '../../activities/domain-xml.js';
import { overlayDiskspecs } from '../../activities/live-overlay.js';
import { parseConvertProgress, parseImageInfo } from '../../activities/qemu-img-output.js';
import { isAlreadyActive, isNoActiveBlockJob, isNoSuchDomain, parseBlockJobRaw, parseDomInfo, parseDomState, parsePersistent, supportsTransientJob } from '../../activities/virsh-output.js';

const DOMAIN = `<domain type='qemu' id='3'>
  <name>vm1</name>
  <devices>
    <disk type='file' device='cdrom'><driver name='qemu' type='raw'/><target dev='hdc' bus='ide'/></disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/var/lib/vm1.qcow2' index='1'/>
      <mirror type='file' file='/w/vda.delta.qcow2' format='qcow2' job='copy' ready='yes'><format type='qcow2'/></mirror>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='network' device='disk'>
      <driver name='qemu' type='raw'/>
      <source protocol='rbd' name='vms/vm1_disk'><host name='127.0.0.1' port='6789'/></source>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>`;

describe('domain XML', () => {
  it('lists disks with their kind, source, format and mirror', () => {
    const disks = parseDomainDisks(DOMAIN);
    expect(disks).toHaveLength(3);
    expect(rootDisk(disks)).toEqual({ target: 'vda', type: 'file', device: 'disk', driverType: 'qcow2', sourceFile: '/var/lib/vm1.qcow2', mirror: { file: '/w/vda.delta.qcow2', ready: true } });
    expect(disks[2]).toMatchObject({ target: 'vdb', type: 'network', rbd: { pool: 'vms', image: 'vm1_disk' } });
  });

  it('finds no root disk in a domain without disks, and refuses non-domain XML', () => {
    expect(rootDisk(parseDomainDisks('<domain><name>x</name><devices/></domain>'))).toBeUndefined();
    expect(() => parseDomainDisks('<network/>')).toThrow(/not a libvirt domain/);
  });
});

describe('virsh output', () => {
  it('parses blockjob --info --raw, and its absence', () => {
    expect(parseBlockJobRaw(' type=Block Copy\n bandwidth=16\n cur=8388608\n end=75497472\n')).toEqual({ type: 'Block Copy', cur: 8388608, end: 75497472 });
    expect(parseBlockJobRaw('')).toBeNull();
  });

  it('reads state, persistence and known errors', () => {
    expect(parseDomState('shut off\n\n')).toBe('shut off');
    expect(parsePersistent('Name:           vm1\nPersistent:     yes\nAutostart:      disable\n')).toBe(true);
    expect(parsePersistent('Persistent:     no\n')).toBe(false);
    expect(isNoSuchDomain("error: failed to get domain 'nope'")).toBe(true);
    expect(isNoActiveBlockJob('error: invalid argument: disk vda does not have an active block job')).toBe(true);
    expect(isAlreadyActive('error: Domain is already active')).toBe(true);
    expect(isAlreadyActive("error: Failed to start domain 'vm1'\nerror: internal error: process exited while connecting to monitor")).toBe(false);
    expect(supportsTransientJob('  [--bytes] [--transient-job] [--synchronous-writes]')).toBe(true);
    expect(supportsTransientJob('  [--bytes]')).toBe(false);
  });
});

describe('qemu-img output', () => {
  it('parses info JSON of an overlay', () => {
    const info = parseImageInfo(JSON.stringify({ 'virtual-size': 268435456, 'actual-size': 8658944, format: 'qcow2', 'full-backing-filename': '/d/base.qcow2', 'backing-filename': 'base.qcow2', 'backing-filename-format': 'qcow2' }));
    expect(info).toEqual({ format: 'qcow2', virtualSize: 268435456, actualSize: 8658944, backingFile: '/d/base.qcow2', backingFormat: 'qcow2' });
  });

  it('reads the last progress figure of convert -p', () => {
    expect(parseConvertProgress('    (0.00/100%)\r    (12.50/100%)\r    (50.01/100%)\r')).toBeCloseTo(0.5001);
    expect(parseConvertProgress('nothing')).toBeNull();
  });
});

describe('backup job', () => {
  it('reads domjobinfo --rawstats of a running and a completed backup', () => {
    expect(parseDomJobRaw('Job type: 2\n\noperation: 9\ntime_elapsed: 219\ndisk_total: 268435456\ndisk_processed: 1048576\ndisk_remaining: 0\n')).toEqual({
      type: 2,
      operation: 9,
      processed: 1048576,
      total: 268435456,
      error: undefined,
    });
    expect(parseDomJobRaw('Job type: 0\n')).toMatchObject({ type: 0, operation: undefined, total: 0 });
    expect(parseDomJobRaw('Job type: 4\noperation: 9\nerrmsg: No space left on device\n')).toMatchObject({ type: 4, error: 'No space left on device' });
  });

  it('writes push-mode XML that backs up the root disk only', () => {
    const xml = backupXml(['vda', 'vdb'], [{ disk: 'vda', dest: '/store/.tag.partial' }], 'qcow2');
    expect(xml).toBe('<domainbackup mode="push"><disks><disk name="vda" type="file"><target file="/store/.tag.partial"></target><driver type="qcow2"></driver></disk><disk name="vdb" backup="no"></disk></disks></domainbackup>');
  });

  it('writes one push-mode job over several disks, each into its own file, in the domain\'s disk order', () => {
    const xml = backupXml(['vda', 'vdb', 'vdc'], [{ disk: 'vdc', dest: '/s/c' }, { disk: 'vda', dest: '/s/a' }], 'raw');
    expect(xml).toBe('<domainbackup mode="push"><disks><disk name="vda" type="file"><target file="/s/a"></target><driver type="raw"></driver></disk><disk name="vdb" backup="no"></disk><disk name="vdc" type="file"><target file="/s/c"></target><driver type="raw"></driver></disk></disks></domainbackup>');
    expect(backupTargetFiles(`<domainbackup mode='push'>\n  <disks>\n    <disk name='vda' backup='yes' type='file'>\n      <driver type='raw'/>\n      <target file='/s/a'/>\n    </disk>\n    <disk name='vdb' backup='no'/>\n    <disk name='vdc' backup='yes' type='file'>\n      <target file="/s/c"/>\n    </disk>\n  </disks>\n</domainbackup>`)).toEqual(['/s/a', '/s/c']);
  });
});

describe('retargetDiskSource', () => {
  const xml = `<domain type='qemu'>
  <name>vm1</name>
  <!-- kept -->
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='/d/vm1.qcow2' index='1'/>
      <backingStore/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <source file='/d/data.qcow2'/>
      <target dev='vdb' bus='virtio'/>
    </disk>
  </devices>
</domain>`;

  it('points the one disk at the new file, drops its backingStore, keeps everything else', () => {
    const out = retargetDiskSource(xml, 'vda', '/d/vm1.ovl.qcow2');
    const disks = parseDomainDisks(out);
    expect(disks.map((d) => [d.target, d.sourceFile, d.driverType])).toEqual([
      ['vda', '/d/vm1.ovl.qcow2', 'qcow2'],
      ['vdb', '/d/data.qcow2', undefined],
    ]);
    expect(out).not.toContain('backingStore');
    expect(out).toContain('<!-- kept -->');
    expect(out).toContain('<name>vm1</name>');
  });

  it('refuses a disk that is not there', () => {
    expect(() => retargetDiskSource(xml, 'vdz', '/x')).toThrow(/no disk vdz/);
  });
});

describe('overlayDiskspecs', () => {
  it('puts the overlay on the disk, leaves the others out, and doubles commas as virsh reads them', () => {
    expect(overlayDiskspecs(['vda', 'vdb', 'sda'], new Map([['vda', '/var/lib/a,b/vm.qcow2.vmsnap-overlay-t.qcow2']]))).toEqual([
      '--diskspec',
      'vda,snapshot=external,file=/var/lib/a,,b/vm.qcow2.vmsnap-overlay-t.qcow2',
      '--diskspec',
      'vdb,snapshot=no',
      '--diskspec',
      'sda,snapshot=no',
    ]);
  });

  it('puts an overlay on every disk named, in the domain\'s order', () => {
    expect(overlayDiskspecs(['vda', 'vdb', 'vdc'], new Map([['vdc', '/c.o'], ['vda', '/a.o']]))).toEqual(['--diskspec', 'vda,snapshot=external,file=/a.o', '--diskspec', 'vdb,snapshot=no', '--diskspec', 'vdc,snapshot=external,file=/c.o']);
  });
});

describe('parseDomInfo', () => {
  it('reads the state word (several words too) and the UUID', () => {
    const info = 'Id:             -\nName:           vm1\nUUID:           12a861a6-4172-45a8-a580-21e848740f58\nOS Type:        hvm\nState:          shut off\nPersistent:     yes\n';
    expect(parseDomInfo(info)).toEqual({ state: 'shut off', uuid: '12a861a6-4172-45a8-a580-21e848740f58' });
  });
});
