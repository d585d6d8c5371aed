// client.js: the live explorer's sampler, page side (diffusion2d.plotting.explorer). It runs the
// live code (live_net.js + live_sample.js) in a Web Worker (worker.js) made from a Blob of the
// page's own scripts, so no request leaves the page and the page stays responsive while a run is
// sampled: the plot keeps showing the last run until the new one arrives, and a newer request
// supersedes a running one (the busy worker is replaced). The learned field of the run on show is
// computed once per frame: the frame the page asks for at once, on the page, and every other frame
// in the worker, in the order Play shows them, so that Play only looks them up. Without a Worker
// the same jobs run on the page, after the browser has painted the status line.
(function (root) {
"use strict";
const FIELDS_KEPT = 4;  // the learned fields of this many recent runs stay cached

// The learned field depends on the run's steps, sampler, eta, shape and scale, not on n or seed
const fieldKey = r => JSON.stringify([r.sampler, r.K, r.eta, r.y, r.guidanceScale]);

// ids: the ids of the <script> elements holding the model's JSON, the live code and worker.js;
// grid: the learned field's points, flat (G, 2); spacing: the grid's spacing; changed: called
// when a run arrives (or fails).
function client(ids, grid, spacing, changed) {
  const text = id => document.getElementById(id).textContent;
  const json = text(ids.model), source = `${text(ids.live)}\n${text(ids.worker)}`;
  const L = root.diffusion2dLive, model = L.load(JSON.parse(json));
  const fields = new Map();  // fieldKey -> Map(frame k -> arrows (2G))
  let worker = null, url = null, inline = !root.Worker, job = null, queue = [], next = 0;
  const out = {model, fields, run: null, want: null, error: null, note: null};

  function receive(msg) {
    if (!job || msg.id !== job.id) return;  // a superseded job's last words
    if (msg.kind === "run") {
      msg.run.key = job.key;
      if (job.key === out.want) { out.run = msg.run; changed(); }
    } else if (msg.kind === "field") {
      frames(job.fk).set(msg.k, msg.arrows);
    } else {
      if (msg.error && job.kind === "run") { out.error = msg.error; changed(); }
      job = null;
      if (queue.length) send(queue.shift());
    }
  }
  function onPage() {  // the worker's code on the page: each job after the next paint
    let dead = false;
    const later = f => { let done = false; const once = () => { if (!done) { done = true; f(); } };
                         requestAnimationFrame(() => setTimeout(once, 0)); setTimeout(once, 250); };
    return {postMessage: msg => later(() => dead || root.diffusion2dServe(msg, receive)),
            terminate: () => { dead = true; }};
  }
  function start() {  // a fresh worker, the model loaded
    if (worker) worker.terminate();
    worker = null;
    if (!inline) {
      try {
        url = url || URL.createObjectURL(new Blob([source], {type: "text/javascript"}));
        worker = new Worker(url);
        worker.onmessage = e => receive(e.data);
        worker.onerror = e => {  // the page forbids it: the page samples itself
          e.preventDefault();
          inline = true;
          const again = job;
          start();
          if (again) send(again);
        };
      } catch (err) {
        inline = true;
      }
    }
    if (!worker) worker = onPage();
    worker.postMessage({model: json});
  }
  function send(j) {
    if (!worker) start();
    job = j;
    worker.postMessage(j.msg);
  }
  function frames(fk) {
    if (!fields.has(fk)) {
      fields.set(fk, new Map());
      if (fields.size > FIELDS_KEPT) fields.delete(fields.keys().next().value);
    }
    return fields.get(fk);
  }

  // Ask for the run of opts (live_sample.js's sample options): nothing if it is on show or coming;
  // otherwise it supersedes whatever the worker does. out.run stays the run on show meanwhile.
  out.request = opts => {
    const key = JSON.stringify(opts);
    if (key === out.want) return;
    out.want = key;
    out.error = out.note = null;
    queue = [];
    if (job) start();  // busy with an older request: replaced
    job = null;
    if (!out.run || out.run.key !== key) {
      send({id: ++next, kind: "run", key, msg: {id: next, kind: "run", opts}});
    }
  };
  out.pending = () => !!out.run && out.run.key !== out.want && !out.error;
  out.busy = () => !!job || queue.length > 0;  // the worker has work
  // The learned field of frame k of run r (2G numbers): computed here if the worker has not
  // sent it yet, and the worker then computes the run's other frames
  out.field = (r, k) => {
    const fk = fieldKey(r), have = frames(fk);
    if (!have.has(k)) {
      have.set(k, L.scaledArrows(L.drift(model, r, k, grid), spacing));
      const ks = [], busy = job && job.fk === fk;
      for (let j = 1; j < r.K; j++) if (!have.has((k + j) % r.K)) ks.push((k + j) % r.K);
      if (!inline && !busy && ks.length && !queue.some(q => q.fk === fk)) {
        const rr = {steps: Array.from(r.steps), K: r.K, sampler: r.sampler, eta: r.eta, y: r.y,
                    guidanceScale: r.guidanceScale};
        const j = {id: ++next, kind: "field", fk, msg: {id: next, kind: "field", r: rr, ks, grid,
                                                         spacing}};
        if (job && job.kind === "run") queue.push(j);
        else { if (job) start(); send(j); }
      }
    }
    return have.get(k);
  };
  return out;
}

// What Bokeh's widgets lack for assistive technology and the keyboard, set on each draw (Bokeh
// may draw a widget anew): a name on each slider's handle and spin button, t as the time
// slider's value text, the sampler toggle as a group with its pressed button, a disabled
// slider out of the Tab order; Home and End on the right-to-left time slider go to the left
// end (t = T) and the right end (t = 0), as the arrow keys move it by what they show.
function label(widgets, t) {
  for (const w of Object.values(widgets)) {
    const v = Bokeh.index.find_one(w), el = v && (v.shadow_el || v.el);
    if (!el) continue;
    const handle = el.querySelector("[role=slider]"), name = w.title || "sampler";
    if (handle) {
      handle.setAttribute("aria-label", name.replace(/ t$/, ""));
      handle.setAttribute("tabindex", w.disabled ? "-1" : "0");
      handle.setAttribute("aria-disabled", `${!!w.disabled}`);
    }
    if (w === widgets.time && handle) handle.setAttribute("aria-valuetext", `t = ${t}`);
    if (w === widgets.time && !el.explorerKeys) {
      el.explorerKeys = true;
      el.addEventListener("keydown", e => {
        if (e.key !== "Home" && e.key !== "End") return;
        e.preventDefault();
        e.stopPropagation();  // before noUiSlider's own Home (the minimum: t = 0, at the right)
        w.value = e.key === "Home" ? w.end : w.start;
      }, true);
    }
    el.querySelectorAll(".bk-spin-btn")
      .forEach((b, i) => b.setAttribute("aria-label", `${name} ${i ? "down" : "up"}`));
    if (w === widgets.sampler) {
      el.firstElementChild.setAttribute("role", "group");
      el.firstElementChild.setAttribute("aria-label", name);
      el.querySelectorAll("button")
        .forEach((b, i) => b.setAttribute("aria-pressed", i === w.active));
    }
  }
}

root.diffusion2dExplorer = {client, fieldKey, label};
})(typeof window !== "undefined" ? window : globalThis);
