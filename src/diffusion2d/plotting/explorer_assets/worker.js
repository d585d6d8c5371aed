// worker.js: the live explorer's sampler off the page's main thread (plotting/explorer.py).
// client.js starts a Web Worker from a Blob of the page's own live code (live_net.js +
// live_sample.js) and this file (nothing is fetched), sends the exported model once, then one
// job at a time:
//   {id, kind: "run", opts}  a run of diffusion2dLive.sample (samplers.sample), answered by
//                            {id, kind: "run", run} (run.ms: the sampling time);
//   {id, kind: "field", r, ks, grid, spacing}  the learned field (trajectories.learned_drift,
//                            rescaled as points.scaled_arrows) of the frames ks of run r at the
//                            grid points (G, 2), answered frame by frame: {id, kind: "field", k,
//                            arrows} (2G numbers);
// then {id, done: true}, or {id, error} with the message of live code's Error. Without a worker
// (no Worker, or a page that forbids one) client.js calls serve() on the page itself.
(function (scope) {
"use strict";
let model = null;

function serve(msg, post) {
  const L = scope.diffusion2dLive;
  if (msg.model) {
    model = L.load(JSON.parse(msg.model));
    return;
  }
  const id = msg.id;
  try {
    if (msg.kind === "run") {
      const t0 = performance.now(), run = L.sample(model, msg.opts);
      run.ms = performance.now() - t0;
      post({id, kind: "run", run}, [run.positions.buffer, run.eps.buffer, run.noise.buffer]);
    } else {
      for (const k of msg.ks) {
        const arrows = L.scaledArrows(L.drift(model, msg.r, k, msg.grid), msg.spacing);
        post({id, kind: "field", k, arrows}, [arrows.buffer]);
      }
    }
    post({id, done: true});
  } catch (err) {
    post({id, error: err.message});
  }
}

if (typeof WorkerGlobalScope !== "undefined" && scope instanceof WorkerGlobalScope) {
  scope.onmessage = e => serve(e.data, (data, transfer) => scope.postMessage(data, transfer || []));
} else {
  scope.diffusion2dServe = serve;
}
})(typeof window !== "undefined" ? window : globalThis);
