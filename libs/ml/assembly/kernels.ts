/**
 * WebAssembly (SIMD) kernels for the transformer's training step, where tfjs's stock wasm kernels
 * waste most of their time; AssemblyScript, compiled by `npm run build:kernels` into
 * src/kernels-wasm.ts. Pointers are byte offsets into this module's own memory, laid out by the
 * caller (src/simd-kernels.ts), which copies inputs in and outputs out.
 *
 * Embedding: rows of a table summed by index (a token row plus a position row), and the gradient
 * scattered back. The stock alternative, a multi-hot matrix times the table, builds and multiplies
 * an [n, rows] matrix each way.
 *
 * LayerNorm, forward and backward: one pass over each row instead of a dozen stock kernels (mean,
 * subtract, square, mean, rsqrt, multiply, …, each with its own dispatch), which at small batches
 * cost more in dispatch than in arithmetic.
 *
 * Causal multi-head self-attention, forward and backward. Why by hand: on tfjs's wasm backend, attention built from stock kernels is a third of a training
 * step (libs/ml/README.md): its batched products run as depthwise convolutions, softmax wants the
 * keys on the last axis and the convolutions want them in the middle, so four [t, b·h, t]
 * transposes per layer move more bytes than the products compute, and the causal half of every
 * product is computed and then masked away. Here each (sequence, head) is done in place: the
 * upper triangle is skipped, nothing is transposed but one [d, t] block of keys or values.
 *
 * Layout (time-major, as ops.ts): qkv is [t·b, 3·h·d], rows (time, batch), columns (q|k|v, head,
 * dim); out and dOut are [t·b, h·d]. The backward pass recomputes the softmax from q and k instead of
 * reading it back: saving it would cost more copying than recomputing costs. Pointers are byte
 * offsets into this module's memory; `scratch` needs `scratchFloats(t, d)` floats.
 */

/** y = (x − mean) / √(var + ε) · gain (+ shift) over rows of c (a multiple of 4); shift may be 0. */
export function layerNormForward(x: usize, gain: usize, shift: usize, y: usize, n: i32, c: i32, epsilon: f32): void {
  const rowBytes = <usize>c << 2;
  const inv = f32x4.splat(<f32>1.0 / <f32>c);
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * rowBytes;
    const yi = y + <usize>i * rowBytes;
    let sum = f32x4.splat(0);
    for (let k: usize = 0; k < rowBytes; k += 16) sum = f32x4.add(sum, v128.load(xi + k));
    const mean = f32x4.mul(f32x4.splat(hsum(sum)), inv);
    let squares = f32x4.splat(0);
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const centred = f32x4.sub(v128.load(xi + k), mean);
      squares = f32x4.add(squares, f32x4.mul(centred, centred));
    }
    const rstd = f32x4.splat(<f32>1.0 / Mathf.sqrt(hsum(squares) / <f32>c + epsilon));
    for (let k: usize = 0; k < rowBytes; k += 16) {
      let v = f32x4.mul(f32x4.mul(f32x4.sub(v128.load(xi + k), mean), rstd), v128.load(gain + k));
      if (shift) v = f32x4.add(v, v128.load(shift + k));
      v128.store(yi + k, v);
    }
  }
}

/**
 * Gradients of layerNormForward from dy: dx (n × c), dGain and dShift (c each, summed over rows in
 * order: deterministic). With x̂ the normalised row and r = 1/√(var + ε):
 * dx = r · (dx̂ − mean(dx̂) − x̂ · mean(dx̂ · x̂)), dx̂ = dy · gain.
 */
