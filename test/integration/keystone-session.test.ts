import { expect, it } from 'vitest';
import { KeystoneSession } from '../../activities/stores/keystone.js';
import { adminPassword, KEYSTONE_URL } from './openstack.js';

it('a Keystone token is reused while valid and refreshed before it expires', async () => {
  let now = Date.now();
  const session = new KeystoneSession({ method: 'password', authUrl: KEYSTONE_URL, username: 'admin', password: adminPassword(), projectName: 'admin' }, 60_000, () => now);
  const first = await session.get();
  expect(await session.get()).toBe(first);
  now += 3600_000 - 30_000; // Keystone's tokens last an hour: now it is within the refresh margin
  await new Promise((r) => setTimeout(r, 1100)); // fernet tokens carry their issue second
  const second = await session.get();
  expect(second).not.toBe(first);
  session.invalidate();
  expect(await session.get()).not.toBe(second);
});

it('wrong credentials are a permanent error that says to fix the worker config', async () => {
  const session = new KeystoneSession({ method: 'password', authUrl: KEYSTONE_URL, username: 'admin', password: 'wrong', projectName: 'admin' });
  await expect(session.get()).rejects.toMatchObject({ nonRetryable: true, message: expect.stringMatching(/refused the worker's password credentials.*fix them in the worker config/) as string });
});
