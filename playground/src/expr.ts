/**
 * The autograd view's model: a tiny expression language over the scalars x and y, parsed
 * into a graph whose every node is a real @tsgrad/autograd tensor. No DOM here, so the
 * browser test evaluates the very same code in Node and compares.
 *
 * Grammar (usual precedence, `^` binds tightest and is right-associative):
 *   expr  := term (('+' | '-') term)*
 *   term  := unary (('*' | '/') unary)*
 *   unary := '-' unary | power
 *   power := atom ('^' unary)?
 *   atom  := number | 'x' | 'y' | fn '(' expr ')' | '(' expr ')'
 */
import {
  add, cos, div, exp, gradients, log, mul, neg, pow, relu, sigmoid, sin, sqrt, sub, tanh, tensor, type Tensor,
} from '@tsgrad/autograd';

export type Op = '+' | '-' | '*' | '/' | '^' | 'neg' | UnaryFn;
export const UNARY_FNS = ['tanh', 'exp', 'log', 'sin', 'cos', 'relu', 'sigmoid', 'sqrt'] as const;
export type UnaryFn = (typeof UNARY_FNS)[number];

/** One node of the computation graph: a leaf (x, y, a constant) or an op of earlier nodes. */
export interface GraphNode {
  id: number;
  /** 'x', 'y', a constant's text, or the op. */
  label: string;
  kind: 'input' | 'const' | 'op';
  op?: Op;
  inputs: number[];
  tensor: Tensor;
  value: number;
}

export interface ExprGraph {
  nodes: GraphNode[];
  output: number;
}

const FNS: Record<UnaryFn, (t: Tensor) => Tensor> = { tanh, exp, log, sin, cos, relu, sigmoid, sqrt };
const BINARY: Record<'+' | '-' | '*' | '/' | '^', (a: Tensor, b: Tensor) => Tensor> = { '+': add, '-': sub, '*': mul, '/': div, '^': pow };

/** Applies one op to input tensors (also used to replay a single node during the backward steps). */
export function applyOp(op: Op, args: readonly Tensor[]): Tensor {
  if (op === 'neg') return neg(args[0]!);
  if (op in BINARY) return BINARY[op as keyof typeof BINARY](args[0]!, args[1]!);
  return FNS[op as UnaryFn](args[0]!);
}

type Token = { kind: 'num' | 'name' | 'sym'; text: string; pos: number };

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const re = /\s*(?:(\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+)|([A-Za-z_]\w*)|(\*\*|[-+*/^()]))/y;
  let pos = 0;
  while (pos < src.length) {
    if (/^\s*$/.test(src.slice(pos))) break;
    re.lastIndex = pos;
    const m = re.exec(src);
    if (!m) throw new SyntaxError(`cannot read '${src.slice(pos).trim()[0]}' at column ${pos + 1}`);
    const at = pos + (m[0].length - m[0].trimStart().length);
    if (m[1] !== undefined) tokens.push({ kind: 'num', text: m[1], pos: at });
    else if (m[2] !== undefined) tokens.push({ kind: 'name', text: m[2], pos: at });
    else tokens.push({ kind: 'sym', text: m[3] === '**' ? '^' : m[3]!, pos: at });
    pos = re.lastIndex;
  }
  return tokens;
}

/**
 * Parses `src` and evaluates it at (x, y) in float64, recording the graph. x and y are
 * shared leaves, so `x*x` has one x node with two uses, as the engine sees it.
 * @example const g = buildGraph('x*y + tanh(x)', 0.5, -1.5); g.nodes[g.output].value;
 */
