/** Small DOM helpers shared by the views (no framework: each view owns its element). */

type Attrs = Record<string, string | number | boolean | ((e: Event) => void) | undefined>;

/** Creates an HTML element: `h('button', { onclick: f }, 'Run')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Node | string)[]): HTMLElementTagNameMap[K] {
  return assign(document.createElement(tag), attrs, children);
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element: `s('rect', { x: 0, y: 0, width: 10, height: 10 })`. */
export function s(tag: string, attrs: Attrs = {}, ...children: (Node | string)[]): SVGElement {
  return assign(document.createElementNS(SVG_NS, tag) as SVGElement, attrs, children);
}

function assign<E extends Element>(el: E, attrs: Attrs, children: (Node | string)[]): E {
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, ''), v);
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children) el.append(c);
  return el;
}

/** A number in a short readable form (4 significant digits). */
export function fmt(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v !== 0 && (Math.abs(v) >= 1e4 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return Number(v.toPrecision(4)).toString();
}

/** Where the sources live; every view links the files that implement what it shows. */
export const REPO_BLOB = 'https://github.com/tsgrad/tsgrad/blob/main/';

/** A link to a source file of the repository. */
export function sourceLink(path: string, text = path): HTMLAnchorElement {
  return h('a', { href: REPO_BLOB + path, target: '_blank', rel: 'noopener' }, h('code', {}, text));
}

/** Lets the browser paint before long synchronous work continues. */
export function nextFrame(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}
