/**
 * Linear sum assignment (the "linear assignment problem", LAP).
 *
 * Given an m x n cost matrix C, choose k = min(m, n) pairs (i, j), no row and no column used
 * twice, that minimise (or maximise) the sum of C[i][j]. Weight matching in Git Re-Basin solves
 * one of these per permutation group per sweep (`scipy.optimize.linear_sum_assignment(A,
 * maximize=True)`), so this file reproduces SciPy's semantics.
 *
 * Algorithm: shortest augmenting paths with dual potentials, the Jonker-Volgenant family as
 * described by D. F. Crouse, "On implementing 2D rectangular assignment algorithms", IEEE Trans.
 * Aerospace and Electronic Systems 52(4):1679-1696, 2016, doi:10.1109/TAES.2016.140952 (the
 * shortest augmenting path pseudocode on pp. 1685-1686, without a JV initialisation phase; SciPy
 * >= 1.4 implements the same method). O(k^2 * max(m, n)) time, O(m n) memory.
 *
 * ## The dual variables, in one paragraph
 *
 * The LP relaxation of the (row-complete, m <= n) assignment problem is
 *
 *     min  sum_ij C_ij x_ij   s.t.  sum_j x_ij = 1 (each row),  sum_i x_ij <= 1 (each column), x >= 0
 *
 * and its dual is
 *
 *     max  sum_i u_i + sum_j v_j   s.t.  u_i + v_j <= C_ij,   v_j <= 0.
 *
 * u is a "price" per row and v per column. The *reduced cost* of a cell is
 * `r_ij = C_ij - u_i - v_j`: how much more a cell costs than the prices say it should.
 * A primal assignment and a dual (u, v) are both optimal exactly when (LP complementary
 * slackness) every reduced cost is >= 0, every assigned cell has reduced cost 0, and
 * every column left unassigned has v_j = 0. Then `total = sum_i u_i + sum_j v_j`.
 *
 * The solver keeps two invariants for every row that is already assigned: its reduced costs are
 * >= 0 everywhere and 0 on its own cell. Adding one more row is then a single-source shortest
 * path problem on non-negative edge weights (Dijkstra), and after augmenting along that path the
 * potentials are updated so that the invariants hold again for the larger set of rows.
 */

/** A cost matrix given as a row-major block of numbers. */
export interface DenseMatrix {
  readonly rows: number;
  readonly cols: number;
  /** `rows * cols` values, row-major: entry (i, j) is `data[i * cols + j]`. */
  readonly data: Float64Array | ArrayLike<number>;
}

/** Anything shaped like a 2-D `NDArray` from `@tsgrad/tensor` (only these two members are used). */
export interface MatrixLike {
  readonly shape: readonly number[];
  toFloat64Array(): Float64Array;
}

/** The accepted cost matrix forms: nested arrays, a dense row-major block, or a 2-D NDArray. */
export type CostMatrix = readonly (readonly number[])[] | DenseMatrix | MatrixLike;

/** Dual potentials: one per row (`u`, length m) and one per column (`v`, length n). */
export interface Duals {
  u: Float64Array;
  v: Float64Array;
}

export interface LinearSumAssignmentOptions {
  /** Maximise the sum instead of minimising it (SciPy's `maximize=True`). */
  maximize?: boolean;
  /**
   * Warm-start potentials, normally the `duals` returned by an earlier call on a similar matrix
   * with the same `maximize` flag. See {@link linearSumAssignment} for when they are used.
   */
  initDuals?: { u?: ArrayLike<number>; v?: ArrayLike<number> };
}

export interface LinearSumAssignmentResult {
  /** Matched rows, strictly increasing (all rows when m <= n). */
  rowInd: Int32Array;
  /** `colInd[k]` is the column matched to row `rowInd[k]`. */
  colInd: Int32Array;
  /** Sum of the original cost entries over the matched cells. */
  total: number;
  /**
   * Optimal dual potentials of the minimisation actually solved (of `cost`, or of `-cost` when
   * `maximize`), in the caller's orientation: `u` has m entries, `v` has n. They satisfy
   * `u_i + v_j <= c_ij` for every cell (c = cost or -cost) with equality on matched cells.
   */
  duals: Duals;
  /** True when `initDuals` were given and the result came from the warm-started run. */
  warmStarted: boolean;
}

