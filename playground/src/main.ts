/**
 * The playground's entry: one tab per view, chosen by the URL hash (#autograd, #training,
 * #lmc, #eva), each mounted on first visit and kept alive (so training continues in the background).
 */
import { h } from './dom.ts';
import { autogradView } from './views/autograd.ts';
import { evaView } from './views/eva.ts';
import { lmcView } from './views/lmc.ts';
import { trainingView } from './views/training.ts';

const VIEWS: Record<string, { title: string; mount: (root: HTMLElement) => void }> = {
  autograd: { title: 'Autograd', mount: autogradView },
  training: { title: 'Training', mount: trainingView },
  lmc: { title: 'Linear mode connectivity', mount: lmcView },
  eva: { title: 'EVA', mount: evaView },
};

const nav = document.getElementById('tabs')!;
const main = document.getElementById('views')!;
const mounted = new Map<string, HTMLElement>();

function show(name: string): void {
  if (!(name in VIEWS)) name = 'autograd';
  let root = mounted.get(name);
  if (!root) {
    root = h('section', { class: 'view', id: `view-${name}` });
    main.append(root);
    VIEWS[name]!.mount(root);
    mounted.set(name, root);
  }
  for (const [k, el] of mounted) el.hidden = k !== name;
  for (const a of nav.querySelectorAll('a')) a.classList.toggle('active', a.dataset.view === name);
  document.body.dataset.view = name;
}

for (const [name, v] of Object.entries(VIEWS)) nav.append(h('a', { href: `#${name}`, 'data-view': name }, v.title));
window.addEventListener('hashchange', () => show(location.hash.slice(1)));
show(location.hash.slice(1));
