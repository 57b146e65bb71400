// chainrule playground: draws what the server computes. Training, gradients, explanations and
// the step-through all come from the chainrule engine on the server; this file only draws them.
"use strict";

(function () {
  const POS = [8, 119, 189];   // blue: positive / class 1
  const NEG = [245, 147, 34];  // orange: negative / class 0
  const CLASS_COLOURS = [NEG, POS, [46, 160, 67], [207, 34, 46], [130, 80, 223],
    [191, 135, 0], [27, 124, 131], [100, 100, 100]];

  const $ = (id) => document.getElementById(id);
  const state = { frame: null, data: null, limits: null, showGrads: false, edges: [], nodes: [],
    selected: null, trace: null, phase: 0, phases: [], playing: false, version: -1 };

  // ---- talking to the server ------------------------------------------------------------
  async function api(path, body) {
    const init = body === undefined ? {} : {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    };
    const r = await fetch(path, init);
    const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
    if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
    return data;
  }

  function showError(message) {
    const box = $("error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  async function run(action) {
    try {
      showError("");
      return await action();
    } catch (err) {
      showError(err.message);
      return null;
    }
  }

  let socket = null;
  function connect() {
    socket = new WebSocket(`${location.protocol === "https:" ? "wss" : "ws"}://${location.host}/ws`);
    socket.onmessage = (event) => receive(JSON.parse(event.data));
    socket.onclose = () => setTimeout(connect, 1000);
  }
  // Without a WebSocket (a proxy that drops it, a server without a WebSocket library), poll.
  setInterval(() => {
    if (state.playing && (!socket || socket.readyState !== WebSocket.OPEN)) {
      api("/api/state").then(receive).catch(() => {});
    }
  }, 400);

  function receive(frame) {
    if (frame.type !== "frame") return;
    if (frame.data) {
      if (frame.data_version !== state.version) closeTrace();  // a new run, another network
      state.data = frame.data;
      state.version = frame.data_version;
    } else if (frame.data_version !== state.version) {
      run(async () => receive(await api("/api/state")));
      return;
    }
    state.frame = frame;
    if (frame.playing !== undefined) setPlaying(frame.playing);
    if (frame.error) showError(frame.error);
    render();
  }

  // ---- colours ----------------------------------------------------------------------------
  function mix(a, b, t) {
    return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
  }
  function diverging(v) {  // v in [-1, 1] → orange … white … blue
    const t = Math.max(-1, Math.min(1, v || 0));
    return t >= 0 ? mix([255, 255, 255], POS, t) : mix([255, 255, 255], NEG, -t);
  }
  const rgb = (c, a) => (a === undefined ? `rgb(${c})` : `rgba(${c},${a})`);

  // ---- canvases -----------------------------------------------------------------------------
  function setup(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * ratio)) {
      canvas.width = Math.round(w * ratio);
      canvas.height = Math.round(h * ratio);
    }
    const ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    ctx.clearRect(0, 0, w, h);
    return { ctx, w, h };
  }

  function heatImage(ctx, values, size, colour, x, y, w, h) {
    const image = ctx.createImageData(size, size);
    for (let i = 0; i < size * size; i++) {
      const c = colour(i, values[i]);
      image.data.set([c[0], c[1], c[2], 255], i * 4);
    }
    const off = document.createElement("canvas");
    off.width = off.height = size;
    off.getContext("2d").putImageData(image, 0, 0);
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(off, x, y, w, h);
  }

  // ---- decision boundary ----------------------------------------------------------------
  function toPixel(ext, w, h, px, py) {
    return [(px - ext[0]) / (ext[1] - ext[0]) * w, (ext[3] - py) / (ext[3] - ext[2]) * h];
  }

  function drawBoundary() {
    const { ctx, w, h } = setup($("boundary"));
    const b = state.frame.boundary;
    if (b.classes === 2 && !b.label) {
      heatImage(ctx, b.p, b.size, (i, p) => diverging(p === null ? 0 : 2 * p - 1), 0, 0, w, h);
    } else {
      heatImage(ctx, b.p, b.size, (i, p) => {
        const c = CLASS_COLOURS[b.label[i] % CLASS_COLOURS.length];
        const t = (p - 1 / b.classes) / (1 - 1 / b.classes);
        return mix([255, 255, 255], c, 0.15 + 0.75 * Math.max(0, t));
      }, 0, 0, w, h);
    }
    if (!state.data) return;
    const ext = b.extent;
    for (const [part, hollow] of [["val", true], ["train", false]]) {
      const pts = state.data[part];
      pts.X.forEach((p, i) => {
        const [x, y] = toPixel(ext, w, h, p[0], p[1]);
        const c = CLASS_COLOURS[pts.y[i] % CLASS_COLOURS.length];
        ctx.beginPath();
        ctx.arc(x, y, 3.2, 0, 2 * Math.PI);
        const dark = mix(c, [0, 0, 0], 0.25);
        ctx.lineWidth = hollow ? 1.8 : 1;
        ctx.strokeStyle = hollow ? rgb(dark) : "#fff";
        ctx.fillStyle = rgb(dark);
        if (!hollow) ctx.fill();
        ctx.stroke();
      });
    }
    const s = Number($("sample").value);
    const chosen = state.data.train.X[s];
    if (chosen) {
      const [x, y] = toPixel(ext, w, h, chosen[0], chosen[1]);
      ctx.beginPath();
      ctx.arc(x, y, 7, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#1f2328";
      ctx.stroke();
    }
  }

  // ---- loss curves --------------------------------------------------------------------------
  function drawCurves() {
    const { ctx, w, h } = setup($("curves"));
    const hist = state.frame.history;
    const series = [[hist.loss, "#1f2328"], [hist.val_loss, rgb(NEG)]];
    const all = series.flatMap(([s]) => s).filter((v) => v !== null && isFinite(v));
    if (!all.length) return;
    const top = Math.max(...all) * 1.05 || 1;
    const n = hist.epoch.length;
    const left = 34, bottom = h - 16;
    ctx.fillStyle = "#57606a";
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillText(top.toPrecision(2), 2, 12);
    ctx.fillText("0", 2, bottom);
    ctx.fillText(`epoch ${hist.epoch[n - 1]}`, w - 62, h - 3);
    ctx.strokeStyle = "#d0d7de";
    ctx.beginPath();
    ctx.moveTo(left, 4);
    ctx.lineTo(left, bottom);
    ctx.lineTo(w - 4, bottom);
    ctx.stroke();
    const first = hist.epoch[0], last = Math.max(hist.epoch[n - 1], first + 1);
    for (const [values, colour] of series) {
      ctx.beginPath();
      ctx.strokeStyle = colour;
      ctx.lineWidth = 1.6;
      let started = false;
      values.forEach((v, i) => {
        if (v === null || !isFinite(v)) return;
        const x = left + (hist.epoch[i] - first) / (last - first) * (w - left - 6);
        const y = bottom - v / top * (bottom - 6);
        if (started) ctx.lineTo(x, y); else ctx.moveTo(x, y);
        started = true;
      });
      ctx.stroke();
    }
  }

  // ---- the network --------------------------------------------------------------------------
  function layout(w, h) {
    const sizes = state.frame.network.sizes;
    const box = Math.min(34, (h - 20) / Math.max(...sizes) - 8);
    const gapX = (w - 40 - box) / (sizes.length - 1);
    return sizes.map((n, l) => {
      const gapY = Math.min(box + 12, (h - 20) / n);
      const top = (h - gapY * (n - 1) - box) / 2;
      return Array.from({ length: n }, (_, j) => ({ x: 20 + l * gapX, y: top + j * gapY, s: box }));
    });
  }

  function traceOverlay() {
    if (!state.trace) return null;
    return state.phases[state.phase];
  }

  function drawNetwork() {
    const { ctx, w, h } = setup($("network"));
    const frame = state.frame;
    const pos = layout(w, h);
    const overlay = traceOverlay();
    state.edges = [];
    state.nodes = [];
    // edges: weight (or gradient, or the step-through's update) as colour and width
    frame.network.layers.forEach((layer, l) => {
      let values = state.showGrads ? layer.gW : layer.W;
      if (overlay && overlay.kind === "update") {
        const u = state.trace.update.find((x) => x.name === layer.weight);
        values = u.new.map((row, j) => row.map((v, i) => v - u.old[j][i]));
      }
      const flat = (values || []).flat().filter((v) => v !== null).map(Math.abs);
      const scale = Math.max(1e-12, ...flat);
      for (let j = 0; j < layer.out; j++) {
        for (let i = 0; i < layer.in; i++) {
          const a = pos[l][i], b = pos[l + 1][j];
          const v = values ? values[j][i] : 0;
          const x1 = a.x + a.s, y1 = a.y + a.s / 2, x2 = b.x, y2 = b.y + b.s / 2;
          const t = state.showGrads || (overlay && overlay.kind === "update")
            ? (v || 0) / scale : Math.tanh(v || 0);
          ctx.beginPath();
          ctx.moveTo(x1, y1);
          ctx.bezierCurveTo((x1 + x2) / 2, y1, (x1 + x2) / 2, y2, x2, y2);
          ctx.strokeStyle = rgb(t >= 0 ? POS : NEG, 0.25 + 0.75 * Math.min(1, Math.abs(t)));
          ctx.lineWidth = 0.5 + 4 * Math.min(1, Math.abs(t));
          const sel = state.selected;
          if (sel && sel.param === layer.weight && sel.index[0] === j && sel.index[1] === i) {
            ctx.strokeStyle = "#1f2328";
            ctx.lineWidth = 3;
          }
          ctx.stroke();
          state.edges.push({ param: layer.weight, index: [j, i], x1, y1, x2, y2 });
        }
      }
    });
    // neurons: each one's output over the plane (inputs: the coordinates themselves)
    pos.forEach((column, l) => {
      column.forEach((p, j) => {
        let size, values, range;
        if (l === 0) {
          size = 20;
          values = Array.from({ length: 400 }, (_, k) => (j === 0 ? (k % 20) / 19 * 2 - 1
            : 1 - Math.floor(k / 20) / 19 * 2));
          range = 1;
        } else {
          const n = frame.neurons[l - 1];
          size = n.size;
          values = n.maps[j];
          range = Math.max(Math.abs(n.min[j] || 0), Math.abs(n.max[j] || 0), 1e-9);
        }
        heatImage(ctx, values, size, (k, v) => diverging((v || 0) / range), p.x, p.y, p.s, p.s);
        ctx.strokeStyle = "#57606a";
        ctx.lineWidth = 1;
        ctx.strokeRect(p.x, p.y, p.s, p.s);
        if (l > 0) {
          const layer = frame.network.layers[l - 1];
          state.nodes.push({ param: layer.bias, index: [j], x: p.x, y: p.y, s: p.s });
          const sel = state.selected;
          if (sel && sel.param === layer.bias && sel.index[0] === j) {
            ctx.lineWidth = 3;
            ctx.strokeStyle = "#1f2328";
            ctx.strokeRect(p.x - 2, p.y - 2, p.s + 4, p.s + 4);
          }
        }
        const label = overlayLabel(overlay, l, j);
        if (label !== null) {
          ctx.font = "bold 10px ui-monospace, Menlo, monospace";
          const text = label.toPrecision(3);
          const tw = ctx.measureText(text).width;
          ctx.fillStyle = "rgba(255,255,255,0.9)";
          ctx.fillRect(p.x + p.s / 2 - tw / 2 - 2, p.y + p.s + 1, tw + 4, 12);
          ctx.fillStyle = overlay.kind === "backward" ? "#82071e" : "#0a3069";
          ctx.fillText(text, p.x + p.s / 2 - tw / 2, p.y + p.s + 10);
        }
      });
    });
    ctx.fillStyle = "#57606a";
    ctx.font = "11px system-ui, sans-serif";
    pos.forEach((column, l) => {
      const name = l === 0 ? "input" : (l === pos.length - 1 ? "output" : `hidden ${l}`);
      ctx.fillText(name, column[0].x, 12);
    });
  }

  function overlayLabel(overlay, l, j) {
    if (!overlay) return null;
    const tr = state.trace;
    if (l === 0) return overlay.kind === "backward" ? null : tr.x[j];
    if (overlay.kind === "forward" && l <= overlay.layer) return tr.forward[l - 1].a[j];
    if (overlay.kind === "loss") return tr.forward[l - 1].a[j];
    if (overlay.kind === "backward" && l >= overlay.layer) {
      return tr.backward.find((b) => b.layer === l).delta[j];
    }
    return null;
  }

  // ---- the explanation panel ------------------------------------------------------------
  async function explain(target) {
    state.selected = target;
    render();
    const sample = Number($("sample").value);
    const data = await run(() => api("/api/explain",
      { param: target.param, index: target.index, sample, split: "train" }));
    if (!data) return;
    const box = $("explain");
    box.dataset.param = data.param;
    box.dataset.grad = String(data.grad);
    box.dataset.engineGrad = String(data.engine_grad);
    box.dataset.step = String(data.step);
    box.dataset.sample = String(data.sample);
    box.replaceChildren();
    const table = document.createElement("table");
    table.className = "summary";
    const rows = [["parameter", data.param], ["value now", data.value],
      ["sample", `#${data.sample}: x = (${data.x.join(", ")}), target ${data.target.join(", ")}`],
      ["∂E/∂w (chain rule)", data.grad], ["∂E/∂w (engine .grad)", data.engine_grad],
      ["step", data.step], ["paths summed", data.paths]];
    for (const [k, v] of rows) {
      const tr = table.insertRow();
      tr.insertCell().textContent = k;
      const cell = tr.insertCell();
      cell.textContent = String(v);
      if (typeof v === "number") cell.className = "num";
    }
    box.appendChild(table);
    if (data.chain.length) {
      const chain = document.createElement("div");
      chain.className = "chain";
      const head = document.createElement("p");
      head.textContent = data.paths > data.chain.length
        ? `∂E/∂${data.param}: the first ${data.chain.length} of ${data.paths} paths`
        : `∂E/∂${data.param} = sum over ${data.paths} path(s) of the product of local derivatives:`;
      chain.appendChild(head);
      for (const path of data.chain) {
        const line = document.createElement("div");
        line.className = "eq";
        line.textContent = path.factors.map((f) => `${f.symbol} = ${fmt(f.value)}`).join("  ×  ")
          + `  →  ${fmt(path.product)}`;
        chain.appendChild(line);
      }
      box.appendChild(chain);
    }
    const frame = document.createElement("iframe");
    frame.setAttribute("sandbox", "");
    frame.title = `chain rule for ${data.param}`;
    frame.srcdoc = data.html;
    box.appendChild(frame);
  }

  function bezier(e, t) {  // the point at t on an edge drawn by drawNetwork
    const u = 1 - t, mx = (e.x1 + e.x2) / 2;
    return [u * u * u * e.x1 + 3 * u * u * t * mx + 3 * u * t * t * mx + t * t * t * e.x2,
      u * u * u * e.y1 + 3 * u * u * t * e.y1 + 3 * u * t * t * e.y2 + t * t * t * e.y2];
  }

  function hit(canvas, event) {
    const r = canvas.getBoundingClientRect();
    const x = event.clientX - r.left, y = event.clientY - r.top;
    for (const n of state.nodes) {
      if (x >= n.x && x <= n.x + n.s && y >= n.y && y <= n.y + n.s) return n;
    }
    let best = null, bestD = 6;
    for (const e of state.edges) {
      for (let k = 0; k <= 48; k++) {  // distance to points along the drawn curve
        const [px, py] = bezier(e, k / 48);
        const d = Math.hypot(px - x, py - y);
        if (d < bestD) { bestD = d; best = e; }
      }
    }
    return best;
  }

  // ---- step-through ---------------------------------------------------------------------
  function phasesOf(trace) {
    const L = trace.forward.length;
    const list = [];
    for (let l = 1; l <= L; l++) list.push({ kind: "forward", layer: l });
    list.push({ kind: "loss" });
    for (let l = L; l >= 1; l--) list.push({ kind: "backward", layer: l });
    list.push({ kind: "update" });
    return list;
  }

  function phaseName(p) {
    const L = state.trace.forward.length;
    const layerName = (l) => (l === L ? "output layer" : `hidden layer ${l}`);
    if (p.kind === "forward") return `forward: ${layerName(p.layer)}`;
    if (p.kind === "loss") return "loss";
    if (p.kind === "backward") return `backward: ${layerName(p.layer)}`;
    return `update (${state.trace.optimizer}, lr ${state.trace.lr})`;
  }

  function fmt(v) {
    return typeof v === "number" ? Number(v.toPrecision(6)).toString() : String(v);
  }

  function showPhase() {
    const p = state.phases[state.phase];
    const tr = state.trace;
    const label = $("trace-phase");
    label.textContent = `${state.phase + 1}/${state.phases.length} · ${phaseName(p)}`;
    label.dataset.phase = p.kind + (p.layer ? `-${p.layer}` : "");
    const detail = $("trace-detail");
    detail.replaceChildren();
    const table = document.createElement("table");
    const add = (cells, head) => {
      const row = table.insertRow();
      cells.forEach((c) => {
        const cell = document.createElement(head ? "th" : "td");
        cell.textContent = fmt(c);
        if (typeof c === "number") cell.className = "num";
        row.appendChild(cell);
      });
    };
    if (p.kind === "forward") {
      const f = tr.forward[p.layer - 1];
      add(["neuron", "z = W·a + b", `a = ${f.activation}(z)`], true);
      f.z.forEach((z, j) => add([j, z, f.a[j]]));
    } else if (p.kind === "loss") {
      add(["output", "target", `loss (${tr.loss_name})`], true);
      add([tr.output.map(fmt).join(", "), tr.target.map(fmt).join(", "), tr.loss]);
    } else if (p.kind === "backward") {
      const b = tr.backward.find((x) => x.layer === p.layer);
      add(["neuron", "δ = ∂E/∂z (= ∂E/∂bias for one sample)"], true);
      b.delta.forEach((d, j) => add([j, d]));
    } else {
      add(["parameter", "old", "∂E/∂w", "new"], true);
      for (const u of tr.update) {
        const cols = Array.isArray(u.old[0]) ? u.old[0].length : 0;
        const old = u.old.flat(), g = u.grad.flat(), nw = u.new.flat();
        old.slice(0, 8).forEach((o, k) => {
          const at = cols ? `${Math.floor(k / cols)}, ${k % cols}` : `${k}`;
          add([`${u.name}[${at}]`, o, g[k], nw[k]]);
        });
      }
    }
    detail.appendChild(table);
    render();
  }

  async function startTrace() {
    const sample = Number($("sample").value);
    const tr = await run(() => api("/api/trace", { sample, split: "train" }));
    if (!tr) return;
    state.trace = tr;
    state.phases = phasesOf(tr);
    state.phase = 0;
    $("trace").hidden = false;
    showPhase();
  }

  function closeTrace() {
    state.trace = null;
    state.selected = null;
    $("trace").hidden = true;
    $("trace-phase").dataset.phase = "";
  }

  // ---- controls -------------------------------------------------------------------------
  function setPlaying(on) {
    state.playing = on;
    const b = $("play");
    b.textContent = on ? "❚❚ Pause" : "▶ Play";
    b.classList.toggle("on", on);
    b.dataset.playing = on ? "1" : "0";
  }

  function fillForm(cfg, limits) {
    const form = $("config");
    const options = { dataset: limits.datasets, activation: limits.activations,
      loss: limits.losses, optimizer: limits.optimizers };
    for (const [name, list] of Object.entries(options)) {
      const select = form.elements[name];
      if (!select.options.length) {
        for (const v of list) select.add(new Option(v, v));
      }
    }
    for (const [k, v] of Object.entries(cfg)) {
      const el = form.elements[k];
      if (el && document.activeElement !== el) el.value = Array.isArray(v) ? v.join(",") : v;
    }
  }

  function readForm() {
    const form = $("config");
    const out = {};
    for (const el of form.elements) {
      if (!el.name) continue;
      if (el.name === "hidden") out.hidden = el.value.trim();
      else if (el.type === "number") out[el.name] = el.value === "" ? null : Number(el.value);
      else out[el.name] = el.value;
    }
    return out;
  }

  function render() {
    const f = state.frame;
    if (!f) return;
    $("step-value").textContent = f.step;
    $("step-value").dataset.step = String(f.step);
    $("epoch-value").textContent = f.epoch;
    const s = f.scores;
    $("loss-value").textContent = s.loss === null ? "–" : s.loss.toFixed(4);
    $("loss-value").dataset.loss = s.loss === null ? "" : String(s.loss);
    $("val-loss-value").textContent = s.val_loss === null ? "–" : s.val_loss.toFixed(4);
    $("acc-value").textContent = s.accuracy === null ? "–" : `${(100 * s.accuracy).toFixed(1)}%`;
    if (state.limits) fillForm(f.config, state.limits);
    $("sample").max = state.data ? state.data.train.X.length - 1 : 0;
    drawBoundary();
    drawCurves();
    drawNetwork();
  }

  function wire() {
    $("play").onclick = () => run(async () => {
      if (state.playing) receive(await api("/api/pause", {}));
      else { await api("/api/play", {}); setPlaying(true); }
    });
    $("step").onclick = () => run(async () => receive(await api("/api/step", { unit: "batch" })));
    $("step-epoch").onclick = () => run(async () =>
      receive(await api("/api/step", { unit: "epoch" })));
    $("reset").onclick = () => run(async () => receive(await api("/api/reset", {})));
    $("config").onsubmit = (event) => {
      event.preventDefault();
      run(async () => receive(await api("/api/config", readForm())));
    };
    $("show-grads").onchange = (event) => { state.showGrads = event.target.checked; render(); };
    $("upload").onchange = (event) => run(async () => {
      const file = event.target.files[0];
      if (!file) return;
      if (state.limits && file.size > state.limits.max_upload_bytes) {
        throw new Error(`${file.name} is larger than ${state.limits.max_upload_bytes} bytes`);
      }
      const q = new URLSearchParams({ filename: file.name });
      const target = $("upload-target").value.trim();
      if (target) q.set("target", target);
      const r = await fetch(`/api/upload?${q}`, {
        method: "POST", headers: { "Content-Type": "text/csv" }, body: await file.text() });
      const data = await r.json().catch(() => ({ error: `HTTP ${r.status}` }));
      if (!r.ok) throw new Error(data.error);
      receive(data);
    });
    $("network").onclick = (event) => {
      const target = hit($("network"), event);
      if (target) explain({ param: target.param, index: target.index });
    };
    $("boundary").onclick = (event) => {
      if (!state.data) return;
      const c = $("boundary"), r = c.getBoundingClientRect();
      const ext = state.frame.boundary.extent;
      let best = 0, bestD = Infinity;
      state.data.train.X.forEach((p, i) => {
        const [x, y] = toPixel(ext, r.width, r.height, p[0], p[1]);
        const d = Math.hypot(x - (event.clientX - r.left), y - (event.clientY - r.top));
        if (d < bestD) { bestD = d; best = i; }
      });
      $("sample").value = best;
      render();
      if (state.selected) explain(state.selected);
    };
    $("sample").onchange = () => { render(); if (state.selected) explain(state.selected); };
    $("trace-start").onclick = startTrace;
    $("trace-next").onclick = () => {
      if (state.trace && state.phase < state.phases.length - 1) { state.phase++; showPhase(); }
    };
    $("trace-prev").onclick = () => {
      if (state.trace && state.phase > 0) { state.phase--; showPhase(); }
    };
    $("trace-close").onclick = () => { closeTrace(); render(); };
  }

  // For tests and the curious: where a weight's edge is drawn, and the latest frame.
  window.playground = {
    state,
    edgePoint(param, index) {
      const e = state.edges.find((x) => x.param === param && x.index.join() === index.join());
      if (!e) return null;
      const r = $("network").getBoundingClientRect();
      const [px, py] = bezier(e, 0.3);  // off the middle, where edges of a layer may cross
      return { x: r.left + px, y: r.top + py };
    },
  };

  async function start() {
    wire();
    const opts = await run(() => api("/api/options"));
    if (opts) state.limits = opts.limits;
    const frame = await run(() => api("/api/state"));
    if (frame) receive(frame);
    connect();
  }
  start();
})();