export function layerNormBackward(x: usize, gain: usize, dy: usize, dx: usize, dGain: usize, dShift: usize, n: i32, c: i32, epsilon: f32): void {
  const rowBytes = <usize>c << 2;
  const inv = f32x4.splat(<f32>1.0 / <f32>c);
  memory.fill(dGain, 0, rowBytes);
  memory.fill(dShift, 0, rowBytes);
  for (let i = 0; i < n; i++) {
    const xi = x + <usize>i * rowBytes;
    const gi = dy + <usize>i * rowBytes;
    const di = dx + <usize>i * rowBytes;
    let sum = f32x4.splat(0);
    for (let k: usize = 0; k < rowBytes; k += 16) sum = f32x4.add(sum, v128.load(xi + k));
    const mean = f32x4.mul(f32x4.splat(hsum(sum)), inv);
    let squares = f32x4.splat(0);
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const centred = f32x4.sub(v128.load(xi + k), mean);
      squares = f32x4.add(squares, f32x4.mul(centred, centred));
    }
    const rstd = f32x4.splat(<f32>1.0 / Mathf.sqrt(hsum(squares) / <f32>c + epsilon));
    let sumD = f32x4.splat(0);
    let sumDX = f32x4.splat(0);
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(xi + k), mean), rstd);
      const g = v128.load(gi + k);
      const dxhat = f32x4.mul(g, v128.load(gain + k));
      sumD = f32x4.add(sumD, dxhat);
      sumDX = f32x4.add(sumDX, f32x4.mul(dxhat, xhat));
      v128.store(dGain + k, f32x4.add(v128.load(dGain + k), f32x4.mul(g, xhat)));
      v128.store(dShift + k, f32x4.add(v128.load(dShift + k), g));
    }
    const meanD = f32x4.mul(f32x4.splat(hsum(sumD)), inv);
    const meanDX = f32x4.mul(f32x4.splat(hsum(sumDX)), inv);
    for (let k: usize = 0; k < rowBytes; k += 16) {
      const xhat = f32x4.mul(f32x4.sub(v128.load(xi + k), mean), rstd);
      const dxhat = f32x4.mul(v128.load(gi + k), v128.load(gain + k));
      v128.store(di + k, f32x4.mul(rstd, f32x4.sub(f32x4.sub(dxhat, meanD), f32x4.mul(xhat, meanDX))));
    }
  }
}

/** out[i] = Σ_j table[indices[i, j]] for n rows of `perRow` ids; width a multiple of 4. */
export function embeddingForward(table: usize, indices: usize, out: usize, n: i32, perRow: i32, width: i32): void {
  const rowBytes = <usize>width << 2;
  for (let i = 0; i < n; i++) {
    const o = out + <usize>i * rowBytes;
    const ids = indices + (<usize>(i * perRow) << 2);
    memory.copy(o, table + <usize>load<i32>(ids) * rowBytes, rowBytes);
    for (let j = 1; j < perRow; j++) {
      const src = table + <usize>load<i32>(ids + (<usize>j << 2)) * rowBytes;
      for (let k: usize = 0; k < rowBytes; k += 16) v128.store(o + k, f32x4.add(v128.load(o + k), v128.load(src + k)));
    }
  }
}

/** dTable[r] = Σ dy[i] over the (i, j) with indices[i, j] = r, in order of i: deterministic. */
export function embeddingBackward(dy: usize, indices: usize, dTable: usize, n: i32, perRow: i32, width: i32, rows: i32): void {
  const rowBytes = <usize>width << 2;
  memory.fill(dTable, 0, <usize>rows * rowBytes);
  for (let i = 0; i < n; i++) {
    const g = dy + <usize>i * rowBytes;
    for (let j = 0; j < perRow; j++) {
      const dst = dTable + <usize>load<i32>(indices + (<usize>(i * perRow + j) << 2)) * rowBytes;
      for (let k: usize = 0; k < rowBytes; k += 16) v128.store(dst + k, f32x4.add(v128.load(dst + k), v128.load(g + k)));
    }
  }
}

