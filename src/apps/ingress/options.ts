/**
 * The ingress-nginx settings kubewire models, with the controller's defaults: command-line
 * flags (`--ingress-class`, `--controller-class`, `--watch-ingress-without-class`,
 * `--default-backend-service`) and ConfigMap keys (internal/ingress/controller/config
 * NewDefault: use-forwarded-headers false, compute-full-forwarded-for false,
 * show-server-tokens false, generate-request-id true, keep-alive 75, upstream-keepalive-connections 320,
 * upstream-keepalive-timeout 60, proxy-next-upstream-tries 3, strict-validate-path-type true).
 */
export interface IngressNginxOptions {
  readonly ingressClass: string;
  readonly controllerClass: string;
  readonly watchIngressWithoutClass: boolean;
  /** `namespace/name` of --default-backend-service, or null for the built-in 404 server. */
  readonly defaultBackendService: string | null;
  readonly useForwardedHeaders: boolean;
  readonly computeFullForwardedFor: boolean;
  readonly showServerTokens: boolean;
  readonly generateRequestId: boolean;
  /** keep-alive (keepalive_timeout toward clients, seconds). */
  readonly keepAliveSeconds: number;
  /** 0 = a new upstream connection per request, sent with `Connection: close`. */
  readonly upstreamKeepaliveConnections: number;
  readonly upstreamKeepaliveTimeoutSeconds: number;
  readonly proxyNextUpstreamTries: number;
  readonly strictValidatePathType: boolean;
  /** Listen ports (ListenPorts: HTTP 80, HTTPS 443, Default 8181). */
  readonly httpPort: number;
  readonly httpsPort: number;
  readonly defaultServerPort: number;
  /** The nginx the controller image ships (v1.10-v1.12 images: 1.25.5), for `server_tokens on`. */
  readonly nginxVersion: string;
}

export const INGRESS_NGINX_DEFAULTS: IngressNginxOptions = {
  ingressClass: 'nginx',
  controllerClass: 'k8s.io/ingress-nginx',
  watchIngressWithoutClass: false,
  defaultBackendService: null,
  useForwardedHeaders: false,
  computeFullForwardedFor: false,
  showServerTokens: false,
  generateRequestId: true,
  keepAliveSeconds: 75,
  upstreamKeepaliveConnections: 320,
  upstreamKeepaliveTimeoutSeconds: 60,
  proxyNextUpstreamTries: 3,
  strictValidatePathType: true,
  httpPort: 80,
  httpsPort: 443,
  defaultServerPort: 8181,
  nginxVersion: '1.25.5',
};

export const ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io/';
export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
export const DEFAULT_CLASS_ANNOTATION = 'ingressclass.kubernetes.io/is-default-class';
