/**
 * The annotations kubewire's ingress model reads (internal/ingress/annotations): rewrite
 * (`rewrite-target`, `use-regex`), `service-upstream`. ingress-nginx parses booleans with
 * strconv.ParseBool (`true`, `1`, `t`, `TRUE`...); an unparsable value is the default.
 */
import type { Ingress } from '../../k8s/api/types.js';
import { ANNOTATION_PREFIX } from './options.js';

export interface IngressAnnotations {
  readonly rewriteTarget: string;
  readonly useRegex: boolean;
  readonly serviceUpstream: boolean;
}

function parseBool(v: string | undefined): boolean {
  return v !== undefined && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

export function parseAnnotations(ing: Ingress): IngressAnnotations {
  const a = ing.metadata.annotations ?? {};
  return {
    rewriteTarget: a[`${ANNOTATION_PREFIX}rewrite-target`] ?? '',
    useRegex: parseBool(a[`${ANNOTATION_PREFIX}use-regex`]),
    serviceUpstream: parseBool(a[`${ANNOTATION_PREFIX}service-upstream`]),
  };
}