// exp for x ≤ 0 on four lanes: x = n·ln2 + r, e^r by a degree-6 polynomial (|r| ≤ ln2/2, relative
// error below 2e-7), 2^n from the exponent bits. Below −87.3 the result is flushed to 2^−126.
// @ts-ignore: decorator
@inline
function exp4(x: v128): v128 {
  x = f32x4.max(x, f32x4.splat(-87.3));
  const n = f32x4.nearest(f32x4.mul(x, f32x4.splat(1.4426950408889634)));
  let r = f32x4.sub(x, f32x4.mul(n, f32x4.splat(0.693145751953125)));
  r = f32x4.sub(r, f32x4.mul(n, f32x4.splat(1.428606765330187e-6)));
  let p = f32x4.splat(1.0 / 720.0);
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 120.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 24.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0 / 6.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(0.5));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  p = f32x4.add(f32x4.mul(p, r), f32x4.splat(1.0));
  const bits = i32x4.shl(i32x4.add(i32x4.trunc_sat_f32x4_s(n), i32x4.splat(127)), 23);
  return f32x4.mul(p, bits);
}

// @ts-ignore: decorator
@inline
function hsum(v: v128): f32 {
  return f32x4.extract_lane(v, 0) + f32x4.extract_lane(v, 1) + f32x4.extract_lane(v, 2) + f32x4.extract_lane(v, 3);
}

// @ts-ignore: decorator
@inline
function hmax(v: v128): f32 {
  return max(max(f32x4.extract_lane(v, 0), f32x4.extract_lane(v, 1)), max(f32x4.extract_lane(v, 2), f32x4.extract_lane(v, 3)));
}

/** Copies one head's d columns (from column `col`) of t rows into a [d, tPad] block, zero-padded. */
function gatherTransposed(qkv: usize, dst: usize, col: i32, t: i32, tPad: i32, b: i32, batch: i32, stride: i32, d: i32): void {
  for (let j = 0; j < t; j++) {
    const src = qkv + (<usize>((j * batch + b) * stride + col) << 2);
    for (let k = 0; k < d; k++) store<f32>(dst + (<usize>(k * tPad + j) << 2), load<f32>(src + (<usize>k << 2)));
  }
  for (let k = 0; k < d; k++) for (let j = t; j < tPad; j++) store<f32>(dst + (<usize>(k * tPad + j) << 2), 0);
}

/** Copies one head's d columns (from column `col`) of t rows into a [tPad, d] block, zero-padded. */
function gatherRows(qkv: usize, dst: usize, col: i32, t: i32, tPad: i32, b: i32, batch: i32, stride: i32, d: i32): void {
  for (let j = 0; j < t; j++)
    memory.copy(dst + (<usize>(j * d) << 2), qkv + (<usize>((j * batch + b) * stride + col) << 2), <usize>d << 2);
  memory.fill(dst + (<usize>(t * d) << 2), 0, <usize>((tPad - t) * d) << 2);
}

// Four partial sums in each product below, not one: one running sum makes every addition wait for
// the one before (the loop then runs at the add's latency, not its throughput).

/** Σ_k x[k] · colsT[k, j … j+3]: four dot products of x (d floats) with columns j … j+3. */
// @ts-ignore: decorator
@inline
function dotColumns(x: usize, colsT: usize, j: i32, tPad: i32, d: i32): v128 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const stride = <usize>tPad << 2;
  let col = colsT + (<usize>j << 2);
  for (let k = 0; k < d; k += 4) {
    const xk = x + (<usize>k << 2);
    a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(xk)), v128.load(col)));
    a1 = f32x4.add(a1, f32x4.mul(f32x4.splat(load<f32>(xk, 4)), v128.load(col + stride)));
    a2 = f32x4.add(a2, f32x4.mul(f32x4.splat(load<f32>(xk, 8)), v128.load(col + 2 * stride)));
    a3 = f32x4.add(a3, f32x4.mul(f32x4.splat(load<f32>(xk, 12)), v128.load(col + 3 * stride)));
    col += 4 * stride;
  }
  return f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
}

