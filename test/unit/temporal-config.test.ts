import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { temporalTarget } from '../../common/temporal-config.js';

const none = { TEMPORAL_CONFIG_FILE: '/nonexistent/temporal.toml' };

describe('Temporal connection settings, as the Temporal CLI reads them', () => {
  it('defaults to the local dev server', () => {
    expect(temporalTarget(none)).toMatchObject({ address: '127.0.0.1:7233', namespace: 'default', uiUrl: 'http://127.0.0.1:8233' });
  });

  it('takes TEMPORAL_* variables, and flags over them', () => {
    const env = { ...none, TEMPORAL_ADDRESS: 'temporal.example:7233', TEMPORAL_NAMESPACE: 'ops', TEMPORAL_API_KEY: 'k1' };
    const t = temporalTarget(env);
    expect(t).toMatchObject({ address: 'temporal.example:7233', namespace: 'ops' });
    // An API key turns TLS on, as in the Temporal CLI.
    expect(t.connection).toMatchObject({ apiKey: 'k1', tls: true });
    expect(temporalTarget(env, { address: 'other:7233', namespace: 'ns2' })).toMatchObject({ address: 'other:7233', namespace: 'ns2' });
    expect(temporalTarget({ ...none, TEMPORAL_ADDRESS: '' })).toMatchObject({ address: '127.0.0.1:7233' });
  });

  it('reads a profile of the config file, with mTLS files', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'vmsnap-cfg-'));
    for (const f of ['ca.pem', 'client.pem', 'client.key']) writeFileSync(path.join(dir, f), `-----${f}-----\n`);
    const file = path.join(dir, 'temporal.toml');
    writeFileSync(
      file,
      `[profile.prod]\naddress = "prod:7233"\nnamespace = "backups"\n[profile.prod.tls]\nclient_cert_path = "${dir}/client.pem"\nclient_key_path = "${dir}/client.key"\nserver_ca_cert_path = "${dir}/ca.pem"\nserver_name = "temporal.prod"\n`,
    );
    const t = temporalTarget({ TEMPORAL_CONFIG_FILE: file }, { profile: 'prod' });
    expect(t).toMatchObject({ address: 'prod:7233', namespace: 'backups' });
    const tls = t.connection.tls as { serverNameOverride?: string; serverRootCACertificate?: Uint8Array; clientCertPair?: { crt: Uint8Array; key: Uint8Array } };
    const text = (b?: Uint8Array) => Buffer.from(b ?? []).toString();
    expect(tls.serverNameOverride).toBe('temporal.prod');
    expect(text(tls.serverRootCACertificate)).toContain('ca.pem');
    expect(text(tls.clientCertPair?.key)).toContain('client.key');
    expect(temporalTarget({ TEMPORAL_CONFIG_FILE: file, TEMPORAL_PROFILE: 'prod' }).address).toBe('prod:7233');
  });
});