const NAME = 'linearSumAssignment';

/**
 * Solves the linear sum assignment problem exactly, with the semantics of SciPy's
 * `scipy.optimize.linear_sum_assignment`.
 *
 * - `cost` is m x n (rectangular allowed); min(m, n) pairs are returned, `rowInd` ascending.
 * - `+Infinity` marks a forbidden cell (with `maximize`, `-Infinity` does). If no assignment
 *   avoids the forbidden cells, it throws `cost matrix is infeasible`.
 * - NaN, and `-Infinity` (or `+Infinity` with `maximize`), throw `contains invalid numeric entries`;
 *   a cell that is not a number at all (null, a string, undefined) throws a TypeError naming its
 *   position (it is never coerced, so `null` does not become 0).
 * - An empty matrix (m = 0 or n = 0) gives empty arrays and total 0.
 *
 * **Warm starts.** Let the "long side" be the columns when m <= n and the rows otherwise (the
 * solver transposes so that it always assigns along the short side). Only the long side's
 * potentials in `initDuals` are used (`v` when m <= n, `u` when m > n); the short side's are
 * recomputed, because every short-side line starts unassigned and its initial potential cancels
 * out of the first Dijkstra step. Because no cell starts assigned, the invariants above hold
 * trivially at the start for *any* finite long-side potentials, so they need not be feasible:
 * - square matrices: any finite values give an optimal assignment in exact arithmetic (the column
 *   prices add the same constant, sum_j v_j, to every perfect matching). In float64 the prices
 *   must not dwarf the costs: they are shifted so the largest is 0, and if they still spread over
 *   more than 2^20 times the range of the finite costs (duals of 1e16 against costs near 1, where
 *   rounding would decide the assignment), they are ignored, the matrix is solved cold and
 *   `warmStarted` is false;
 * - rectangular matrices: optimality also needs every unassigned long-side line to end with a
 *   potential at least as large as every assigned one (cold starts get this from v = 0, which
 *   only decreases). That is checked after the warm run; if it fails, the problem is solved
 *   again cold and `warmStarted` is false.
 * Good warm duals (the `duals` of a previous solve of a nearby matrix, same `maximize`) make most
 * shortest-path searches end after one or two steps. Non-finite potentials or a wrong length throw.
 *
 * @example
 * const { rowInd, colInd, total } = linearSumAssignment([[4, 1, 3], [2, 0, 5], [3, 2, 2]]);
 * // rowInd = [0, 1, 2], colInd = [1, 0, 2], total = 5
 * const best = linearSumAssignment([[1, 2], [3, 4]], { maximize: true }); // total = 5
 * const again = linearSumAssignment(nextCost, { initDuals: best.duals }); // warm start
 */
