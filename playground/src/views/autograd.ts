/**
 * The autograd view: an expression of x and y becomes a graph of real autograd tensors
 * (see ../expr.ts), drawn as SVG with the value and the gradient on every node; the
 * backward pass can be stepped one node at a time.
 */
import { allGradients, backwardSteps, buildGraph, PRESETS, type BackwardStep, type ExprGraph } from '../expr.ts';
import { fmt, h, s, sourceLink } from '../dom.ts';

const BOX_W = 132;
const BOX_H = 58;
const COL_GAP = 64;
const ROW_GAP = 22;

interface Layout {
  pos: { x: number; y: number }[];
  width: number;
  height: number;
}

/**
 * Columns by longest path to the output (so every op sits just left of its first consumer; x
 * and y always in the first column); within a column, nodes are sorted by the mean height of
 * their consumers, which keeps most edges from crossing.
 */
function layout(g: ExprGraph): Layout {
  const depth = g.nodes.map(() => 0);
  for (let id = g.nodes.length - 1; id >= 0; id--) for (const k of g.nodes[id]!.inputs) depth[k] = Math.max(depth[k]!, depth[id]! + 1);
  const maxDepth = Math.max(...depth);
  const col = g.nodes.map((n) => (n.kind === 'input' ? 0 : maxDepth - depth[n.id]!));
  const consumers = g.nodes.map(() => [] as number[]);
  for (const n of g.nodes) for (const k of new Set(n.inputs)) consumers[k]!.push(n.id);
  const columns: number[][] = Array.from({ length: maxDepth + 1 }, () => []);
  g.nodes.forEach((n) => columns[col[n.id]!]!.push(n.id));
  const rows = Math.max(...columns.map((c) => c.length));
  const height = rows * (BOX_H + ROW_GAP) + ROW_GAP;
  const pos = g.nodes.map(() => ({ x: 0, y: 0 }));
  for (let c = columns.length - 1; c >= 0; c--) {
    const ids = columns[c]!;
    const center = (id: number) => (consumers[id]!.length ? consumers[id]!.reduce((s, k) => s + pos[k]!.y, 0) / consumers[id]!.length : height / 2);
    ids.sort((p, q) => center(p) - center(q) || p - q);
    const top = (height - ids.length * (BOX_H + ROW_GAP) + ROW_GAP) / 2;
    ids.forEach((id, r) => (pos[id] = { x: 12 + c * (BOX_W + COL_GAP), y: top + r * (BOX_H + ROW_GAP) }));
  }
  return { pos, width: 24 + columns.length * (BOX_W + COL_GAP) - COL_GAP, height };
}

function drawGraph(g: ExprGraph, grads: (number | undefined)[], current: BackwardStep | undefined): SVGElement {
  const { pos, width, height } = layout(g);
  const svg = s('svg', { width, height, viewBox: `0 0 ${width} ${height}`, class: 'graph', role: 'img', 'aria-label': 'computation graph' });
  svg.append(s('defs', {}, s('marker', { id: 'arrow', viewBox: '0 0 10 10', refX: 10, refY: 5, markerWidth: 9, markerHeight: 9, markerUnits: 'userSpaceOnUse', orient: 'auto' }, s('path', { d: 'M0,0 L10,5 L0,10 z', fill: '#8893a6' }))));
  for (const n of g.nodes) {
    n.inputs.forEach((k) => {
      const a = pos[k]!;
      const b = pos[n.id]!;
      const x1 = a.x + BOX_W;
      const y1 = a.y + BOX_H / 2;
      const x2 = b.x;
      const y2 = b.y + BOX_H / 2;
      const active = current?.node === n.id && current.sends.some(([to]) => to === k);
      svg.append(s('path', { d: `M${x1},${y1} C${x1 + COL_GAP / 2},${y1} ${x2 - COL_GAP / 2},${y2} ${x2},${y2}`, class: active ? 'edge active' : 'edge', 'marker-end': 'url(#arrow)' }));
    });
  }
  for (const n of g.nodes) {
    const p = pos[n.id]!;
    const grad = grads[n.id];
    const cls = ['node', n.kind, current?.node === n.id ? 'current' : '', current?.sends.some(([to]) => to === n.id) ? 'receiving' : ''].join(' ');
    const title = n.kind === 'op' ? (n.op === 'neg' ? '−(·)' : n.label) : n.label;
    svg.append(
      s(
        'g',
        { class: cls, transform: `translate(${p.x},${p.y})`, 'data-node': n.id, 'data-label': n.label, 'data-value': n.value, 'data-grad': grad ?? '' },
        s('rect', { width: BOX_W, height: BOX_H, rx: 8 }),
        s('text', { x: BOX_W / 2, y: 17, class: 'title' }, title),
        s('text', { x: 10, y: 35 }, `value ${fmt(n.value)}`),
        s('text', { x: 10, y: 51, class: 'grad' }, n.kind === 'const' ? 'constant' : `grad ${grad === undefined ? '·' : fmt(grad)}`),
      ),
    );
  }
  return svg;
}

