/**
 * Kernel sources: the JavaScript that gpu.js compiles, as strings. Each function here returns
 * statements or an expression over fixed variable names (`v` for a unary operand, `u` and `w`
 * for binary ones); the launcher wraps them into `function(x0, x1, ...) { ... }`.
 *
 * GL targets (GLSL ES 1.0) have no IEEE guarantees, so the `gl` variants never write Infinity as
 * a literal, test NaN explicitly (`v != v`, which the stack honours, unlike `v - v == 0`), decide
 * every special case of Math.pow themselves, and keep tanh/expm1/log1p clear of overflow and
 * of cancellation near 0.
 */
import type { BinaryOp, UnaryOp } from '../../backend.ts';

/** Constants a GL kernel cannot write as literals (gpu.js turns `Infinity` into 3.4e38): NaN, +Infinity. */
export const GL_CONSTS = new Float32Array([NaN, Infinity]);

/** `a + b * c` as kernel source, leaving out zero terms and unit factors. */
export function linear(base: number, terms: readonly (readonly [string, number])[]): string {
  const parts: string[] = [];
  if (base !== 0) parts.push(String(base));
  for (const [coord, stride] of terms) {
    if (stride === 0 || coord === '0') continue;
    parts.push(stride === 1 ? coord : `${coord} * ${stride}`);
  }
  return parts.length === 0 ? '0' : parts.join(' + ');
}

/** Truthiness as JavaScript defines it for numbers (NaN and 0 are false); `v` must be a plain name. */
export function truthy(v: string): string {
  return `(${v} == ${v} && ${v} != 0)`;
}

/** Kernel source computing `ef = erf(z)`: Maclaurin series below 0.5, A&S 7.1.26 above (abs. error 1.5e-7). */
function erfSource(z: string): string {
  return [
    `const ez = ${z};`,
    'const eax = Math.abs(ez);',
    'let ef = 0;',
    'if (eax < 0.5) {',
    '  const ez2 = ez * ez;',
    // 2/sqrt(pi) * (z - z^3/3 + z^5/10 - z^7/42 + z^9/216 - z^11/1320), A&S 7.1.5
    '  ef = 1.1283791670955126 * ez * (1 + ez2 * (-0.3333333333333333 + ez2 * (0.1 + ez2 * (-0.023809523809523808 + ez2 * (0.004629629629629629 + ez2 * -0.0007575757575757576)))));',
    '} else {',
    '  const et = 1 / (1 + 0.3275911 * eax);',
    '  const ey = 1 - ((((1.061405429 * et - 1.453152027) * et + 1.421413741) * et - 0.284496736) * et + 0.254829592) * et * Math.exp(-eax * eax);',
    '  ef = ez < 0 ? -ey : ey;',
    '}',
  ].join('\n');
}

/** The largest finite float32; gpu.js writes `Infinity` into GLSL as this value, so kernels never name it. */
const FLT_MAX = '3.4028234663852886e38';

/**
 * Kernel statements setting `th = tanh(z)` on GL targets. gpu.js's GLSL tanh is
 * (e^2z - 1) / (e^2z + 1): NaN once e^2z overflows (z > 44) and no relative accuracy near 0
 * (tanh(1e-30) came out 3e-8). float32 tanh rounds to +-1 beyond |z| = 9.01, and below 0.125
 * the Taylor series to z^7 is exact to 1e-9 relative.
 */
function tanhSourceGl(z: string): string {
  return [
    `const tz = ${z};`,
    'let th = tz;',
    'if (tz > 10) { th = 1; } else { if (tz < -10) { th = -1; } else {',
    '  if (Math.abs(tz) < 0.125) { const tz2 = tz * tz; th = tz * (1 + tz2 * (-0.3333333333333333 + tz2 * (0.13333333333333333 + tz2 * -0.05396825396825397))); }',
    '  else { const te = Math.exp(2 * tz); th = (te - 1) / (te + 1); }',
    '} }',
  ].join('\n');
}

/**
 * Kernel statements mapping `v` to the result of a unary op (ending in `return`). `gl` selects
 * formulations for GLSL targets, whose compilers (headless-gl's ANGLE stack here) fold `v - v` to 0 and turn
 * `v <= 0 ? 0 : v` into a NaN-dropping max, and whose helpers lose relative accuracy near 0.
 */