export function buildGraph(src: string, x: number, y: number): ExprGraph {
  const tokens = tokenize(src);
  if (tokens.length === 0) throw new SyntaxError('the expression is empty');
  const nodes: GraphNode[] = [];
  const vars = new Map<string, number>();
  let i = 0;
  const peek = () => tokens[i];
  const expect = (text: string) => {
    const t = tokens[i];
    if (!t || t.text !== text) throw new SyntaxError(`expected '${text}' ${t ? `at column ${t.pos + 1}, got '${t.text}'` : 'at the end'}`);
    i++;
  };
  const push = (n: Omit<GraphNode, 'id' | 'value'>): number => {
    const id = nodes.length;
    nodes.push({ ...n, id, value: n.tensor.item() });
    return id;
  };
  const opNode = (op: Op, inputs: number[]) =>
    push({ label: op, kind: 'op', op, inputs, tensor: applyOp(op, inputs.map((k) => nodes[k]!.tensor)) });

  const atom = (): number => {
    const t = tokens[i++];
    if (!t) throw new SyntaxError('the expression ends too early');
    if (t.kind === 'num') return push({ label: t.text, kind: 'const', inputs: [], tensor: tensor([Number(t.text)], { dtype: 'float64' }) });
    if (t.kind === 'name') {
      if (t.text === 'x' || t.text === 'y') {
        let id = vars.get(t.text);
        if (id === undefined) {
          id = push({ label: t.text, kind: 'input', inputs: [], tensor: tensor([t.text === 'x' ? x : y], { dtype: 'float64', requiresGrad: true }) });
          vars.set(t.text, id);
        }
        return id;
      }
      if ((UNARY_FNS as readonly string[]).includes(t.text)) {
        expect('(');
        const arg = expr();
        expect(')');
        return opNode(t.text as UnaryFn, [arg]);
      }
      throw new SyntaxError(`unknown name '${t.text}' at column ${t.pos + 1} (use x, y, ${UNARY_FNS.join(', ')})`);
    }
    if (t.text === '(') {
      const inner = expr();
      expect(')');
      return inner;
    }
    throw new SyntaxError(`unexpected '${t.text}' at column ${t.pos + 1}`);
  };
  const power = (): number => {
    const base = atom();
    if (peek()?.text !== '^') return base;
    i++;
    return opNode('^', [base, unary()]);
  };
  const unary = (): number => {
    if (peek()?.text === '-') {
      i++;
      return opNode('neg', [unary()]);
    }
    return power();
  };
  const term = (): number => {
    let left = unary();
    while (peek()?.text === '*' || peek()?.text === '/') left = opNode(tokens[i++]!.text as '*' | '/', [left, unary()]);
    return left;
  };
  const expr = (): number => {
    let left = term();
    while (peek()?.text === '+' || peek()?.text === '-') left = opNode(tokens[i++]!.text as '+' | '-', [left, term()]);
    return left;
  };

  const output = expr();
  if (i < tokens.length) throw new SyntaxError(`unexpected '${tokens[i]!.text}' at column ${tokens[i]!.pos + 1}`);
  return { nodes, output };
}

/** d(output)/d(node) for every node, by one call to the engine (constants get 0). */
export function allGradients(g: ExprGraph): number[] {
  const out = g.nodes[g.output]!.tensor;
  if (!out.requiresGrad) return g.nodes.map(() => 0);
  const tracked = g.nodes.filter((n) => n.tensor.requiresGrad);
  const gs = gradients(out, tracked.map((n) => n.tensor));
  const result = g.nodes.map(() => 0);
  tracked.forEach((n, k) => (result[n.id] = gs[k]!.item()));
  return result;
}

/** One step of the backward pass: the node being processed and what it sends to each input. */
export interface BackwardStep {
  node: number;
  grad: number;
  /** [input id, the amount added to that input's gradient: grad times the local derivative]. */
  sends: [number, number][];
}

/**
 * The backward pass as the engine runs it, one node at a time in reverse topological order:
 * each op node, once its gradient is complete, multiplies it by its local derivatives and adds
 * the products to its inputs. Local derivatives come from replaying that one op on detached
 * copies of its inputs through the real engine, so the steps use tsgrad's own rules.
 */
export function backwardSteps(g: ExprGraph): BackwardStep[] {
  const order = g.nodes.map((n) => n.id).filter((id) => g.nodes[id]!.tensor.requiresGrad).reverse();
  const acc = g.nodes.map(() => 0);
  acc[g.output] = 1;
  const steps: BackwardStep[] = [];
  for (const id of order) {
    const node = g.nodes[id]!;
    const sends: [number, number][] = [];
    if (node.kind === 'op') {
      const leaves = node.inputs.map((k) => g.nodes[k]!.tensor.detach().requiresGrad_(true));
      const replay = applyOp(node.op!, leaves);
      const local = gradients(replay, leaves, { gradOutput: tensor([acc[id]!], { dtype: 'float64' }) });
      node.inputs.forEach((k, j) => {
        if (!g.nodes[k]!.tensor.requiresGrad) return;
        const amount = local[j]!.item();
        acc[k]! += amount;
        sends.push([k, amount]);
      });
    }
    steps.push({ node: id, grad: acc[id]!, sends });
  }
  return steps;
}

/** The expressions offered in the picker. */
export const PRESETS = ['x*y + tanh(x)', '(x + y)^2 - 3*x', 'sigmoid(2*x - y) * x', 'log(1 + exp(x*y)) / (1 + y^2)', 'sin(x) * cos(y) + x*x*y', 'relu(x - y) + sqrt(x*x + 1)'];
