// live_net.js: the book's class-conditional eps_theta, in the reader's browser (first half of
// the explorer's live code; live_sample.js, its samplers, follows it in the same script).
// Pure functions, no DOM, no library. Each part names the Python it mirrors in diffusion2d:
// model.py (DenoisingMLP), guidance.py (guided_eps). The model is the data of
// plotting/live.py's export_model. Steps are 0-based (t = 0 .. T-1). Points are flat arrays
// (N, 2): x[2i], x[2i + 1]. Bad input throws an Error whose message starts with the argument.
(function (root) {
"use strict";
const f32 = Math.fround;

// an Error naming the argument, e.g. "y must be a class index in [0, 12] ..., got 13"
function fail(name, what, got) {
  throw new Error(`${name} must be ${what}, got ${typeof got === "string" ? `"${got}"` : got}`);
}
function need(ok, name, what, got) {
  if (!ok) fail(name, what, got);
}

function floats(b64) {  // little-endian float32 from base64
  const raw = atob(b64), bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new Float32Array(bytes.buffer);
}

// erf in double precision (GELU is the exact erf form, nn.GELU()): Taylor series near 0,
// Laplace's continued fraction for erfc beyond.
function erf(x) {
  const a = Math.abs(x);
  if (a < 2.5) {
    let term = a, sum = a;
    for (let n = 1; n < 80 && Math.abs(term) > 1e-17 * sum; n++) {
      term *= -a * a / n;
      sum += term / (2 * n + 1);
    }
    return Math.sign(x) * sum * 2 / Math.sqrt(Math.PI);
  }
  let f = a;
  for (let k = 120; k >= 1; k--) f = a + (k / 2) / f;
  return Math.sign(x) * (1 - Math.exp(-a * a) / Math.sqrt(Math.PI) / f);
}

// GELU(x) = x Phi(x) as a cubic Hermite table on [-GMAX, GMAX] (error < 1e-8, no exp per call);
// beyond it x Phi(x) is x or 0 to within 1e-15.
const GMAX = 8, GSTEP = 1 / 32, GELU = new Float64Array(2 * (2 * GMAX / GSTEP + 1));
for (let i = 0; i < GELU.length / 2; i++) {
  const x = -GMAX + i * GSTEP, phi = 0.5 * (1 + erf(x / Math.SQRT2));
  GELU[2 * i] = x * phi;
  GELU[2 * i + 1] = GSTEP * (phi + x * Math.exp(-0.5 * x * x) / Math.sqrt(2 * Math.PI));
}
function gelu(v, n) {  // in place
  for (let k = 0; k < n; k++) {
    const x = v[k];
    if (x >= GMAX) continue;
    if (x <= -GMAX) { v[k] = 0; continue; }
    const u = (x + GMAX) / GSTEP, i = Math.min(u | 0, GELU.length / 2 - 2), s = u - i, j = 2 * i;
    const s2 = s * s, s3 = s2 * s;
    v[k] = (2 * s3 - 3 * s2 + 1) * GELU[j] + (s3 - 2 * s2 + s) * GELU[j + 1]
         + (3 * s2 - 2 * s3) * GELU[j + 2] + (s3 - s2) * GELU[j + 3];
  }
}

// Particles go through the network four at a time (B = 4): a batch of activations is
// (features, B), feature-major, so that each weight loaded serves four particles.
const B = 4;

// nn.LayerNorm(H) (eps 1e-5, biased variance) of each column of a (n, B) into b
const mean = new Float64Array(B), rstd = new Float64Array(B);
function layerNorm(a, g, beta, b, n) {
  mean.fill(0); rstd.fill(0);
  for (let q = 0; q < n * B; q += B) for (let c = 0; c < B; c++) mean[c] += a[q + c];
  for (let c = 0; c < B; c++) mean[c] /= n;
  for (let q = 0; q < n * B; q += B) {
    for (let c = 0; c < B; c++) { const d = a[q + c] - mean[c]; rstd[c] += d * d; }
  }
  for (let c = 0; c < B; c++) rstd[c] = 1 / Math.sqrt(rstd[c] / n + 1e-5);
  for (let k = 0, q = 0; k < n; k++, q += B) {
    for (let c = 0; c < B; c++) b[q + c] = (a[q + c] - mean[c]) * rstd[c] * g[k] + beta[k];
  }
}

// out = W v + b (nn.Linear) for the B columns of v (nIn, B): W (nOut, nIn) row-major, nOut
// even; two rows at a time, eight running sums
function affine(W, b, v, out, nIn, nOut) {
  for (let j = 0, r = 0; j < nOut; j += 2, r += 2 * nIn) {
    let s0 = b[j], s1 = s0, s2 = s0, s3 = s0, t0 = b[j + 1], t1 = t0, t2 = t0, t3 = t0;
    for (let k = 0, q = 0; k < nIn; k++, q += B) {
      const w = W[r + k], w2 = W[r + nIn + k];
      const v0 = v[q], v1 = v[q + 1], v2 = v[q + 2], v3 = v[q + 3];
      s0 += w * v0; s1 += w * v1; s2 += w * v2; s3 += w * v3;
      t0 += w2 * v0; t1 += w2 * v1; t2 += w2 * v2; t3 += w2 * v3;
    }
    const o = j * B;
    out[o] = s0; out[o + 1] = s1; out[o + 2] = s2; out[o + 3] = s3;
    out[o + 4] = t0; out[o + 5] = t1; out[o + 6] = t2; out[o + 7] = t3;
  }
}

// The exported DenoisingMLP (live.export_model) unpacked: float64 weights, the input layer split
// into its position and time columns, scratch space, cached step constants.
function load(data) {
  need(data && data.format === "diffusion2d-live/1", "data", "the output of export_model",
       data && data.format);
  const flat = floats(data.float32), t = {};
  let at = 0;
  for (const [name, shape] of data.tensors) {
    const size = shape.reduce((a, b) => a * b, 1);
    t[name] = Float64Array.from(flat.subarray(at, at + size));
    at += size;
  }
  const H = data.hidden, F = t["pos.freqs"].length, P = 2 + 4 * F;
  const D = 2 * t["time.freqs"].length, IN = P + D, W = t["inp.weight"];
  const Wpos = new Float64Array(H * P), Wtime = new Float64Array(H * D);
  for (let j = 0; j < H; j++) {
    for (let k = 0; k < P; k++) Wpos[j * P + k] = W[j * IN + k];
    for (let k = 0; k < D; k++) Wtime[j * D + k] = W[j * IN + P + k];
  }
  const blocks = [];
  for (let b = 0; b < data.num_blocks; b++) {
    const p = `blocks.${b}.`;
    blocks.push({g: t[p + "norm.weight"], beta: t[p + "norm.bias"], W1: t[p + "fc1.weight"],
                 b1: t[p + "fc1.bias"], W2: t[p + "fc2.weight"], b2: t[p + "fc2.bias"]});
  }
  const scratch = k => new Float64Array(k * B);
  return {T: data.T, H, C: data.num_classes, classes: data.classes.slice(), steps: data.timesteps,
    betas: t.betas, alphas: t.alphas, alphaBars: t.alpha_bars, posFreqs: t["pos.freqs"],
    timeFreqs: t["time.freqs"], F, P, Wpos, Wtime, bIn: t["inp.bias"], label: t["label.weight"],
    blocks, outG: t["out.0.weight"], outB: t["out.0.bias"], Wout: t["out.2.weight"],
    bOut: t["out.2.bias"], consts: new Map(), zeros: new Float64Array(H), feat: scratch(P),
    pos: scratch(H), h: scratch(H),
    u: scratch(H), v: scratch(H), o: scratch(2),
    points: data.points ? Float64Array.from(floats(data.points)) : new Float64Array(0)};
}

function checkStep(m, t, name = "t") {
  need(Number.isInteger(t) && t >= 0 && t < m.T, name,
       `0-based steps in [0, ${m.T - 1}] (T=${m.T})`, t);
  return t;
}

// The class index of y (guidance.labels): a shape name or an index in [0, C-1]; with nullOk,
// also null (or C), the null label
function labelIndex(m, y, nullOk = false) {
  if (typeof y === "string") {
    const i = m.classes.indexOf(y);
    if (i < 0) fail("y", `a class index or a shape name, one of ${m.classes.join(", ")}`, y);
    return i;
  }
  if (y === null || y === undefined) {
    if (nullOk) return m.C;
    fail("y", "a class (an index or a shape name) to guide toward", y);
  }
  const top = nullOk ? m.C : m.C - 1;
  need(Number.isInteger(y) && y >= 0 && y <= top, "y",
       `a class index in [0, ${top}] (num_classes=${m.C})`, y);
  return y;
}

// What the input layer adds for step t and label y, the same for every particle (model.embed):
// bias + W_time TimeEmbedding(t) + the label's embedding. Angles in float32, as torch has them.
function stepConst(m, t, y) {
  const key = t * (m.C + 1) + y;
  let c = m.consts.get(key);
  if (c) return c;
  const half = m.timeFreqs.length, D = 2 * half, emb = new Float64Array(D);
  for (let k = 0; k < half; k++) {
    const a = f32(t * m.timeFreqs[k]);
    emb[k] = Math.sin(a); emb[half + k] = Math.cos(a);
  }
  c = new Float64Array(m.H);
  for (let j = 0; j < m.H; j++) {
    let sum = m.bIn[j] + m.label[y * m.H + j];
    for (let k = 0; k < D; k++) sum += m.Wtime[j * D + k] * emb[k];
    c[j] = sum;
  }
  m.consts.set(key, c);
  return c;
}

// The position part of the input layer, W_pos FourierFeatures(x) (model.FourierFeatures:
// [x, sin(2 pi f x), cos(2 pi f x)], angles in float32 as torch computes them), of the points
// i0 .. i0 + 3 of x (the last one repeated past n) into m.pos
function positionPart(m, x, i0, n) {
  const F = m.F, fr = m.posFreqs, feat = m.feat;
  for (let c = 0; c < B; c++) {
    const i = Math.min(i0 + c, n - 1), x0 = f32(x[2 * i]), x1 = f32(x[2 * i + 1]);
    feat[c] = x0; feat[B + c] = x1;
    for (let k = 0; k < F; k++) {
      const a = f32(x0 * fr[k]), b = f32(x1 * fr[k]);
      feat[(2 + k) * B + c] = Math.sin(a); feat[(2 + F + k) * B + c] = Math.sin(b);
      feat[(2 + 2 * F + k) * B + c] = Math.cos(a); feat[(2 + 3 * F + k) * B + c] = Math.cos(b);
    }
  }
  affine(m.Wpos, m.zeros, feat, m.pos, m.P, m.H);
}

// eps_theta of the B columns from the first hidden layer m.pos + cs[column] (DenoisingMLP.native:
// residual blocks h + fc2(GELU(fc1(LayerNorm(h)))), then LayerNorm, GELU, Linear), into m.o (2, B)
function trunk(m, cs) {
  const H = m.H, h = m.h, u = m.u, v = m.v;
  for (let j = 0; j < H; j++) {
    for (let c = 0; c < B; c++) h[j * B + c] = m.pos[j * B + c] + cs[c][j];
  }
  for (const L of m.blocks) {
    layerNorm(h, L.g, L.beta, u, H);
    affine(L.W1, L.b1, u, v, H, H);
    gelu(v, H * B);
    affine(L.W2, L.b2, v, u, H, H);
    for (let j = 0; j < H * B; j++) h[j] += u[j];
  }
  layerNorm(h, m.outG, m.outB, u, H);
  gelu(u, H * B);
  affine(m.Wout, m.bOut, u, m.o, H, 2);
}

function checkPoints(x, name = "x") {
  need(x && typeof x.length === "number" && x.length % 2 === 0, name,
       "a flat array of (N, 2) points", x && x.length);
  return x.length / 2;
}

// model(x, t, y): eps_theta (N, 2); t a step or N steps, y a label, N labels, or null (the null
// label: unconditional)
function forward(m, x, t, y = null) {
  const n = checkPoints(x), out = new Float64Array(2 * n);
  const ts = Array.from({length: n}, (_, i) => checkStep(m, typeof t === "number" ? t : t[i]));
  const yi = i => (y !== null && typeof y === "object" ? y[i] : y);
  const ys = Array.from({length: n}, (_, i) => labelIndex(m, yi(i), true));
  for (let i0 = 0; i0 < n; i0 += B) {
    const rows = Array.from({length: B}, (_, c) => Math.min(i0 + c, n - 1));
    positionPart(m, x, i0, n);
    trunk(m, rows.map(i => stepConst(m, ts[i], ys[i])));
    for (let c = 0; c < B && i0 + c < n; c++) {
      out[2 * (i0 + c)] = m.o[c]; out[2 * (i0 + c) + 1] = m.o[B + c];
    }
  }
  return out;
}

function checkScale(w) {
  need(typeof w === "number" && Number.isFinite(w) && w >= 0, "guidanceScale",
       "a finite number >= 0", w);
  return w;
}

// guidance.guided_eps (Ho & Salimans eq. 6, guidanceScale = 1 + w of the paper):
// eps_u + s (eps_c - eps_u) of n points at one step t, into out; exactly eps_u at s = 0 and
// eps_c at s = 1 (one evaluation). The input layer's position part serves both.
function guidedInto(m, x, n, t, y, s, out) {
  const cu = Array(B).fill(stepConst(m, t, m.C)), cc = Array(B).fill(stepConst(m, t, y));
  const o = m.o, u = new Float64Array(2 * B);
  for (let i0 = 0; i0 < n; i0 += B) {
    positionPart(m, x, i0, n);
    if (s !== 1) { trunk(m, cu); u.set(o); }
    if (s !== 0) trunk(m, cc);
    for (let c = 0; c < B && i0 + c < n; c++) {
      const i = i0 + c;
      if (s === 0) { out[2 * i] = u[c]; out[2 * i + 1] = u[B + c]; }
      else if (s === 1) { out[2 * i] = o[c]; out[2 * i + 1] = o[B + c]; }
      else {
        out[2 * i] = u[c] + s * (o[c] - u[c]);
        out[2 * i + 1] = u[B + c] + s * (o[B + c] - u[B + c]);
      }
    }
  }
  return s === 0 || s === 1 ? 1 : 2;  // network evaluations per point
}

function guidedEps(m, x, t, y, guidanceScale = 1) {
  const n = checkPoints(x), out = new Float64Array(2 * n);
  guidedInto(m, x, n, checkStep(m, t), labelIndex(m, y), checkScale(guidanceScale), out);
  return out;
}

// the public API (live_sample.js adds the samplers); _net: what live_sample.js also uses
root.diffusion2dLive = {load, forward, guidedEps, labelIndex, erf,
                        _net: {need, checkPoints, checkScale, guidedInto}};
})(typeof window !== "undefined" ? window : globalThis);