/** Σ_{from ≤ j < to} w[j] · rows[j, k … k+3] (rows is [·, d]; from and to multiples of 4). */
// @ts-ignore: decorator
@inline
function weightedRows(w: usize, rows: usize, from: i32, to: i32, d: i32, k: i32): v128 {
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const stride = <usize>d << 2;
  let row = rows + (<usize>(from * d + k) << 2);
  for (let j = from; j < to; j += 4) {
    const wj = w + (<usize>j << 2);
    a0 = f32x4.add(a0, f32x4.mul(f32x4.splat(load<f32>(wj)), v128.load(row)));
    a1 = f32x4.add(a1, f32x4.mul(f32x4.splat(load<f32>(wj, 4)), v128.load(row + stride)));
    a2 = f32x4.add(a2, f32x4.mul(f32x4.splat(load<f32>(wj, 8)), v128.load(row + 2 * stride)));
    a3 = f32x4.add(a3, f32x4.mul(f32x4.splat(load<f32>(wj, 12)), v128.load(row + 3 * stride)));
    row += 4 * stride;
  }
  return f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
}

/** exp4's value for a padded (−∞) lane, which it clamps to −87.3. */
// @ts-ignore: decorator
@inline
function paddingExp(): f32 {
  return f32x4.extract_lane(exp4(f32x4.splat(-Infinity)), 0);
}

/**
 * Softmax row i of one head into `row` (tPad floats, zero past i): p_j ∝ exp(q_i·k_j / √d), j ≤ i.
 * keysT is the head's keys as [d, tPad].
 */
// @ts-ignore: decorator
@inline
function softmaxRow(q: usize, keysT: usize, row: usize, i: i32, tPad: i32, d: i32, scale: f32): void {
  const n = i + 1;
  const n4 = (n + 3) & ~3;
  let best = f32x4.splat(-Infinity);
  for (let j = 0; j < n4; j += 4)
    v128.store(row + (<usize>j << 2), f32x4.mul(dotColumns(q, keysT, j, tPad, d), f32x4.splat(scale)));
  for (let j = n; j < n4; j++) store<f32>(row + (<usize>j << 2), -Infinity);
  for (let j = 0; j < n4; j += 4) best = f32x4.max(best, v128.load(row + (<usize>j << 2)));
  const top = f32x4.splat(hmax(best));
  let total = f32x4.splat(0);
  for (let j = 0; j < n4; j += 4) {
    const e = exp4(f32x4.sub(v128.load(row + (<usize>j << 2)), top));
    v128.store(row + (<usize>j << 2), e);
    total = f32x4.add(total, e);
  }
  // the padded lanes added exp(−87.3) each: take them back out of the sum, and zero them
  const inv = f32x4.splat(<f32>1.0 / (hsum(total) - <f32>(n4 - n) * paddingExp()));
  for (let j = n; j < n4; j++) store<f32>(row + (<usize>j << 2), 0);
  for (let j = 0; j < n4; j += 4) v128.store(row + (<usize>j << 2), f32x4.mul(v128.load(row + (<usize>j << 2)), inv));
}

/** Floats of scratch space both passes need. */
export function scratchFloats(t: i32, d: i32): i32 {
  const tPad = (t + 3) & ~3;
  return 5 * d * tPad + 2 * tPad + 2 * tPad * tPad;
}

export function attentionForward(qkv: usize, out: usize, scratch: usize, t: i32, batch: i32, heads: i32, d: i32): void {
  const width = heads * d;
  const stride = 3 * width;
  const tPad = (t + 3) & ~3;
  const scale = <f32>(1.0 / Mathf.sqrt(<f32>d));
  const keysT = scratch;
  const values = keysT + (<usize>(d * tPad) << 2);
  const row = values + (<usize>(tPad * d) << 2);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      gatherTransposed(qkv, keysT, width + h * d, t, tPad, b, batch, stride, d);
      gatherRows(qkv, values, 2 * width + h * d, t, tPad, b, batch, stride, d);
      for (let i = 0; i < t; i++) {
        softmaxRow(qkv + (<usize>((i * batch + b) * stride + h * d) << 2), keysT, row, i, tPad, d, scale);
        // out_i = Σ_j p_j v_j
        const o = out + (<usize>((i * batch + b) * width + h * d) << 2);
        const n4 = (i + 4) & ~3;
        for (let k = 0; k < d; k += 4) v128.store(o + (<usize>k << 2), weightedRows(row, values, 0, n4, d, k));
      }
    }
  }
}