export function linearSumAssignment(
  cost: CostMatrix,
  options: LinearSumAssignmentOptions = {},
): LinearSumAssignmentResult {
  const maximize = options.maximize ?? false;
  const { rows: m, cols: n, data } = toDense(cost);

  if (m === 0 || n === 0) {
    return {
      rowInd: new Int32Array(0),
      colInd: new Int32Array(0),
      total: 0,
      duals: { u: new Float64Array(m), v: new Float64Array(n) },
      warmStarted: false,
    };
  }

  // Internally rows are the short side (nr <= nc), so that every row gets assigned.
  const transpose = m > n;
  const nr = transpose ? n : m;
  const nc = transpose ? m : n;
  const c = new Float64Array(nr * nc);
  const sign = maximize ? -1 : 1;
  for (let i = 0; i < m; i++) {
    for (let j = 0; j < n; j++) {
      const raw: unknown = data[i * n + j];
      if (typeof raw !== 'number') {
        throw new TypeError(`${NAME}: cost matrix [${m}, ${n}] has ${raw === null ? 'null' : typeof raw === 'string' ? `the string ${JSON.stringify(raw)}` : `a ${typeof raw}`} at [${i}, ${j}], not a number`);
      }
      const x = sign * raw;
      if (Number.isNaN(x) || x === -Infinity) {
        throw new Error(
          `${NAME}: cost matrix [${m}, ${n}] contains invalid numeric entries ` +
            `(${data[i * n + j]} at [${i}, ${j}]${maximize ? ' with maximize' : ''})`,
        );
      }
      c[transpose ? j * nc + i : i * nc + j] = x;
    }
  }

  let warmV: Float64Array | null = null;
  if (options.initDuals !== undefined) {
    const given = transpose ? options.initDuals.u : options.initDuals.v;
    const which = transpose ? 'u' : 'v';
    if (given === undefined) {
      throw new Error(`${NAME}: initDuals.${which} is required for a [${m}, ${n}] cost matrix`);
    }
    if (given.length !== nc) {
      throw new Error(
        `${NAME}: initDuals.${which} has length ${given.length}, expected ${nc} for cost [${m}, ${n}]`,
      );
    }
    warmV = new Float64Array(nc);
    for (let j = 0; j < nc; j++) {
      const x = given[j]!;
      if (!Number.isFinite(x)) {
        throw new Error(`${NAME}: initDuals.${which}[${j}] = ${x} is not finite`);
      }
      warmV[j] = x;
    }
  }

  if (warmV !== null && !shiftWarmPrices(warmV, c)) warmV = null;
  let sol = solveShortSide(c, nr, nc, warmV);
  let warmStarted = warmV !== null;
  if (warmV !== null && nr < nc && !unassignedPricesDominate(sol)) {
    // Rectangular warm start ended without a dual certificate (see TSDoc): redo it cold.
    sol = solveShortSide(c, nr, nc, null);
    warmStarted = false;
  }

  // Back to the caller's orientation; rows sorted ascending as in SciPy.
  const k = nr;
  const rowInd = new Int32Array(k);
  const colInd = new Int32Array(k);
  if (!transpose) {
    for (let i = 0; i < k; i++) {
      rowInd[i] = i;
      colInd[i] = sol.col4row[i]!;
    }
  } else {
    // Internal row r is original column r; walk original rows in order.
    let t = 0;
    for (let i = 0; i < m; i++) {
      const r = sol.row4col[i]!;
      if (r >= 0) {
        rowInd[t] = i;
        colInd[t] = r;
        t++;
      }
    }
  }
  let total = 0;
  for (let t = 0; t < k; t++) total += data[rowInd[t]! * n + colInd[t]!]!;

  const duals = transpose ? { u: sol.v, v: sol.u } : { u: sol.u, v: sol.v };
  return { rowInd, colInd, total, duals, warmStarted };
}

interface ShortSideSolution {
  col4row: Int32Array;
  row4col: Int32Array;
  u: Float64Array;
  v: Float64Array;
}

/**
 * Crouse 2016, pp. 1685-1686, without initialisation: assigns every row of the nr x nc matrix `c`
 * (nr <= nc, row-major, no NaN / -Infinity) one at a time, each by a shortest augmenting path.
 */
