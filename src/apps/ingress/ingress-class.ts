/**
 * Which Ingresses this controller serves, as store.GetIngressClass decides (the IngressClass
 * lister only holds classes whose spec.controller is the controller class):
 * 1. `spec.ingressClassName` names one of our IngressClasses -> ours; any other name -> not;
 * 2. else the `kubernetes.io/ingress.class` annotation must equal --ingress-class;
 * 3. else only with --watch-ingress-without-class.
 * The API server's DefaultIngressClass admission plugin fills `ingressClassName` of an
 * Ingress created without one when exactly one IngressClass is marked
 * `ingressclass.kubernetes.io/is-default-class: "true"`; kubewire applies it here, since
 * scenario objects never went through admission.
 */
import type { Ingress, IngressClass } from '../../k8s/api/types.js';
import { DEFAULT_CLASS_ANNOTATION, INGRESS_CLASS_ANNOTATION, type IngressNginxOptions } from './options.js';

export interface ClassDecision {
  readonly accepted: boolean;
  /** The class that decided (`nginx`, or `_` for watch-ingress-without-class). */
  readonly className: string | null;
  readonly why: string;
}

export function defaultIngressClass(classes: readonly IngressClass[]): IngressClass | null {
  const d = classes.filter((c) => c.metadata.annotations?.[DEFAULT_CLASS_ANNOTATION] === 'true');
  return d.length === 1 ? d[0]! : null;
}

export function classifyIngress(ing: Ingress, classes: readonly IngressClass[], opts: IngressNginxOptions): ClassDecision {
  const annotation = ing.metadata.annotations?.[INGRESS_CLASS_ANNOTATION];
  let name = ing.spec.ingressClassName;
  let admitted = false;
  if (name === undefined && annotation === undefined) {
    const d = defaultIngressClass(classes);
    if (d) {
      name = d.metadata.name;
      admitted = true;
    }
  }
  if (name !== undefined) {
    const ic = classes.find((c) => c.metadata.name === name);
    if (!ic) return { accepted: false, className: null, why: `ingressClassName ${name}: no such IngressClass` };
    if (ic.spec.controller !== opts.controllerClass) return { accepted: false, className: null, why: `IngressClass ${name} belongs to controller ${ic.spec.controller}` };
    return { accepted: true, className: name, why: admitted ? `default IngressClass ${name} (set at admission)` : `ingressClassName ${name}` };
  }
  if (annotation !== undefined) {
    if (annotation !== opts.ingressClass) return { accepted: false, className: null, why: `ingress class annotation ${annotation} is not ${opts.ingressClass}` };
    return { accepted: true, className: annotation, why: `annotation ${INGRESS_CLASS_ANNOTATION}: ${annotation}` };
  }
  if (opts.watchIngressWithoutClass) return { accepted: true, className: '_', why: 'no class, --watch-ingress-without-class' };
  return { accepted: false, className: null, why: 'ingress does not contain a valid IngressClass' };
}
