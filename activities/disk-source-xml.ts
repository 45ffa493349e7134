import { XMLBuilder, XMLParser } from 'fast-xml-parser';

// Order-preserving round trip: libvirt's XML must come back exactly as it was but for the change.
const options = { ignoreAttributes: false, attributeNamePrefix: '@', preserveOrder: true, commentPropName: '#comment', suppressEmptyNode: true } as const;
const parser = new XMLParser(options);
const builder = new XMLBuilder(options);

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const children = (n: OrderedNode, tag: string): OrderedNode[] => (Array.isArray(n[tag]) ? (n[tag] as OrderedNode[]) : []);

/**
 * Points one disk of a domain XML at another file and drops its `<backingStore>` description, so
 * libvirt probes the new file's chain itself. (Left in place, an empty `<backingStore/>` tells
 * QEMU the file has no backing: a guest on an overlay would see an empty disk.)
 */
export function retargetDiskSource(xml: string, diskTarget: string, newSource: string): string {
  const doc = parser.parse(xml) as OrderedNode[];
  let found = false;
  for (const top of doc) {
    for (const devices of children(top, 'domain').filter((n) => 'devices' in n)) {
      for (const disk of children(devices, 'devices').filter((n) => 'disk' in n)) {
        const parts = children(disk, 'disk');
        const target = parts.find((p) => 'target' in p)?.[':@']?.['@dev'];
        if (target !== diskTarget) continue;
        const source = parts.find((p) => 'source' in p);
        if (!source?.[':@']?.['@file']) throw new Error(`disk ${diskTarget} is not a file disk`);
        source[':@']['@file'] = newSource;
        delete source[':@']['@index'];
        disk.disk = parts.filter((p) => !('backingStore' in p));
        found = true;
      }
    }
  }
  if (!found) throw new Error(`no disk ${diskTarget} in the domain XML`);
  return builder.build(doc);
}
