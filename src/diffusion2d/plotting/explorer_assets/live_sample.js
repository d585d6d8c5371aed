// live_sample.js: the explorer's samplers, after live_net.js in the same script (its network).
// Pure functions, no DOM, no library. Each part names the Python it mirrors in diffusion2d:
// samplers.py (timesteps, ddpm_step, ddim_step, _ode_loop), trajectories.py (learned_drift),
// plotting/points.py (scaled_arrows). Steps are 0-based; points are flat arrays (N, 2).
(function (root) {
"use strict";
const L = root.diffusion2dLive, {need, checkPoints, checkScale, guidedInto} = L._net;
const f32 = Math.fround, labelIndex = L.labelIndex;

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

Object.assign(L, {timesteps, sample, drift, scaledArrows, SAMPLERS, SEED_MAX});
})(typeof window !== "undefined" ? window : globalThis);