function solveShortSide(
  c: Float64Array,
  nr: number,
  nc: number,
  initV: Float64Array | null,
): ShortSideSolution {
  const u = new Float64Array(nr); // row potentials
  const v = initV ? Float64Array.from(initV) : new Float64Array(nc); // column potentials
  const col4row = new Int32Array(nr).fill(-1); // column assigned to each row, -1 = none
  const row4col = new Int32Array(nc).fill(-1); // row assigned to each column, -1 = none

  // Work arrays for the shortest path search, allocated once and reused for every row.
  const dist = new Float64Array(nc); // tentative path length to each column ("shortestPathCosts")
  const pred = new Int32Array(nc); // row from which each column was last reached ("path")
  const remaining = new Int32Array(nc); // columns not yet finalised, in positions [0, numRemaining)
  const scannedRows = new Int32Array(nr); // rows whose edges have been relaxed (the set SR)
  const doneCols = new Int32Array(nc); // finalised columns in the order reached (the set SC)

  for (let curRow = 0; curRow < nr; curRow++) {
    // --- Dijkstra from curRow over the bipartite "alternating" graph. -----------------------
    // Nodes are columns. Leaving row i to column j costs the reduced cost c_ij - u_i - v_j
    // (>= 0 for already assigned rows by the invariant; edges out of curRow itself may be
    // negative, which Dijkstra tolerates because they are only ever the first step). Reaching an
    // assigned column j continues along its matched edge to row row4col[j] at cost 0. The search
    // stops at the first free column it finalises: the "sink" of the shortest augmenting path.
    dist.fill(Infinity);
    for (let j = 0; j < nc; j++) remaining[j] = j;
    let numRemaining = nc;
    let numScanned = 0;
    let numDone = 0;

    let minVal = 0; // length of the path to the row being scanned
    let i = curRow;
    let sink = -1;
    while (sink === -1) {
      scannedRows[numScanned++] = i;
      const base = i * nc;
      const ui = u[i]!;
      let lowest = Infinity;
      let lowestAt = -1;
      // Relax every edge out of row i and, in the same pass, find the closest remaining column.
      for (let k = 0; k < numRemaining; k++) {
        const j = remaining[k]!;
        const r = minVal + c[base + j]! - ui - v[j]!;
        if (r < dist[j]!) {
          pred[j] = i;
          dist[j] = r;
        }
        const d = dist[j]!;
        // On ties prefer a free column: the path can end there, saving scans. (Only speed
        // depends on this; any tie-break gives an optimal assignment.)
        if (d < lowest || (d === lowest && row4col[j] === -1)) {
          lowest = d;
          lowestAt = k;
        }
      }
      minVal = lowest;
      if (minVal === Infinity || lowestAt < 0) {
        throw new Error(
          `${NAME}: cost matrix is infeasible (no assignment of all ${nr} rows avoids the forbidden entries)`,
        );
      }
      // Finalise the closest column: its distance can no longer shrink.
      const j = remaining[lowestAt]!;
      doneCols[numDone++] = j;
      remaining[lowestAt] = remaining[--numRemaining]!;
      if (row4col[j] === -1) sink = j;
      else i = row4col[j]!; // continue along the matched edge (cost 0) to its row
    }

    // --- Update the potentials. --------------------------------------------------------------
    // minVal is now the length of the shortest augmenting path, dist[j] the final distance of
    // each finalised column, and a scanned row i was reached at distance d_i = dist[col4row[i]]
    // (d = 0 for curRow). Setting u_i += minVal - d_i and v_j -= minVal - dist[j] changes the
    // reduced cost of a tree edge (i, j) to r_ij + d_i - dist[j], which is >= 0 because Dijkstra
    // relaxed it (dist[j] <= d_i + r_ij) and is 0 on the path and on matched edges (equality
    // there). An edge from a scanned row to an unfinalised column drops by minVal - d_i but stays
    // >= 0, since that column's dist is >= minVal; an edge from an unscanned row into a finalised
    // column only grows. So after the flip below all
    // assigned rows again have reduced costs >= 0, and 0 on their own cell.
    u[curRow] = u[curRow]! + minVal;
    for (let t = 1; t < numScanned; t++) {
      const r = scannedRows[t]!;
      u[r] = u[r]! + minVal - dist[col4row[r]!]!;
    }
    for (let t = 0; t < numDone; t++) {
      const j = doneCols[t]!;
      v[j] = v[j]! - (minVal - dist[j]!);
    }

    // --- Augment: flip matched and unmatched edges along the path back to curRow. -------------
    // Each row on the path gives up its old column and takes the one it reached; curRow, which
    // had none, ends the walk. Assigned rows stay assigned, and one more column becomes taken.
    let j = sink;
    for (;;) {
      const r = pred[j]!;
      row4col[j] = r;
      const prev = col4row[r]!;
      col4row[r] = j;
      if (r === curRow) break;
      j = prev;
    }
  }
  return { col4row, row4col, u, v };
}