/** Mounts the autograd view into `root`. */
export function autogradView(root: HTMLElement): void {
  const exprInput = h('input', { id: 'expr', value: PRESETS[0]!, size: 34, spellcheck: false, 'aria-label': 'expression' });
  const xInput = h('input', { id: 'x', type: 'number', step: 0.1, value: 0.7, 'aria-label': 'x' });
  const yInput = h('input', { id: 'y', type: 'number', step: 0.1, value: -1.3, 'aria-label': 'y' });
  const preset = h('select', { id: 'preset', 'aria-label': 'examples' }, ...PRESETS.map((p) => h('option', { value: p }, p)));
  const error = h('p', { class: 'error', id: 'expr-error' });
  const graphBox = h('div', { class: 'graph-box', id: 'graph' });
  const stepText = h('p', { class: 'step-text', id: 'step-text' });
  const back = h('button', { id: 'step-back' }, '◀ step back');
  const next = h('button', { id: 'step' }, 'step ▶');
  const all = h('button', { id: 'run-backward' }, 'run backward');
  const reset = h('button', { id: 'reset-backward' }, 'forward only');

  let graph: ExprGraph | undefined;
  let steps: BackwardStep[] = [];
  let finalGrads: number[] = [];
  let shown = 0; // how many backward steps are applied

  const render = () => {
    if (!graph) return;
    // what each node has collected after `shown` steps (the output starts with d f / d f = 1)
    const grads: (number | undefined)[] = graph.nodes.map(() => undefined);
    if (shown > 0) grads[graph.output] = 1;
    for (let k = 0; k < shown; k++) for (const [to, amount] of steps[k]!.sends) grads[to] = (grads[to] ?? 0) + amount;
    // once every step ran the drawn gradients are the engine's own (one gradients() call)
    if (shown === steps.length) graph.nodes.forEach((n) => (grads[n.id] = n.tensor.requiresGrad ? finalGrads[n.id] : undefined));
    const current = shown > 0 && shown <= steps.length ? steps[shown - 1] : undefined;
    graphBox.replaceChildren(drawGraph(graph, grads, current));
    graphBox.dataset.step = String(shown);
    graphBox.dataset.steps = String(steps.length);
    stepText.textContent = describe(graph, current, shown);
    back.disabled = shown === 0;
    next.disabled = all.disabled = shown >= steps.length;
  };
  const rebuild = () => {
    error.textContent = '';
    try {
      graph = buildGraph(exprInput.value, Number(xInput.value), Number(yInput.value));
      steps = backwardSteps(graph);
      finalGrads = allGradients(graph);
      shown = 0;
      render();
    } catch (e) {
      error.textContent = (e as Error).message;
    }
  };

  exprInput.addEventListener('change', rebuild);
  xInput.addEventListener('change', rebuild);
  yInput.addEventListener('change', rebuild);
  preset.addEventListener('change', () => {
    exprInput.value = preset.value;
    rebuild();
  });
  next.addEventListener('click', () => ((shown = Math.min(steps.length, shown + 1)), render()));
  back.addEventListener('click', () => ((shown = Math.max(0, shown - 1)), render()));
  all.addEventListener('click', () => ((shown = steps.length), render()));
  reset.addEventListener('click', () => ((shown = 0), render()));

  root.replaceChildren(
    h('h2', {}, 'Autograd: the chain rule, one node at a time'),
    h(
      'p',
      { class: 'explain' },
      'Every operation on a tensor that needs a gradient records a node: its inputs and a rule for its local derivative. ',
      'The forward pass computes the values (left to right). The backward pass starts with grad 1 at the output and walks the graph in reverse; ',
      'each node multiplies its gradient by its local derivative and adds the product to each input (the chain rule). A node used twice collects two contributions. ',
      'Nodes record themselves in ', sourceLink('packages/autograd/src/graph.ts'), '; the backward walk is ', sourceLink('packages/autograd/src/engine.ts'),
      '; derivative rules sit beside their forwards, e.g. ', sourceLink('packages/autograd/src/ops/arithmetic.ts'), ' and ', sourceLink('packages/autograd/src/ops/unary.ts'),
      '. This view: ', sourceLink('playground/src/expr.ts'), '.',
    ),
    h('div', { class: 'controls' }, h('label', {}, 'f(x, y) = ', exprInput), h('label', {}, 'x ', xInput), h('label', {}, 'y ', yInput), h('label', {}, 'examples ', preset)),
    h('p', { class: 'hint' }, 'Operators + − * / ^ and tanh, exp, log, sin, cos, relu, sigmoid, sqrt. Press Enter or pick an example.'),
    error,
    h('div', { class: 'controls' }, reset, back, next, all),
    stepText,
    graphBox,
  );
  rebuild();
}

function describe(g: ExprGraph, st: BackwardStep | undefined, shown: number): string {
  if (shown === 0) return `Forward pass done: f = ${fmt(g.nodes[g.output]!.value)}. No gradients yet; step to start the backward pass.`;
  if (!st) return 'Backward pass done: every node shows d f / d node.';
  const n = g.nodes[st.node]!;
  const name = (id: number) => {
    const m = g.nodes[id]!;
    return m.kind === 'op' ? `${m.label}#${id}` : m.label;
  };
  if (st.sends.length === 0) return `${name(st.node)} is a leaf: its gradient d f / d ${n.label} = ${fmt(st.grad)} is complete.`;
  const parts = st.sends.map(([to, amount]) => `${fmt(amount)} to ${name(to)}`).join(', ');
  return `${name(st.node)} has grad ${fmt(st.grad)}; times its local derivative it sends ${parts}.`;
}