export function unarySource(op: UnaryOp, gl: boolean): string {
  if (gl) {
    switch (op) {
      case 'tanh':
        return `${tanhSourceGl('v')}\nreturn th;`;
      case 'gelu':
        return `${tanhSourceGl('0.7978845608028654 * (v + 0.044715 * v * v * v)')}\nreturn 0.5 * v * (1 + th);`;
      case 'relu':
        return 'if (v != v) { return v; }\nreturn v <= 0 ? 0 : v;';
      case 'isfinite':
        // NaN fails the first test, +-Inf the second
        return `return (v == v && Math.abs(v) <= ${FLT_MAX}) ? 1 : 0;`;
      case 'expm1':
        // exp(v) - 1 cancels near 0; the series to v^5 is exact to 5e-10 relative below 0.05
        return 'if (Math.abs(v) < 0.05) { return v * (1 + v * (0.5 + v * (0.16666666666666666 + v * (0.041666666666666664 + v * 0.008333333333333333)))); }\nreturn Math.exp(v) - 1;';
      case 'log1p':
        // log(1 + v) loses v's low bits near 0; the series to v^6 is exact to 3e-9 relative below 0.05
        return 'if (Math.abs(v) < 0.05) { return v * (1 - v * (0.5 - v * (0.3333333333333333 - v * (0.25 - v * (0.2 - v * 0.16666666666666666))))); }\nreturn Math.log(1 + v);';
      default:
        break;
    }
  }
  switch (op) {
    case 'neg':
      return 'return -v;';
    case 'abs':
      return 'return Math.abs(v);';
    case 'sign':
      return 'return v > 0 ? 1 : (v < 0 ? -1 : (v == 0 ? 0 : v));';
    case 'exp':
    case 'log':
    case 'log1p':
    case 'expm1':
    case 'sqrt':
    case 'tanh':
    case 'sin':
    case 'cos':
    case 'floor':
    case 'ceil':
      return `return Math.${op}(v);`;
    case 'rsqrt':
      return 'return 1 / Math.sqrt(v);';
    case 'reciprocal':
      return 'return 1 / v;';
    case 'square':
      return 'return v * v;';
    case 'sigmoid':
      // never exponentiates a large positive number, like special.ts
      return 'let s = 0;\nif (v >= 0) { s = 1 / (1 + Math.exp(-v)); } else { const se = Math.exp(v); s = se / (1 + se); }\nreturn s;';
    case 'relu':
      // NaN propagates, as in the js backend (maximum(x, 0))
      return 'return v <= 0 ? 0 : v;';
    case 'gelu':
      return 'return 0.5 * v * (1 + Math.tanh(0.7978845608028654 * (v + 0.044715 * v * v * v)));';
    case 'geluErf':
      return `${erfSource('v * 0.7071067811865476')}\nreturn 0.5 * v * (1 + ef);`;
    case 'erf':
      return `${erfSource('v')}\nreturn ef;`;
    case 'round':
      // half to even; v - floor(v) is exact in float32, unlike v + 0.5
      return [
        'const rf = Math.floor(v);',
        'const rd = v - rf;',
        'let r = rf;',
        'if (rd > 0.5) { r = rf + 1; }',
        'if (rd == 0.5) { if (Math.floor(rf * 0.5) * 2 != rf) { r = rf + 1; } }',
        'return r;',
      ].join('\n');
    case 'logicalNot':
      return `return ${truthy('v')} ? 0 : 1;`;
    case 'isnan':
      return 'return v != v ? 1 : 0;';
    case 'isfinite':
      return 'return v - v == 0 ? 1 : 0;';
  }
}

/**
 * Kernel statements for JavaScript's Math.pow on GL targets. GLSL pow(x, y) is exp2(y log2 x):
 * undefined for x < 0 and for x = 0, y <= 0 (headless-gl here gave NaN for (-2)^2 and 0 for 0^-1 and
 * NaN^0.5), so every special case of ECMAScript's Number::exponentiate is decided here and GLSL
 * pow only sees |x| finite and positive with y finite. `c` is the constants array (c[0] = NaN,
 * c[1] = +Infinity): GLSL ES 1.0 has no literal for either, and folded forms such as 0/0 depend
 * on the compiler.
 */
export function powSourceGl(c: string): string {
  return [
    'const pa = Math.abs(u);',
    'const pb = Math.abs(w);',
    // w is an integer, and an odd one (float32 values of 2^24 and beyond are all even)
    'const pint = Math.floor(w) == w ? 1 : 0;',
    'const podd = (pint == 1 && Math.floor(w * 0.5) * 2 != w) ? 1 : 0;',
    'let pr = 1;',
    'if (w == 0) { pr = 1; }',
    `else if (u != u || w != w) { pr = ${c}[0]; }`,
    `else if (pb > ${FLT_MAX}) {`,
    // w = +-Infinity: 1^Inf is NaN in JS; otherwise Inf or 0 by which side of 1 |u| is on
    `  if (pa == 1) { pr = ${c}[0]; } else { if ((pa > 1) == (w > 0)) { pr = ${c}[1]; } else { pr = 0; } }`,
    '}',
    'else {',
    `  let pm = 0;`,
    `  if (pa > ${FLT_MAX}) { if (w > 0) { pm = ${c}[1]; } else { pm = 0; } }`,
    `  else { if (pa == 0) { if (w > 0) { pm = 0; } else { pm = ${c}[1]; } }`,
    `  else { if (u < 0 && pint == 0) { pm = ${c}[0]; } else { pm = Math.pow(pa, w); } } }`,
    // a negative base (including -0 and -Infinity, told apart by 1/u) keeps its sign for odd powers
    '  if (podd == 1 && (u < 0 || 1 / u < 0)) { pr = -pm; } else { pr = pm; }',
    '}',
    'return pr;',
  ].join('\n');
}

/** Kernel expression of a binary op on `u` and `w`. */
export function binarySource(op: BinaryOp): string {
  switch (op) {
    case 'add':
      return 'u + w';
    case 'sub':
      return 'u - w';
    case 'mul':
      return 'u * w';
    case 'div':
      return 'u / w';
    case 'pow':
      return 'Math.pow(u, w)';
    case 'maximum':
      return '(u > w || u != u) ? u : w';
    case 'minimum':
      return '(u < w || u != u) ? u : w';
    case 'eq':
      return 'u == w ? 1 : 0';
    case 'ne':
      return 'u != w ? 1 : 0';
    case 'lt':
      return 'u < w ? 1 : 0';
    case 'le':
      return 'u <= w ? 1 : 0';
    case 'gt':
      return 'u > w ? 1 : 0';
    case 'ge':
      return 'u >= w ? 1 : 0';
    case 'logicalAnd':
      return `(${truthy('u')} && ${truthy('w')}) ? 1 : 0`;
    case 'logicalOr':
      return `(${truthy('u')} || ${truthy('w')}) ? 1 : 0`;
  }
}