export function attentionBackward(qkv: usize, dOut: usize, dQkv: usize, scratch: usize, t: i32, batch: i32, heads: i32, d: i32): void {
  const width = heads * d;
  const stride = 3 * width;
  const tPad = (t + 3) & ~3;
  const scale = <f32>(1.0 / Mathf.sqrt(<f32>d));
  const block = <usize>(d * tPad) << 2;
  const keysT = scratch;
  const valuesT = keysT + block;
  const keys = valuesT + block;
  const queries = keys + block;
  const dOuts = queries + block;
  const row = dOuts + block;
  const dScores = row + (<usize>tPad << 2);
  // probabilities and score gradients transposed ([j, i]), for dK and dV after the row loop
  const probsT = dScores + (<usize>tPad << 2);
  const dScoresT = probsT + (<usize>(tPad * tPad) << 2);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      gatherTransposed(qkv, keysT, width + h * d, t, tPad, b, batch, stride, d);
      gatherTransposed(qkv, valuesT, 2 * width + h * d, t, tPad, b, batch, stride, d);
      gatherRows(qkv, keys, width + h * d, t, tPad, b, batch, stride, d);
      gatherRows(qkv, queries, h * d, t, tPad, b, batch, stride, d);
      gatherRows(dOut, dOuts, h * d, t, tPad, b, batch, width, d);
      memory.fill(probsT, 0, <usize>(2 * tPad * tPad) << 2);
      for (let i = 0; i < t; i++) {
        const n = i + 1;
        const n4 = (n + 3) & ~3;
        const q = queries + (<usize>(i * d) << 2);
        softmaxRow(q, keysT, row, i, tPad, d, scale);
        const dO = dOuts + (<usize>(i * d) << 2);
        // dP_j = dO_i·v_j; then dS_j = p_j (dP_j − Σ p·dP) / √d
        let dot = f32x4.splat(0);
        for (let j = 0; j < n4; j += 4) {
          const acc = dotColumns(dO, valuesT, j, tPad, d);
          v128.store(dScores + (<usize>j << 2), acc);
          dot = f32x4.add(dot, f32x4.mul(acc, v128.load(row + (<usize>j << 2))));
        }
        const rowDot = f32x4.splat(hsum(dot));
        for (let j = 0; j < n4; j += 4) {
          const dP = v128.load(dScores + (<usize>j << 2));
          v128.store(dScores + (<usize>j << 2), f32x4.mul(f32x4.mul(v128.load(row + (<usize>j << 2)), f32x4.sub(dP, rowDot)), f32x4.splat(scale)));
        }
        // dQ_i = Σ_j dS_j k_j
        const dQ = dQkv + (<usize>((i * batch + b) * stride + h * d) << 2);
        for (let k = 0; k < d; k += 4) v128.store(dQ + (<usize>k << 2), weightedRows(dScores, keys, 0, n4, d, k));
        for (let j = 0; j < n; j++) {
          const at = <usize>(j * tPad + i) << 2;
          store<f32>(probsT + at, load<f32>(row + (<usize>j << 2)));
          store<f32>(dScoresT + at, load<f32>(dScores + (<usize>j << 2)));
        }
      }
      // dK_j = Σ_{i ≥ j} dS_ij q_i;  dV_j = Σ_{i ≥ j} p_ij dO_i
      for (let j = 0; j < t; j++) {
        const dst = dQkv + (<usize>((j * batch + b) * stride + h * d) << 2);
        const from = j & ~3;
        const column = <usize>(j * tPad) << 2;
        for (let k = 0; k < d; k += 4) {
          v128.store(dst + (<usize>(width + k) << 2), weightedRows(dScoresT + column, queries, from, tPad, d, k));
          v128.store(dst + (<usize>(2 * width + k) << 2), weightedRows(probsT + column, dOuts, from, tPad, d, k));
        }
      }
    }
  }
}
