import type { EndpointSlice, Service } from '../api/types.js';
import { EndpointsTracker } from './endpoints.js';
import { ServiceTracker } from './service-port.js';

/**
 * What every proxier does with its informers' events (pkg/proxy's ServiceChangeTracker and
 * EndpointsChangeTracker): record the change; the next syncProxyRules applies it.
 */
export abstract class ProxierInformers {
  readonly services = new ServiceTracker('IPv4');
  readonly endpoints: EndpointsTracker;

  constructor(nodeName: string) {
    this.endpoints = new EndpointsTracker({ nodeName });
  }

  onServiceAdd(svc: Service): void {
    this.services.update(undefined, svc);
  }
  onServiceUpdate(oldSvc: Service, svc: Service): void {
    this.services.update(oldSvc, svc);
  }
  onServiceDelete(svc: Service): void {
    this.services.update(svc, undefined);
  }
  onEndpointSliceAdd(slice: EndpointSlice): void {
    this.endpoints.sliceUpdate(slice, false);
  }
  onEndpointSliceUpdate(_old: EndpointSlice, slice: EndpointSlice): void {
    this.endpoints.sliceUpdate(slice, false);
  }
  onEndpointSliceDelete(slice: EndpointSlice): void {
    this.endpoints.sliceUpdate(slice, true);
  }
}
