/**
 * Causal multi-head self-attention, forward and backward, as one WebAssembly (SIMD) kernel each.
 * AssemblyScript, compiled by `npm run build:kernels` into src/attention-wasm.ts.
 *
 * Why by hand: on tfjs's wasm backend, attention built from stock kernels is a third of a training
 * step (libs/ml/README.md): its batched products run as depthwise convolutions, softmax wants the
 * keys on the last axis and the convolutions want them in the middle, so four [t, b·h, t]
 * transposes per layer move more bytes than the products compute, and the causal half of every
 * product is computed and then masked away. Here each (sequence, head) is done in place: the
 * upper triangle is skipped, nothing is transposed but one [d, t] block of keys or values.
 *
 * Layout (time-major, as ops.ts): qkv is [t·b, 3·h·d], rows (time, batch), columns (q|k|v, head,
 * dim); out and dOut are [t·b, h·d]. The backward pass recomputes the softmax from q and k instead of
 * reading it back: saving it would cost more copying than recomputing costs. Pointers are byte
 * offsets into this module's memory, laid out by the caller; `scratch` needs `scratchFloats(t, d)`.
 */

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

/** Copies one head's d columns (from column `col`) of t rows into a contiguous [t, d] block. */
function gatherRows(qkv: usize, dst: usize, col: i32, t: i32, b: i32, batch: i32, stride: i32, d: i32): void {
  for (let j = 0; j < t; j++)
    memory.copy(dst + (<usize>(j * d) << 2), qkv + (<usize>((j * batch + b) * stride + col) << 2), <usize>d << 2);
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
  for (let j = 0; j < n4; j += 4) {
    let acc = f32x4.splat(0);
    for (let k = 0; k < d; k++)
      acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(q + (<usize>k << 2))), v128.load(keysT + (<usize>(k * tPad + j) << 2))));
    acc = f32x4.mul(acc, f32x4.splat(scale));
    v128.store(row + (<usize>j << 2), acc);
  }
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
  return 2 * d * tPad + 2 * tPad + 3 * t * d;
}

export function attentionForward(qkv: usize, out: usize, scratch: usize, t: i32, batch: i32, heads: i32, d: i32): void {
  const width = heads * d;
  const stride = 3 * width;
  const tPad = (t + 3) & ~3;
  const scale = <f32>(1.0 / Mathf.sqrt(<f32>d));
  const keysT = scratch;
  const values = keysT + (<usize>(d * tPad) << 2);
  const row = values + (<usize>(t * d) << 2);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      gatherTransposed(qkv, keysT, width + h * d, t, tPad, b, batch, stride, d);
      gatherRows(qkv, values, 2 * width + h * d, t, b, batch, stride, d);
      for (let i = 0; i < t; i++) {
        softmaxRow(qkv + (<usize>((i * batch + b) * stride + h * d) << 2), keysT, row, i, tPad, d, scale);
        // out_i = Σ_j p_j v_j
        const o = out + (<usize>((i * batch + b) * width + h * d) << 2);
        for (let k = 0; k < d; k += 4) {
          let acc = f32x4.splat(0);
          for (let j = 0; j <= i; j++)
            acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(row + (<usize>j << 2))), v128.load(values + (<usize>(j * d + k) << 2))));
          v128.store(o + (<usize>k << 2), acc);
        }
      }
    }
  }
}

export function attentionBackward(qkv: usize, dOut: usize, dQkv: usize, scratch: usize, t: i32, batch: i32, heads: i32, d: i32): void {
  const width = heads * d;
  const stride = 3 * width;
  const tPad = (t + 3) & ~3;
  const scale = <f32>(1.0 / Mathf.sqrt(<f32>d));
  const keysT = scratch;
  const valuesT = keysT + (<usize>(d * tPad) << 2);
  const row = valuesT + (<usize>(d * tPad) << 2);
  const keys = row + (<usize>tPad << 2);
  const dKeys = keys + (<usize>(t * d) << 2);
  const dValues = dKeys + (<usize>(t * d) << 2);
  const dScores = dValues + (<usize>(t * d) << 2);
  for (let b = 0; b < batch; b++) {
    for (let h = 0; h < heads; h++) {
      gatherTransposed(qkv, keysT, width + h * d, t, tPad, b, batch, stride, d);
      gatherTransposed(qkv, valuesT, 2 * width + h * d, t, tPad, b, batch, stride, d);
      gatherRows(qkv, keys, width + h * d, t, b, batch, stride, d);
      memory.fill(dKeys, 0, <usize>(2 * t * d) << 2);
      for (let i = 0; i < t; i++) {
        const n = i + 1;
        const n4 = (n + 3) & ~3;
        const q = qkv + (<usize>((i * batch + b) * stride + h * d) << 2);
        softmaxRow(q, keysT, row, i, tPad, d, scale);
        const dO = dOut + (<usize>((i * batch + b) * width + h * d) << 2);
        // dP_j = dO_i·v_j; then dS_j = p_j (dP_j − Σ p·dP) / √d
        let dot = f32x4.splat(0);
        for (let j = 0; j < n4; j += 4) {
          let acc = f32x4.splat(0);
          for (let k = 0; k < d; k++)
            acc = f32x4.add(acc, f32x4.mul(f32x4.splat(load<f32>(dO + (<usize>k << 2))), v128.load(valuesT + (<usize>(k * tPad + j) << 2))));
          v128.store(dScores + (<usize>j << 2), acc);
          dot = f32x4.add(dot, f32x4.mul(acc, v128.load(row + (<usize>j << 2))));
        }
        const rowDot = f32x4.splat(hsum(dot));
        for (let j = 0; j < n4; j += 4) {
          const dP = v128.load(dScores + (<usize>j << 2));
          v128.store(dScores + (<usize>j << 2), f32x4.mul(f32x4.mul(v128.load(row + (<usize>j << 2)), f32x4.sub(dP, rowDot)), f32x4.splat(scale)));
        }
        // dQ_i = Σ_j dS_j k_j;  dK_j += dS_j q_i;  dV_j += p_j dO_i
        const dQ = dQkv + (<usize>((i * batch + b) * stride + h * d) << 2);
        for (let k = 0; k < d; k += 4) {
          const qk = v128.load(q + (<usize>k << 2));
          const dOk = v128.load(dO + (<usize>k << 2));
          let acc = f32x4.splat(0);
          for (let j = 0; j < n; j++) {
            const s = f32x4.splat(load<f32>(dScores + (<usize>j << 2)));
            const at = <usize>(j * d + k) << 2;
            acc = f32x4.add(acc, f32x4.mul(s, v128.load(keys + at)));
            v128.store(dKeys + at, f32x4.add(v128.load(dKeys + at), f32x4.mul(s, qk)));
            v128.store(dValues + at, f32x4.add(v128.load(dValues + at), f32x4.mul(f32x4.splat(load<f32>(row + (<usize>j << 2))), dOk)));
          }
          v128.store(dQ + (<usize>k << 2), acc);
        }
      }
      for (let j = 0; j < t; j++) {
        const dst = dQkv + (<usize>((j * batch + b) * stride + h * d) << 2);
        memory.copy(dst + (<usize>width << 2), dKeys + (<usize>(j * d) << 2), <usize>d << 2);
        memory.copy(dst + (<usize>(2 * width) << 2), dValues + (<usize>(j * d) << 2), <usize>d << 2);
      }
    }
  }
}