/**
 * How far warm prices may spread, relative to the spread of the finite costs. Reduced costs
 * c - u - v are computed in float64; once the prices dwarf the costs (duals of 1e16 against
 * costs of 1), rounding swamps the differences between cells and the "optimal" assignment is
 * noise. Potentials of a genuine earlier solve spread at most about (size x cost range), far
 * below this bound; above it the warm start is dropped and the matrix is solved cold.
 */
const MAX_PRICE_SPREAD = 2 ** 20;

/**
 * Shifts the warm column prices so that the largest is 0 (a common shift changes no
 * assignment's ranking and leaves the rectangular certificate alone), and says whether their
 * spread is small enough, against the spread of the finite costs, to use them at all.
 */
function shiftWarmPrices(v: Float64Array, c: Float64Array): boolean {
  let vmax = -Infinity;
  for (const x of v) vmax = Math.max(vmax, x);
  let spread = 0;
  for (let j = 0; j < v.length; j++) {
    v[j] = v[j]! - vmax;
    spread = Math.max(spread, -v[j]!);
  }
  let cmin = Infinity;
  let cmax = -Infinity;
  for (const x of c) {
    if (x === Infinity) continue; // forbidden cells carry no scale
    cmin = Math.min(cmin, x);
    cmax = Math.max(cmax, x);
  }
  // equal finite costs make every feasible assignment optimal, whatever the prices
  if (!(cmax > cmin)) return true;
  return spread <= MAX_PRICE_SPREAD * (cmax - cmin);
}

/**
 * Rectangular optimality certificate beyond reduced costs: every column left unassigned must be
 * priced at least as high as every assigned one, so that no cheaper choice of which nr columns to
 * use exists. (Shifting all v by a constant is free, which turns this into v_j <= 0 with v_j = 0
 * on the unassigned columns, the LP dual conditions above.)
 */
function unassignedPricesDominate(sol: ShortSideSolution): boolean {
  let maxAssigned = -Infinity;
  let minFree = Infinity;
  for (let j = 0; j < sol.v.length; j++) {
    if (sol.row4col[j] === -1) minFree = Math.min(minFree, sol.v[j]!);
    else maxAssigned = Math.max(maxAssigned, sol.v[j]!);
  }
  return maxAssigned <= minFree;
}

// Array.isArray does not narrow readonly array types, hence this guard.
function isNested(cost: CostMatrix): cost is readonly (readonly number[])[] {
  return Array.isArray(cost);
}

/** Reads any accepted cost matrix form into (rows, cols, row-major data), checking the shape. */
function toDense(cost: CostMatrix): { rows: number; cols: number; data: ArrayLike<number> } {
  if (isNested(cost)) {
    const nested = cost;
    const rows = nested.length;
    const cols = rows === 0 ? 0 : nested[0]!.length;
    for (let i = 0; i < rows; i++) {
      const row = nested[i]!;
      if (!Array.isArray(row) || row.length !== cols) {
        throw new Error(
          `${NAME}: ragged cost matrix: row 0 has ${cols} entries but row ${i} has ` +
            `${Array.isArray(row) ? row.length : 'a non-array'}`,
        );
      }
    }
    // keep the cells as given (a Float64Array would turn null into 0 and "3" into 3); they are checked on use
    const data: unknown[] = [];
    for (const row of nested) for (let j = 0; j < cols; j++) data.push(row[j]);
    return { rows, cols, data: data as number[] };
  }
  if ('shape' in cost) {
    if (cost.shape.length !== 2) {
      throw new Error(`${NAME}: cost matrix must be 2-D, got shape [${cost.shape.join(', ')}]`);
    }
    return { rows: cost.shape[0]!, cols: cost.shape[1]!, data: cost.toFloat64Array() };
  }
  const { rows, cols, data } = cost;
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new Error(`${NAME}: bad cost matrix shape [${rows}, ${cols}]`);
  }
  if (data.length !== rows * cols) {
    throw new Error(
      `${NAME}: cost matrix [${rows}, ${cols}] needs ${rows * cols} values, got ${data.length}`,
    );
  }
  return { rows, cols, data };
}
