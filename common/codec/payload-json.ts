import type { Payload } from '@temporalio/common';
import { z } from 'zod';

/**
 * The body of Temporal's remote codec protocol (POST /encode, POST /decode): payloads in protobuf
 * JSON form, bytes as base64: `{"payloads": [{"metadata": {"encoding": "<b64>"}, "data": "<b64>"}]}`.
 */
export const payloadsBodySchema = z.object({
  payloads: z.array(
    z.object({
      metadata: z.record(z.string(), z.base64()).nullish(),
      data: z.base64().nullish(),
    }),
  ),
});
export type PayloadsBody = z.input<typeof payloadsBodySchema>;

export function payloadsToJson(payloads: Payload[]): PayloadsBody {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

/** Parses a protocol body; throws with zod's message on a malformed one. */
export function payloadsFromJson(body: unknown): Payload[] {
  const parsed = payloadsBodySchema.safeParse(body);
  if (!parsed.success) throw new Error(`not a payloads body: ${parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; ')}`);
  return parsed.data.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v, 'base64'))])),
    data: new Uint8Array(Buffer.from(p.data ?? '', 'base64')),
  }));
}
