/**
 * Where Temporal is, read the way the Temporal CLI reads it: TEMPORAL_ADDRESS and
 * TEMPORAL_NAMESPACE, with the dev server's defaults.
 */
export interface TemporalTarget {
  /** @default '127.0.0.1:7233' */
  address: string;
  /** @default 'default' */
  namespace: string;
  /** Base URL of the Web UI, for links printed to operators. @default 'http://127.0.0.1:8233' */
  uiUrl: string;
}

export function temporalTarget(env: NodeJS.ProcessEnv = process.env, overrides: Partial<TemporalTarget> = {}): TemporalTarget {
  return {
    address: overrides.address ?? env.TEMPORAL_ADDRESS ?? '127.0.0.1:7233',
    namespace: overrides.namespace ?? env.TEMPORAL_NAMESPACE ?? 'default',
    uiUrl: overrides.uiUrl ?? env.TEMPORAL_UI_URL ?? 'http://127.0.0.1:8233',
  };
}

export function workflowUiLink(t: TemporalTarget, workflowId: string): string {
  return `${t.uiUrl}/namespaces/${encodeURIComponent(t.namespace)}/workflows/${encodeURIComponent(workflowId)}`;
}
