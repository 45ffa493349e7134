import { XMLParser } from 'fast-xml-parser';

/** One disk of a domain, as libvirt's XML describes it. */
export interface DomainDisk {
  /** Guest device name, e.g. vda. */
  target: string;
  /** `file`, `network`, `block`, … */
  type: string;
  /** `disk`, `cdrom`, … */
  device: string;
  /** Image format libvirt opens it with (qcow2, raw). */
  driverType?: string;
  /** Path of a file-backed disk. */
  sourceFile?: string;
  /** `pool/image` of an RBD-backed disk. */
  rbd?: { pool: string; image: string };
  /** A block copy's mirror target, when one is running. */
  mirror?: { file?: string; ready: boolean };
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: '@',
  isArray: (name) => name === 'disk',
});

type Node = Record<string, unknown>;
const node = (v: unknown): Node => (v && typeof v === 'object' ? (v as Node) : {});
const attr = (n: Node, name: string): string | undefined => {
  const v = n[`@${name}`];
  return typeof v === 'string' ? v : undefined;
};

/** Lists the disks of a domain from `virsh dumpxml`. Throws on XML that is not a domain. */
export function parseDomainDisks(xml: string): DomainDisk[] {
  const doc = node(parser.parse(xml));
  if (!doc.domain) throw new Error('not a libvirt domain XML document');
  const devices = node(node(doc.domain).devices);
  const disks = Array.isArray(devices.disk) ? (devices.disk as unknown[]) : [];
  return disks.map((d) => {
    const disk = node(d);
    const source = node(disk.source);
    const mirrorNode = disk.mirror ? node(disk.mirror) : undefined;
    const parsed: DomainDisk = {
      target: attr(node(disk.target), 'dev') ?? '',
      type: attr(disk, 'type') ?? 'file',
      device: attr(disk, 'device') ?? 'disk',
      driverType: attr(node(disk.driver), 'type'),
      sourceFile: attr(source, 'file'),
    };
    const protocol = attr(source, 'protocol');
    const name = attr(source, 'name');
    if (parsed.type === 'network' && protocol === 'rbd' && name?.includes('/')) {
      const [pool, ...rest] = name.split('/');
      parsed.rbd = { pool: pool ?? '', image: rest.join('/') };
    }
    if (mirrorNode) parsed.mirror = { file: attr(mirrorNode, 'file'), ready: attr(mirrorNode, 'ready') === 'yes' };
    return parsed;
  });
}

/** The disk a snapshot copies: the first real disk (not a cdrom), as Nova snapshots the root disk. */
export function rootDisk(disks: DomainDisk[]): DomainDisk | undefined {
  return disks.find((d) => d.device === 'disk');
}
