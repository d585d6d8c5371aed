// live.js: the book's class-conditional eps_theta and its samplers, in the reader's browser.
// Pure functions, no DOM, no library. Each part names the Python it mirrors in diffusion2d:
// model.py (DenoisingMLP), guidance.py (guided_eps), samplers.py (timesteps, ddpm_step,
// ddim_step, _ode_loop), plotting/points.py (scaled_arrows). The model is the data of
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

// samplers.timesteps: the 0-based steps, descending, exactly as Python picks them (exported)
function timesteps(m, numSteps = m.T) {
  need(Number.isInteger(numSteps) && numSteps >= 1 && numSteps <= m.T, "numSteps",
       `in [1, T=${m.T}]`, numSteps);
  return Int32Array.from(m.steps[numSteps - 1]);
}

// A seeded generator per particle: xoshiro128** seeded by splitmix32, standard normal pairs by
// Box-Muller. Particle i's draws depend on the seed and i only, not on how many particles run.
function streams(seed, n) {
  const s = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) {
    let z = (seed ^ Math.imul(i + 1, 0x9e3779b9)) >>> 0;
    for (let k = 0; k < 4; k++) {  // splitmix32
      z = (z + 0x9e3779b9) >>> 0;
      let r = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      r = Math.imul(r ^ (r >>> 13), 0xc2b2ae35);
      s[4 * i + k] = (r ^ (r >>> 16)) >>> 0;
    }
  }
  return s;
}
function nextU32(s, o) {  // xoshiro128**
  const r = Math.imul(((Math.imul(s[o + 1], 5) << 7) | (Math.imul(s[o + 1], 5) >>> 25)), 9) >>> 0;
  const t = s[o + 1] << 9;
  s[o + 2] ^= s[o]; s[o + 3] ^= s[o + 1]; s[o + 1] ^= s[o + 2]; s[o] ^= s[o + 3];
  s[o + 2] ^= t; s[o + 3] = (s[o + 3] << 11) | (s[o + 3] >>> 21);
  return r;
}
function normalPairs(s, n, out) {  // one N(0, I) draw in R^2 per particle
  for (let i = 0; i < n; i++) {
    const u1 = (nextU32(s, 4 * i) + 1) / 4294967296, u2 = nextU32(s, 4 * i) / 4294967296;
    const r = Math.sqrt(-2 * Math.log(u1));
    out[2 * i] = r * Math.cos(2 * Math.PI * u2); out[2 * i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
}

const SAMPLERS = ["ddpm", "ddim", "heun"];
const SEED_MAX = 2147483647;  // 2^31 - 1, the seed spinner's bound (plotting.explorer.SEED_MAX)

// Step k of run r (steps, K, sampler, eta, y, guidanceScale) from the n points x into out: the
// guided eps into e; z the step's standard normal draw (null: none), sigma z into add (or null).
// Returns the network evaluations per point.
function step(m, r, k, x, n, z, e, out, add) {
  const t = r.steps[k], tp = k + 1 < r.K ? r.steps[k + 1] : -1, ab = m.alphaBars;
  let evals = guidedInto(m, x, n, t, r.y, r.guidanceScale, e), sigma = 0;
  if (r.sampler === "heun") {  // samplers._ode_loop: y = x / sqrt(abar), dy/dsigma = eps
    const a0 = ab[t], a1 = tp >= 0 ? ab[tp] : 1, r0 = Math.sqrt(a0), r1 = Math.sqrt(a1);
    const ds = Math.sqrt((1 - a1) / a1) - Math.sqrt((1 - a0) / a0);
    for (let j = 0; j < 2 * n; j++) out[j] = (x[j] / r0 + ds * e[j]) * r1;  // Euler (line 5)
    if (tp >= 0) {  // the second-order correction (EDM Alg. 1, lines 7-8), not to sigma = 0
      const e2 = new Float64Array(2 * n);
      evals += guidedInto(m, out, n, tp, r.y, r.guidanceScale, e2);
      for (let j = 0; j < 2 * n; j++) out[j] = (x[j] / r0 + ds * 0.5 * (e[j] + e2[j])) * r1;
    }
  } else if (r.sampler === "ddim") {  // samplers.ddim_step: eq. 12, sigma_t(eta) of eq. 16
    const a = ab[t], ap = tp >= 0 ? ab[tp] : 1, ra = Math.sqrt(a), rb = Math.sqrt(1 - a);
    if (r.eta > 0 && tp >= 0) sigma = r.eta * Math.sqrt((1 - ap) / (1 - a) * (1 - a / ap));
    const dir = Math.sqrt(Math.max(0, 1 - ap - sigma * sigma)), rp = Math.sqrt(ap);
    for (let j = 0; j < 2 * n; j++) out[j] = rp * (x[j] - rb * e[j]) / ra + dir * e[j];
  } else {  // samplers.ddpm_step (eq. 11), on samplers._respaced's schedule for fewer steps
    const a = ab[t], full = r.K === m.T;
    const alpha = full ? m.alphas[t] : f32(a / (tp >= 0 ? ab[tp] : 1));
    const beta = full ? m.betas[t] : f32(1 - alpha), c = beta / Math.sqrt(1 - a);
    const ri = 1 / Math.sqrt(alpha);
    if (tp >= 0) sigma = Math.sqrt(beta);  // z = 0 at the last step (Algorithm 2)
    for (let j = 0; j < 2 * n; j++) out[j] = (x[j] - c * e[j]) * ri;
  }
  for (let j = 0; j < 2 * n; j++) {
    const noise = z && sigma > 0 ? sigma * z[j] : 0;
    out[j] += noise;
    if (add) add[j] = noise;
  }
  return evals;
}

// Whether step k of run r draws a z (samplers._sample_loop: DDPM, and DDIM with eta > 0, but
// not at the last step)
const draws = (r, k) => k + 1 < r.K
  && (r.sampler === "ddpm" || (r.sampler === "ddim" && r.eta > 0));

// samplers.sample, guided toward class y: DDPM (eq. 11, sigma_t^2 = beta_t), DDIM (eq. 12 with
// eta), Heun (EDM Algorithm 1). Options: n, sampler, numSteps, eta, y, guidanceScale, seed; xT
// (2n numbers) to start from given points, z (the draws after x_T, each 2n numbers, in Python's
// order) instead of the seeded ones. The run: steps (K), positions ((K + 1) x 2n: frame k, after
// k steps), eps (K x 2n: the guided eps_theta of step k; Heun: its first evaluation), noise
// (K x 2n: the sigma z added), evaluations (network evaluations per particle).
function sample(m, opts) {
  const o = Object.assign({sampler: "ddpm", numSteps: m.T, eta: 0, guidanceScale: 1, seed: 0},
                          opts);
  need(Number.isInteger(o.n) && o.n >= 1, "n", "a positive integer (particles)", o.n);
  need(SAMPLERS.includes(o.sampler), "sampler", `one of ${SAMPLERS.join(", ")}`, o.sampler);
  need(typeof o.eta === "number" && o.eta >= 0 && Number.isFinite(o.eta), "eta",
       "a finite number >= 0", o.eta);
  need(Number.isInteger(o.seed) && o.seed >= 0 && o.seed <= SEED_MAX, "seed",
       `an integer in [0, ${SEED_MAX}]`, o.seed);
  const n = o.n, N2 = 2 * n, steps = timesteps(m, o.numSteps), K = steps.length;
  const r = {n, sampler: o.sampler, numSteps: o.numSteps, eta: o.eta, y: labelIndex(m, o.y),
             guidanceScale: checkScale(o.guidanceScale), seed: o.seed, steps, K};
  let D = 0;  // the draws after x_T
  for (let k = 0; k < K; k++) D += draws(r, k);
  if (o.z) need(o.z.length === D * N2, "z", `${D} draws of ${N2} numbers`, o.z.length);
  if (o.xT) need(o.xT.length === N2, "xT", `${N2} numbers (n points)`, o.xT.length);
  const rng = streams(o.seed, n), z = new Float64Array(N2), e = new Float64Array(N2);
  r.positions = new Float64Array((K + 1) * N2);
  r.eps = new Float64Array(K * N2);
  r.noise = new Float64Array(K * N2);
  if (o.xT) r.positions.set(o.xT); else normalPairs(rng, n, r.positions);
  let evals = 0, drawn = 0;
  for (let k = 0; k < K; k++) {
    const x = r.positions.subarray(k * N2, (k + 1) * N2);
    const out = r.positions.subarray((k + 1) * N2, (k + 2) * N2);
    if (draws(r, k)) {
      if (o.z) for (let j = 0; j < N2; j++) z[j] = o.z[drawn * N2 + j];
      else normalPairs(rng, n, z);
      drawn++;
    }
    evals += step(m, r, k, x, n, draws(r, k) ? z : null, e, out,
                  r.noise.subarray(k * N2, (k + 1) * N2));
    r.eps.set(e, k * N2);
  }
  r.evaluations = evals;
  return r;
}

// The learned field of step k of run r at the points x (trajectories.learned_drift): the step's
// deterministic move, without its noise, minus x
function drift(m, r, k, x) {
  const n = checkPoints(x);
  need(Number.isInteger(k) && k >= 0 && k < r.K, "k", `a step of the run in [0, ${r.K - 1}]`, k);
  const out = new Float64Array(2 * n);
  step(m, r, k, x, n, null, new Float64Array(2 * n), out, null);
  for (let j = 0; j < 2 * n; j++) out[j] -= x[j];
  return out;
}

// points.scaled_arrows: vectors rescaled so that their median length is typical * spacing,
// each clipped at longest * spacing (direction kept)
function scaledArrows(vec, spacing, typical = 0.7, longest = 1.2) {
  const n = checkPoints(vec, "vectors"), norms = new Float64Array(n), out = new Float64Array(2 * n);
  for (let i = 0; i < n; i++) norms[i] = Math.hypot(vec[2 * i], vec[2 * i + 1]);
  const sorted = Float64Array.from(norms).sort(), mid = n >> 1;
  const ref = n % 2 ? sorted[mid] : 0.5 * (sorted[mid - 1] + sorted[mid]);
  const factor = ref > 0 ? typical * spacing / ref : 1;
  for (let i = 0; i < n; i++) {
    const clip = Math.min(1, longest * spacing / Math.max(norms[i] * factor, 1e-300));
    out[2 * i] = vec[2 * i] * factor * clip; out[2 * i + 1] = vec[2 * i + 1] * factor * clip;
  }
  return out;
}

root.diffusion2dLive = {load, forward, guidedEps, timesteps, labelIndex, sample, drift,
                        scaledArrows, erf, SAMPLERS, SEED_MAX};
})(typeof window !== "undefined" ? window : globalThis);
