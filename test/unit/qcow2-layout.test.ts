import { describe, expect, it } from 'vitest';
import { CLUSTER, clusterRuns, planQcow2, qcow2Head, qcow2L2Tables } from '../../activities/qcow2-layout.js';

const MiB = 1 << 20;
const GiB = 1 << 30;
const COPIED = 1n << 63n;

describe('clusterRuns', () => {
  it('covers every cluster a data range touches, merging touching and overlapping ones', () => {
    expect(
      clusterRuns([
        { start: 0, length: 1 }, // cluster 0
        { start: CLUSTER - 1, length: 2 }, // clusters 0 and 1
        { start: 3 * CLUSTER + 100, length: CLUSTER }, // clusters 3 and 4
        { start: 5 * CLUSTER, length: CLUSTER }, // cluster 5: touches the run before
        { start: 9 * CLUSTER, length: 0 }, // empty: nothing
      ]),
    ).toEqual([
      { first: 0, count: 2 },
      { first: 3, count: 3 },
    ]);
  });
});

describe('planQcow2', () => {
  it('lays out a 4 GiB disk with two data runs: head, one L2 table per touched 512 MiB, data', () => {
    const runs = [
      { first: 0, count: 16 },
      { first: (1536 * MiB) / CLUSTER - 2, count: 4 }, // straddles the 3rd/4th L2 boundary
    ];
    const l = planQcow2(4 * GiB, runs);
    expect(l).toMatchObject({ l1Entries: 8, l2Indices: [0, 2, 3], dataClusters: 20, refTableAt: 1, refBlocksAt: 2, refBlocks: 1, l1At: 3, l2At: 4, dataAt: 7, totalClusters: 27 });
  });

  it('grows the refcount blocks until they count themselves too', () => {
    // 3 TiB fully allocated: 50 M data clusters need 1536+ refcount blocks and a 1-cluster table.
    const clusters = (3 * 1024 * GiB) / CLUSTER;
    const l = planQcow2(3 * 1024 * GiB, [{ first: 0, count: clusters }]);
    expect(l.refBlocks * (CLUSTER / 2)).toBeGreaterThanOrEqual(l.totalClusters);
    expect((l.refBlocks - 1) * (CLUSTER / 2)).toBeLessThan(l.totalClusters);
    expect(l.refTableClusters * (CLUSTER / 8)).toBeGreaterThanOrEqual(l.refBlocks);
    expect(l.totalClusters).toBe(1 + l.refTableClusters + l.refBlocks + 1 + l.l2Indices.length + clusters);
  });

  it('refuses a size it cannot lay out', () => {
    expect(() => planQcow2(0, [])).toThrow(/cannot lay out a qcow2 of 0 bytes/);
  });
});

describe('qcow2Head and qcow2L2Tables', () => {
  const virtualSize = 1 * GiB + 512; // not a multiple of the cluster: the header keeps it exact
  const runs = [
    { first: 2, count: 3 },
    { first: 8192 + 7, count: 1 }, // in the second L2 table
  ];
  const l = planQcow2(virtualSize, runs);
  const head = qcow2Head(l);

  it('writes a version 3 header pointing at its tables', () => {
    expect(head.subarray(0, 4).toString('latin1')).toBe('QFI\xfb');
    expect(head.readUInt32BE(4)).toBe(3);
    expect(head.readUInt32BE(20)).toBe(16);
    expect(head.readBigUInt64BE(24)).toBe(BigInt(virtualSize));
    expect(head.readUInt32BE(36)).toBe(3); // 1 GiB + 512 needs three L1 entries
    expect(head.readBigUInt64BE(40)).toBe(BigInt(l.l1At * CLUSTER));
    expect(head.readBigUInt64BE(48)).toBe(BigInt(l.refTableAt * CLUSTER));
    expect(head.readUInt32BE(56)).toBe(1);
    expect(head.readBigUInt64BE(72)).toBe(0n); // no incompatible features
    expect(head.readUInt32BE(96)).toBe(4);
    expect(head.readUInt32BE(100)).toBe(112);
    expect(head.readBigUInt64BE(112)).toBe(0n); // end of header extensions
    expect(head.length).toBe(l.l2At * CLUSTER);
  });

  it('counts every cluster of the file once, and nothing beyond it', () => {
    const refs = l.refBlocksAt * CLUSTER;
    for (let c = 0; c < l.totalClusters; c++) expect(head.readUInt16BE(refs + 2 * c)).toBe(1);
    expect(head.readUInt16BE(refs + 2 * l.totalClusters)).toBe(0);
    expect(head.readBigUInt64BE(l.refTableAt * CLUSTER)).toBe(BigInt(l.refBlocksAt * CLUSTER));
  });

  it('points L1 at the L2 tables and L2 at the data clusters in guest order', () => {
    const l1 = l.l1At * CLUSTER;
    expect(head.readBigUInt64BE(l1)).toBe(COPIED | BigInt(l.l2At * CLUSTER));
    expect(head.readBigUInt64BE(l1 + 8)).toBe(COPIED | BigInt((l.l2At + 1) * CLUSTER));
    expect(head.readBigUInt64BE(l1 + 16)).toBe(0n); // the third 512 MiB holds no data
    const tables = [...qcow2L2Tables(l, runs)];
    expect(tables).toHaveLength(2);
    const [first, second] = tables as [Buffer, Buffer];
    expect(first.readBigUInt64BE(8)).toBe(0n);
    expect([2, 3, 4].map((g) => first.readBigUInt64BE(g * 8))).toEqual([0, 1, 2].map((n) => COPIED | BigInt((l.dataAt + n) * CLUSTER)));
    expect(first.readBigUInt64BE(5 * 8)).toBe(0n);
    expect(second.readBigUInt64BE(7 * 8)).toBe(COPIED | BigInt((l.dataAt + 3) * CLUSTER));
    expect(l.totalClusters).toBe(l.dataAt + 4);
  });
});
