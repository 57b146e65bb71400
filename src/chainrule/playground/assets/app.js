// chainrule playground: draws what the server computes. Training, gradients, explanations and
// the step-through all come from the chainrule engine on the server; this file only draws them.
"use strict";

(function () {
  // Two palettes: the classic blue/orange, and Okabe–Ito's, safe for colour-blind readers.
  const PALETTES = {
    classic: {
      pos: [8, 119, 189], neg: [245, 147, 34], path: "#1f2328", hot: "#bf3989",
      classes: [[245, 147, 34], [8, 119, 189], [46, 160, 67], [207, 34, 46], [130, 80, 223],
        [191, 135, 0], [27, 124, 131], [100, 100, 100]],
    },
    cb: {
      pos: [0, 114, 178], neg: [230, 159, 0], path: "#000000", hot: "#cc79a7",
      classes: [[230, 159, 0], [0, 114, 178], [0, 158, 115], [204, 121, 167], [86, 180, 233],
        [213, 94, 0], [240, 228, 66], [0, 0, 0]],
    },
  };
  let P = PALETTES.classic;
  const MML = "http://www.w3.org/1998/Math/MathML";
  const OPEN_PATHS = 3;  // paths shown with their cards; the others fold to one line

  const $ = (id) => document.getElementById(id);
  const state = { frame: null, data: null, limits: null, defaults: null, showGrads: false,
    edges: [], nodes: [], selected: null, chain: null, activePath: 0, hot: null, hover: null,
    probe: null, probeKey: "", probing: false, curveIndex: null, trace: null, phase: 0,
    phases: [], playing: false, version: -1, configText: "", paramVersion: -1 };

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
    if (!frame || frame.type !== "frame") return;
    if (frame.data) {
      if (frame.data_version !== state.version) {  // a new run, another network
        closeTrace();
        clearChain();
      }
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
    refreshChain();
  }

  // The chain rule follows training: once a second while playing, at once after a step.
  let explaining = false, explainedAt = 0;
  function refreshChain() {
    const c = state.chain, f = state.frame;
    if (!c || !state.selected || explaining || c.step === f.step) return;
    if (state.playing && performance.now() - explainedAt < 1000) return;
    explain(state.selected, true);
  }

  // ---- colours ----------------------------------------------------------------------------
  function mix(a, b, t) {
    return [0, 1, 2].map((i) => Math.round(a[i] + (b[i] - a[i]) * t));
  }
  function diverging(v) {  // v in [-1, 1] → negative colour … white … positive colour
    const t = Math.max(-1, Math.min(1, v || 0));
    return t >= 0 ? mix([255, 255, 255], P.pos, t) : mix([255, 255, 255], P.neg, -t);
  }
  const rgb = (c, a) => (a === undefined ? `rgb(${c})` : `rgba(${c},${a})`);
  const classColour = (k) => P.classes[k % P.classes.length];

  function fmt(v, digits = 6) {
    return typeof v === "number" ? Number(v.toPrecision(digits)).toString() : String(v);
  }

  // ---- canvases -----------------------------------------------------------------------------
  function setup(canvas) {
    const ratio = window.devicePixelRatio || 1;
    const w = canvas.clientWidth || canvas.width, h = canvas.clientHeight || canvas.height;
    if (canvas.width !== Math.round(w * ratio) || canvas.height !== Math.round(h * ratio)) {
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

  function niceTicks(lo, hi, count) {
    const span = hi - lo || 1;
    const mag = 10 ** Math.floor(Math.log10(span / count));
    const step = [1, 2, 2.5, 5, 10].map((f) => f * mag).find((s) => span / s <= count) || 10 * mag;
    const ticks = [];
    for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) {
      ticks.push(Number(v.toPrecision(10)));
    }
    return ticks;
  }

  // ---- the output: classes, a fitted surface or a fitted curve -----------------------------
  const isCurve = () => state.frame && state.frame.boundary.kind === "curve";
  function pointOf(part, i) {  // where sample i of a part is drawn, in data coordinates
    const pts = state.data[part];
    return isCurve() ? [pts.X[i][0], pts.y[i]] : pts.X[i];
  }
  function toPixel(ext, w, h, px, py) {
    return [(px - ext[0]) / (ext[1] - ext[0]) * w, (ext[3] - py) / (ext[3] - ext[2]) * h];
  }

  function drawBoundary() {
    const { ctx, w, h } = setup($("boundary"));
    const b = state.frame.boundary;
    const ext = b.extent;
    let pointColour;
    if (b.kind === "curve") {
      ctx.strokeStyle = "#eaeef2";
      ctx.fillStyle = "#57606a";
      ctx.font = "10px system-ui, sans-serif";
      for (const t of niceTicks(ext[0], ext[1], 6)) {
        const [x] = toPixel(ext, w, h, t, 0);
        ctx.beginPath(); ctx.moveTo(x, 0); ctx.lineTo(x, h); ctx.stroke();
        ctx.fillText(fmt(t, 3), x + 2, h - 3);
      }
      for (const t of niceTicks(ext[2], ext[3], 6)) {
        const [, y] = toPixel(ext, w, h, 0, t);
        ctx.beginPath(); ctx.moveTo(0, y); ctx.lineTo(w, y); ctx.stroke();
        ctx.fillText(fmt(t, 3), 2, y - 2);
      }
      pointColour = () => [87, 96, 106];
    } else if (b.kind === "surface") {
      const [lo, hi] = b.range, mid = (lo + hi) / 2, half = (hi - lo) / 2 || 1;
      heatImage(ctx, b.p, b.size, (i, v) => diverging(v === null ? 0 : (v - mid) / half),
        0, 0, w, h);
      pointColour = (v) => diverging((v - mid) / half);
    } else if (b.classes === 2 && !b.label) {
      heatImage(ctx, b.p, b.size, (i, p) => diverging(p === null ? 0 : 2 * p - 1), 0, 0, w, h);
      pointColour = classColour;
    } else {
      heatImage(ctx, b.p, b.size, (i, p) => {
        const t = (p - 1 / b.classes) / (1 - 1 / b.classes);
        return mix([255, 255, 255], classColour(b.label[i]), 0.15 + 0.75 * Math.max(0, t));
      }, 0, 0, w, h);
      pointColour = classColour;
    }
    if (!state.data) return;
    for (const [part, hollow] of [["val", true], ["train", false]]) {
      const pts = state.data[part];
      pts.X.forEach((_, i) => {
        const [px, py] = pointOf(part, i);
        const [x, y] = toPixel(ext, w, h, px, py);
        const c = pointColour(pts.y[i]);
        ctx.beginPath();
        ctx.arc(x, y, 3.2, 0, 2 * Math.PI);
        const dark = mix(c, [0, 0, 0], 0.25);
        ctx.lineWidth = hollow ? 1.8 : 1;
        ctx.strokeStyle = hollow ? rgb(dark) : (b.kind === "surface" ? "#1f2328" : "#fff");
        ctx.fillStyle = rgb(dark);
        if (!hollow) ctx.fill();
        ctx.stroke();
      });
    }
    if (b.kind === "curve") {
      ctx.beginPath();
      b.x.forEach((px, k) => {
        const [x, y] = toPixel(ext, w, h, px, b.y[k] === null ? 0 : b.y[k]);
        if (k) ctx.lineTo(x, y); else ctx.moveTo(x, y);
      });
      ctx.strokeStyle = rgb(P.pos);
      ctx.lineWidth = 2.5;
      ctx.stroke();
    }
    const s = sampleIndex();
    if (state.data.train.X[s]) {
      const [x, y] = toPixel(ext, w, h, ...pointOf("train", s));
      ctx.beginPath();
      ctx.arc(x, y, 7, 0, 2 * Math.PI);
      ctx.lineWidth = 2;
      ctx.strokeStyle = "#1f2328";
      ctx.stroke();
    }
  }

  // ---- loss curves, with axes and hover values ------------------------------------------
  function curveBox(w, h) { return { left: 46, right: w - 10, top: 10, bottom: h - 34 }; }

  function drawCurves() {
    const canvas = $("curves");
    const { ctx, w, h } = setup(canvas);
    const hist = state.frame.history;
    const series = [
      { values: hist.loss, colour: "#1f2328", dash: [], name: "training" },
      { values: hist.val_loss, colour: rgb(mix(P.neg, [0, 0, 0], 0.2)), dash: [5, 3],
        name: "validation" },
    ];
    const all = series.flatMap((s) => s.values).filter((v) => v !== null && isFinite(v));
    const n = hist.epoch.length;
    const box = curveBox(w, h);
    const first = hist.epoch[0] || 0, last = Math.max(hist.epoch[n - 1] || 0, first + 1);
    const top = all.length ? Math.max(...all) * 1.05 || 1 : 1;
    const X = (e) => box.left + (e - first) / (last - first) * (box.right - box.left);
    const Y = (v) => box.bottom - v / top * (box.bottom - box.top);
    ctx.font = "10px system-ui, sans-serif";
    ctx.fillStyle = "#57606a";
    ctx.strokeStyle = "#eaeef2";
    ctx.lineWidth = 1;
    ctx.textAlign = "right";
    for (const t of niceTicks(0, top, 4)) {
      if (t > top) continue;
      ctx.beginPath(); ctx.moveTo(box.left, Y(t)); ctx.lineTo(box.right, Y(t)); ctx.stroke();
      ctx.fillText(fmt(t, 3), box.left - 4, Y(t) + 3);
    }
    ctx.textAlign = "center";
    for (const t of niceTicks(first, last, Math.max(2, Math.floor((box.right - box.left) / 50)))) {
      if (t !== Math.round(t) || t < first || t > last) continue;
      ctx.beginPath(); ctx.moveTo(X(t), box.bottom); ctx.lineTo(X(t), box.bottom + 4); ctx.stroke();
      ctx.fillText(String(t), X(t), box.bottom + 14);
    }
    ctx.fillText("epoch", (box.left + box.right) / 2, h - 4);
    ctx.save();
    ctx.translate(11, (box.top + box.bottom) / 2);
    ctx.rotate(-Math.PI / 2);
    ctx.fillText(`loss (${state.frame.loss_name})`, 0, 0);
    ctx.restore();
    ctx.textAlign = "start";
    ctx.strokeStyle = "#8c959f";
    ctx.beginPath();
    ctx.moveTo(box.left, box.top); ctx.lineTo(box.left, box.bottom); ctx.lineTo(box.right, box.bottom);
    ctx.stroke();
    for (const s of series) {
      ctx.beginPath();
      ctx.strokeStyle = s.colour;
      ctx.setLineDash(s.dash);
      ctx.lineWidth = 1.8;
      let started = false;
      s.values.forEach((v, i) => {
        if (v === null || !isFinite(v)) return;
        if (started) ctx.lineTo(X(hist.epoch[i]), Y(v)); else ctx.moveTo(X(hist.epoch[i]), Y(v));
        started = true;
      });
      ctx.stroke();
    }
    ctx.setLineDash([]);
    const k = state.curveIndex === null ? null : Math.min(state.curveIndex, n - 1);
    const readout = $("curve-readout");
    if (k === null || k < 0) {
      readout.textContent = "";
      readout.dataset.epoch = "";
      return;
    }
    ctx.strokeStyle = "#57606a";
    ctx.beginPath(); ctx.moveTo(X(hist.epoch[k]), box.top); ctx.lineTo(X(hist.epoch[k]), box.bottom);
    ctx.stroke();
    const parts = [`epoch ${hist.epoch[k]}`];
    for (const s of series) {
      const v = s.values[k];
      if (v === null || !isFinite(v)) continue;
      ctx.beginPath();
      ctx.arc(X(hist.epoch[k]), Y(v), 3.5, 0, 2 * Math.PI);
      ctx.fillStyle = s.colour;
      ctx.fill();
      parts.push(`${s.name} ${fmt(v, 4)}`);
    }
    readout.textContent = parts.join(" · ");
    readout.dataset.epoch = String(hist.epoch[k]);
    readout.dataset.loss = String(hist.loss[k]);
  }

  function curveHover(event) {
    if (!state.frame) return;
    const c = $("curves"), r = c.getBoundingClientRect();
    const box = curveBox(r.width, r.height);
    const hist = state.frame.history, n = hist.epoch.length;
    const first = hist.epoch[0] || 0, last = Math.max(hist.epoch[n - 1] || 0, first + 1);
    const e = first + (event.clientX - r.left - box.left) / (box.right - box.left) * (last - first);
    let best = 0;
    hist.epoch.forEach((v, i) => { if (Math.abs(v - e) < Math.abs(hist.epoch[best] - e)) best = i; });
    state.curveIndex = best;
    drawCurves();
  }

  // ---- accuracy, confusion matrix or R² ------------------------------------------------
  function pct(v) { return v === null || v === undefined ? "–" : `${(100 * v).toFixed(1)}%`; }

  function drawMetrics() {
    const f = state.frame, s = f.scores, box = $("metrics");
    const key = JSON.stringify([s, f.confusion]);
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.replaceChildren();
    const p = document.createElement("p");
    if (f.task === "regression") {
      p.innerHTML = "R² = 1 − Σ(y − ŷ)² / Σ(y − ȳ)²: ";
      p.append(`training ${s.r2 === null ? "–" : s.r2.toFixed(4)}, validation `
        + `${s.val_r2 === null ? "–" : s.val_r2.toFixed(4)}`);
      box.appendChild(p);
      return;
    }
    p.textContent = `accuracy: training ${pct(s.accuracy)}, validation ${pct(s.val_accuracy)}`;
    box.appendChild(p);
    const c = f.confusion;
    if (!c) return;
    const table = document.createElement("table");
    table.id = "confusion";
    table.createCaption().textContent =
      `confusion matrix (${c.split === "val" ? "validation" : "training"}): rows true, columns predicted`;
    const head = table.createTHead().insertRow();
    head.appendChild(document.createElement("th")).textContent = "true \\ pred";
    c.classes.forEach((name) => {
      const th = document.createElement("th");
      th.scope = "col";
      th.textContent = name;
      head.appendChild(th);
    });
    const body = table.createTBody();
    c.matrix.forEach((row, i) => {
      const tr = body.insertRow();
      const th = document.createElement("th");
      th.scope = "row";
      th.textContent = c.classes[i];
      tr.appendChild(th);
      const total = row.reduce((a, b) => a + b, 0) || 1;
      row.forEach((count, j) => {
        const td = tr.insertCell();
        td.textContent = count;
        const colour = i === j ? P.pos : P.neg;
        td.style.background = rgb(colour, (0.45 * count / total).toFixed(3));
      });
    });
    box.appendChild(table);
  }

  // ---- the network --------------------------------------------------------------------------
  function layout(w, h) {
    const sizes = state.frame.network.sizes;
    const box = Math.max(14, Math.min(46, (h - 34) / Math.max(...sizes) - 8, w / sizes.length / 2.2));
    const gapX = (w - 24 - box) / Math.max(1, sizes.length - 1);
    return sizes.map((n, l) => {
      const gapY = Math.min(box + 14, (h - 34) / n);
      const top = 22 + (h - 22 - gapY * (n - 1) - box) / 2;
      return Array.from({ length: n }, (_, j) => ({ x: 12 + l * gapX, y: top + j * gapY, s: box }));
    });
  }

  function traceOverlay() {
    return state.trace ? state.phases[state.phase] : null;
  }

  // The edges and neurons of the chain rule's paths: the active one, the others, the hot one.
  function pathSets() {
    const active = { edges: new Set(), nodes: new Set() }, others = { edges: new Set(), nodes: new Set() };
    if (!state.chain) return { active, others };
    state.chain.chain.forEach((path, k) => {
      const into = k === state.activePath ? active : others;
      for (const f of path.factors) {
        const t = f.target;
        if (!t) continue;
        if (t.kind === "edge") {
          into.edges.add(`${t.layer}:${t.from}:${t.to}`);
          into.nodes.add(`${t.layer - 1}:${t.from}`);
          into.nodes.add(`${t.layer}:${t.to}`);
        } else {
          into.nodes.add(`${t.layer}:${t.index}`);
        }
      }
    });
    return { active, others };
  }
  const hotKey = () => {
    const t = state.hot;
    if (!t) return "";
    return t.kind === "edge" ? `e${t.layer}:${t.from}:${t.to}` : `n${t.layer}:${t.index}`;
  };

  function drawNetwork() {
    const { ctx, w, h } = setup($("network"));
    const frame = state.frame;
    const pos = layout(w, h);
    const overlay = traceOverlay();
    const paths = pathSets();
    const hot = hotKey();
    const dim = state.chain ? 0.35 : 1;
    state.edges = [];
    state.nodes = [];
    const later = [];
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
          const e = { param: layer.weight, index: [j, i], layer: l + 1, from: i, to: j,
            x1: a.x + a.s, y1: a.y + a.s / 2, x2: b.x, y2: b.y + b.s / 2 };
          state.edges.push(e);
          const t = state.showGrads || (overlay && overlay.kind === "update")
            ? (v || 0) / scale : Math.tanh(v || 0);
          curve(ctx, e);
          ctx.strokeStyle = rgb(t >= 0 ? P.pos : P.neg, dim * (0.25 + 0.75 * Math.min(1, Math.abs(t))));
          ctx.lineWidth = 0.5 + 4 * Math.min(1, Math.abs(t));
          ctx.stroke();
          const key = `${l + 1}:${i}:${j}`;
          const sel = state.selected;
          const chosen = sel && sel.param === layer.weight && sel.index[0] === j && sel.index[1] === i;
          if (hot === `e${key}`) later.push([e, P.hot, 6, 3]);
          else if (paths.active.edges.has(key) || chosen) later.push([e, P.path, 3.5, 2]);
          else if (paths.others.edges.has(key)) later.push([e, "#8c959f", 2, 1]);
        }
      }
    });
    later.sort((a, b) => a[3] - b[3]);
    for (const [e, colour, width] of later) {
      curve(ctx, e);
      ctx.strokeStyle = colour;
      ctx.lineWidth = width;
      ctx.stroke();
    }
    // neurons: each one's output over the inputs (the inputs: the coordinates themselves)
    const inputs = frame.network.sizes[0];
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
        const layer = l > 0 ? frame.network.layers[l - 1] : null;
        state.nodes.push({ param: layer ? layer.bias : null, index: [j], layer: l, x: p.x, y: p.y, s: p.s });
        const sel = state.selected;
        const key = `${l}:${j}`;
        let ring = null;
        if (hot === `n${key}`) ring = [P.hot, 4];
        else if ((layer && sel && sel.param === layer.bias && sel.index[0] === j)
          || paths.active.nodes.has(key)) ring = [P.path, 3];
        else if (state.hover && state.hover.layer === l && state.hover.index === j) ring = ["#57606a", 2];
        if (ring) {
          ctx.lineWidth = ring[1];
          ctx.strokeStyle = ring[0];
          ctx.strokeRect(p.x - 2.5, p.y - 2.5, p.s + 5, p.s + 5);
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
    if (state.hot && state.hot.value !== undefined) hotLabel(ctx, pos, w);
    ctx.fillStyle = "#57606a";
    ctx.font = "11px system-ui, sans-serif";
    pos.forEach((column, l) => {
      const name = l === 0 ? (inputs === 1 ? "x" : "x₁, x₂")
        : (l === pos.length - 1 ? "output" : `hidden ${l}`);
      ctx.fillText(name, column[0].x, 13);
    });
  }

  // The hovered factor's value, written on its edge or under its neuron.
  function hotLabel(ctx, pos, w) {
    const t = state.hot;
    let x, y;
    if (t.kind === "edge") {
      const e = state.edges.find((q) => q.layer === t.layer && q.from === t.from && q.to === t.to);
      if (!e) return;
      [x, y] = bezier(e, 0.5);
      y -= 10;
    } else {
      const p = pos[t.layer] && pos[t.layer][t.index];
      if (!p) return;
      x = p.x + p.s / 2;
      y = p.y + p.s + 14;
    }
    ctx.font = "bold 12px ui-monospace, Menlo, monospace";
    const text = fmt(t.value, 4);
    const tw = ctx.measureText(text).width;
    x = Math.max(2, Math.min(w - tw - 8, x - tw / 2 - 3));
    ctx.fillStyle = "rgba(255,255,255,0.95)";
    ctx.strokeStyle = P.hot;
    ctx.lineWidth = 1.5;
    ctx.fillRect(x, y - 12, tw + 6, 16);
    ctx.strokeRect(x, y - 12, tw + 6, 16);
    ctx.fillStyle = "#1f2328";
    ctx.fillText(text, x + 3, y);
  }

  function curve(ctx, e) {
    ctx.beginPath();
    ctx.moveTo(e.x1, e.y1);
    ctx.bezierCurveTo((e.x1 + e.x2) / 2, e.y1, (e.x1 + e.x2) / 2, e.y2, e.x2, e.y2);
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

  // ---- hovering a neuron: its weighted sum and activation on the chosen sample -------------
  const sampleIndex = () => Math.max(0, Math.floor(Number($("sample").value) || 0));

  async function loadProbe() {
    const key = `${state.version}:${state.frame.step}:${sampleIndex()}:${JSON.stringify(state.frame.network.layers.map((l) => l.W))}`;
    if (state.probeKey === key || state.probing) return;
    state.probing = true;
    try {
      state.probe = await api("/api/probe", { sample: sampleIndex(), split: "train" });
      state.probeKey = key;
    } catch (err) {
      showError(err.message);
    } finally {
      state.probing = false;
    }
  }

  function num(v) {
    const s = document.createElement("span");
    s.className = "num";
    s.textContent = fmt(v, 5);
    return s;
  }

  async function showNeuron(layer, index) {
    state.hover = { layer, index };
    drawNetwork();
    await loadProbe();
    const box = $("neuron-info"), pr = state.probe;
    if (!pr || !state.hover || state.hover.layer !== layer || state.hover.index !== index) return;
    box.replaceChildren();
    box.dataset.layer = String(layer);
    box.dataset.index = String(index);
    const L = pr.layers.length;
    if (layer === 0) {
      box.append(`input x${pr.x.length > 1 ? index + 1 : ""} of sample ${pr.sample} = `, num(pr.x[index]));
      box.dataset.z = box.dataset.a = String(pr.x[index]);
      return;
    }
    const d = pr.layers[layer - 1];
    const name = layer === L ? "output" : `hidden ${layer}`;
    const head = document.createElement("strong");
    head.textContent = `${name}, neuron ${index} (sample ${pr.sample}, step ${pr.step}): `;
    box.append(head, "z = Σ w·a + b = ");
    d.W[index].forEach((wv, i) => {
      box.append(i ? " + " : "", "(", num(wv), ")·(", num(d.inputs[i]), ")");
    });
    box.append(" + (", num(d.b[index]), ") = ", num(d.z[index]), ";  a = ",
      d.activation === "identity" ? "z" : `${d.activation}(z)`, " = ", num(d.a[index]));
    box.dataset.z = String(d.z[index]);
    box.dataset.a = String(d.a[index]);
  }

  function showEdge(e) {
    const layer = state.frame.network.layers[e.layer - 1];
    const box = $("neuron-info");
    box.replaceChildren();
    box.append(`weight ${e.param}[${e.index.join(", ")}] (from neuron ${e.from} to neuron ${e.to} `
      + `of layer ${e.layer}) = `, num(layer.W[e.index[0]][e.index[1]]));
    if (layer.gW) box.append("; last batch's gradient ", num(layer.gW[e.index[0]][e.index[1]]));
    box.append(". Click to explain it.");
  }

  // ---- MathML ---------------------------------------------------------------------------------
  function m(tag, ...kids) {
    const e = document.createElementNS(MML, tag);
    for (const k of kids) e.append(k);
    return e;
  }
  function term(t) {  // z⁽ᴸ⁾ⱼ, a⁽ᴸ⁾ⱼ, w⁽ᴸ⁾ⱼᵢ, b⁽ᴸ⁾ⱼ or E
    if (t.layer === null || t.layer === undefined) return m("mi", t.sym);
    return m("msubsup", m("mi", t.sym), m("mn", t.index.join(",")),
      m("mrow", m("mo", "("), m("mn", String(t.layer)), m("mo", ")")));
  }
  const partial = (top, bottom) =>
    m("mfrac", m("mrow", m("mo", "∂"), term(top)), m("mrow", m("mo", "∂"), term(bottom)));
  function math(...kids) {
    const e = m("math", ...kids);
    e.setAttribute("displaystyle", "true");
    return e;
  }

  // ---- the chain-rule panel ---------------------------------------------------------------
  function clearChain() {
    state.chain = null;
    state.selected = null;
    state.hot = null;
    const box = $("explain");
    box.dataset.param = box.dataset.grad = box.dataset.engineGrad = "";
    const hint = document.createElement("p");
    hint.className = "hint";
    hint.textContent = "Click a weight or a bias in the network (or pick one in the list) to see "
      + "its gradient written out with the chain rule, with this step's numbers.";
    box.replaceChildren(hint);
    $("param-select").value = "";
    $("param-value").value = "";
  }

  async function explain(target, keepPath) {
    state.selected = target;
    selectParam(target);
    writeURL();
    render();
    explaining = true;
    explainedAt = performance.now();
    const data = await run(() => api("/api/explain",
      { param: target.param, index: target.index, sample: sampleIndex(), split: "train" }))
      .finally(() => { explaining = false; });
    if (!data) return;
    if (!keepPath || !state.chain || state.chain.param !== data.param) state.activePath = 0;
    state.chain = data;
    state.activePath = Math.min(state.activePath, Math.max(0, data.chain.length - 1));
    renderChain(data);
    $("param-value").value = String(data.value);
    render();
  }

  function renderChain(data) {
    const box = $("explain");
    box.dataset.param = data.param;
    box.dataset.grad = String(data.grad);
    box.dataset.engineGrad = String(data.engine_grad);
    box.dataset.step = String(data.step);
    box.dataset.sample = String(data.sample);
    box.dataset.paths = String(data.paths);
    // a refresh keeps the keyboard where it was: the same path, the same factor
    const focused = box.contains(document.activeElement) ? document.activeElement : null;
    const was = focused && focused.closest(".path") ? {
      path: focused.closest(".path").dataset.index,
      card: focused.classList.contains("card")
        ? [...focused.parentNode.querySelectorAll(".card")].indexOf(focused) : -1,
    } : null;
    box.replaceChildren();
    const last = data.chain.length ? data.chain[0].factors[data.chain[0].factors.length - 1] : null;
    const param = last ? last.bottom : { sym: data.param, layer: null, index: [] };
    const head = document.createElement("div");
    head.className = "formula-head";
    // three pieces that wrap on a narrow screen (a MathML line does not break by itself)
    head.setAttribute("aria-label", `dE/d${data.param} = sum over paths of the product of local derivatives = ${data.grad}`);
    head.setAttribute("role", "math");
    head.append(
      math(m("mfrac", m("mrow", m("mo", "∂"), m("mi", "E")), m("mrow", m("mo", "∂"), term(param))),
        m("mo", "=")),
      math(m("munder", m("mo", "∑"), m("mtext", "paths")),
        m("munder", m("mo", "∏"), m("mtext", "steps")),
        m("mfrac", m("mrow", m("mo", "∂"), m("mtext", "out")), m("mrow", m("mo", "∂"), m("mtext", "in")))),
      math(m("mo", "="), m("mn", fmt(data.grad, 8))));
    box.appendChild(head);

    const table = document.createElement("table");
    table.className = "summary";
    const rows = [["parameter", `${data.param} (layer ${data.layer})`], ["value now", data.value],
      ["sample", `#${data.sample}: x = (${data.x.map((v) => fmt(v, 5)).join(", ")}), target ${data.target.map((v) => fmt(v, 5)).join(", ")}`],
      ["∂E/∂w (chain rule)", data.grad], ["∂E/∂w (engine .grad)", data.engine_grad],
      ["step", data.step], ["paths", data.paths]];
    for (const [k, v] of rows) {
      const tr = table.insertRow();
      tr.insertCell().textContent = k;
      const cell = tr.insertCell();
      cell.textContent = String(v);
      if (typeof v === "number") cell.className = "num";
    }
    box.appendChild(table);

    const intro = document.createElement("p");
    intro.className = "hint";
    intro.textContent = data.paths > data.chain.length
      ? `The ${data.chain.length} largest of ${data.paths} paths, largest first. Choose a path to draw it on the network; hover a factor to see its edge or neuron.`
      : `${data.paths} path(s) from the loss back to ${data.param}, largest first. Choose a path to draw it on the network; hover a factor to see its edge or neuron.`;
    box.appendChild(intro);

    const list = document.createElement("ol");
    list.className = "paths";
    data.chain.forEach((path, k) => {
      const li = document.createElement("li");
      li.className = "path" + (k === state.activePath ? " active" : "")
        + (k >= OPEN_PATHS && k !== state.activePath ? " compact" : "");
      li.tabIndex = 0;
      li.dataset.index = String(k);
      li.dataset.product = String(path.product);
      li.setAttribute("aria-current", k === state.activePath ? "true" : "false");
      const title = document.createElement("div");
      title.className = "path-title";
      title.textContent = `path ${k + 1}${k === 0 ? " (largest)" : ""}: product ${fmt(path.product)}`;
      const more = document.createElement("span");
      more.className = "more";
      more.textContent = " · choose it to see its factors";
      title.appendChild(more);
      li.appendChild(title);
      const cards = document.createElement("ol");
      cards.className = "cards";
      path.factors.forEach((f, i) => {
        if (i) cards.appendChild(op("×"));
        const card = document.createElement("li");
        card.className = "card";
        card.tabIndex = 0;
        card.dataset.value = String(f.value);
        card.title = `${f.symbol} = ${f.formula} = ${f.value}`;
        const mm = math(partial(f.top, f.bottom));
        mm.setAttribute("aria-label", f.symbol);
        const formula = document.createElement("span");
        formula.className = "formula";
        formula.textContent = f.formula;
        const value = document.createElement("span");
        value.className = "value";
        value.textContent = fmt(f.value);
        card.append(mm, formula, value);
        const on = () => {
          state.hot = f.target && { ...f.target, value: f.value };
          card.classList.add("hot");
          drawNetwork();
        };
        const off = () => { state.hot = null; card.classList.remove("hot"); drawNetwork(); };
        card.addEventListener("mouseenter", on);
        card.addEventListener("focus", on);
        card.addEventListener("mouseleave", off);
        card.addEventListener("blur", off);
        cards.appendChild(card);
      });
      cards.appendChild(op("="));
      const product = document.createElement("li");
      product.className = "card product";
      product.dataset.product = String(path.product);
      const pv = document.createElement("span");
      pv.className = "value";
      pv.textContent = fmt(path.product);
      const pl = document.createElement("span");
      pl.className = "formula";
      pl.textContent = "product";
      product.append(pl, pv);
      cards.appendChild(product);
      li.appendChild(cards);
      const choose = () => {
        state.activePath = k;
        list.querySelectorAll(".path").forEach((p, q) => {
          p.classList.toggle("active", q === k);
          p.classList.toggle("compact", q >= OPEN_PATHS && q !== k);
          p.setAttribute("aria-current", q === k ? "true" : "false");
        });
        drawNetwork();
      };
      li.addEventListener("click", choose);
      li.addEventListener("keydown", (ev) => {
        if (ev.target === li && (ev.key === "Enter" || ev.key === " ")) { ev.preventDefault(); choose(); }
      });
      list.appendChild(li);
    });
    box.appendChild(list);

    const sum = document.createElement("div");
    sum.className = "sum";
    sum.id = "chain-sum";
    sum.dataset.total = String(data.grad);
    sum.dataset.rest = String(data.rest.total);
    const terms = data.chain.map((p) => p.product);
    if (data.rest.count > 0) terms.push(data.rest.total);
    const text = terms.map((v, k) => `${k ? (v < 0 ? " − " : " + ") : (v < 0 ? "−" : "")}${fmt(Math.abs(v))}`
      + (k === data.chain.length ? ` (the other ${data.rest.count} paths)` : "")).join("");
    sum.append(`Sum over paths: ${text} = `);
    const total = document.createElement("strong");
    total.className = "num";
    total.textContent = fmt(data.grad, 10);
    sum.append(total, ". The engine's .grad: ");
    const engine = document.createElement("strong");
    engine.className = "num";
    engine.textContent = fmt(data.engine_grad, 10);
    sum.append(engine, " ");
    const diff = Math.abs(data.grad - data.engine_grad);
    const ok = document.createElement("span");
    const agree = diff <= 1e-9 * Math.max(1, Math.abs(data.engine_grad));
    ok.className = agree ? "ok" : "bad";
    ok.textContent = agree ? `✓ equal (difference ${diff.toExponential(1)})` : `✗ differ by ${diff}`;
    sum.appendChild(ok);
    box.appendChild(sum);

    const details = document.createElement("details");
    const summary = document.createElement("summary");
    summary.textContent = "The whole explanation: forward, loss, deltas, update";
    details.appendChild(summary);
    details.addEventListener("toggle", () => {
      if (!details.open || details.querySelector("iframe")) return;
      const frame = document.createElement("iframe");
      frame.setAttribute("sandbox", "");
      frame.title = `chain rule for ${data.param}`;
      frame.srcdoc = data.html;
      details.appendChild(frame);
    });
    box.appendChild(details);
    if (was) {
      const li = list.querySelector(`.path[data-index="${was.path}"]`);
      const target = li && (was.card >= 0 ? li.querySelectorAll(".card")[was.card] : li);
      if (target) target.focus();
    }
  }

  function op(text) {
    const li = document.createElement("li");
    li.className = "op";
    li.setAttribute("aria-hidden", "true");
    li.textContent = text;
    return li;
  }

  // ---- the parameter list (keyboard access to every weight) and editing by hand ---------------
  function fillParams() {
    const select = $("param-select");
    const key = `${state.version}`;
    if (state.paramVersion === key) return;
    state.paramVersion = key;
    select.replaceChildren(new Option("— choose —", ""));
    state.frame.network.layers.forEach((layer, l) => {
      const group = document.createElement("optgroup");
      group.label = `layer ${l + 1} (${layer.weight}, ${layer.bias})`;
      for (let j = 0; j < layer.out; j++) {
        for (let i = 0; i < layer.in; i++) {
          group.appendChild(new Option(`w ${j}←${i}  ${layer.weight}[${j}, ${i}]`,
            `${layer.weight}|${j},${i}`));
        }
        group.appendChild(new Option(`b ${j}  ${layer.bias}[${j}]`, `${layer.bias}|${j}`));
      }
      select.appendChild(group);
    });
  }

  function selectParam(target) {
    const v = `${target.param}|${target.index.join(",")}`;
    const select = $("param-select");
    if ([...select.options].some((o) => o.value === v)) select.value = v;
  }

  function paramValue(target) {
    const layer = state.frame.network.layers.find((l) => l.weight === target.param || l.bias === target.param);
    if (!layer) return null;
    return target.param === layer.weight ? layer.W[target.index[0]][target.index[1]] : layer.b[target.index[0]];
  }

  async function setWeight() {
    const t = state.selected;
    if (!t) { showError("choose a weight or bias first (click one, or pick it in the list)"); return; }
    const raw = $("param-value").value;
    const value = raw === "" ? null : Number(raw);
    const frame = await run(() => api("/api/weight", { param: t.param, index: t.index, value }));
    if (!frame) return;
    receive(frame);
    explain(t, true);
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
      add([tr.output.map((v) => fmt(v)).join(", "), tr.target.map((v) => fmt(v)).join(", "), tr.loss]);
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
    const tr = await run(() => api("/api/trace", { sample: sampleIndex(), split: "train" }));
    if (!tr) return;
    state.trace = tr;
    state.phases = phasesOf(tr);
    state.phase = 0;
    $("trace").hidden = false;
    showPhase();
  }

  function closeTrace() {
    state.trace = null;
    $("trace").hidden = true;
    $("trace-phase").dataset.phase = "";
  }

  // ---- settings, the address bar and the palette -------------------------------------------
  function setPlaying(on) {
    state.playing = on;
    const b = $("play");
    b.textContent = on ? "❚❚ Pause" : "▶ Play";
    b.classList.toggle("on", on);
    b.dataset.playing = on ? "1" : "0";
    b.setAttribute("aria-pressed", on ? "true" : "false");
  }

  function fillForm(cfg, limits) {
    const form = $("config");
    const options = { dataset: limits.datasets, activation: limits.activations,
      loss: limits.losses, optimizer: limits.optimizers };
    for (const [name, list] of Object.entries(options)) {
      const select = form.elements[name];
      if (select.options.length) continue;
      if (name !== "dataset") {
        for (const v of list) select.add(new Option(v, v));
        continue;
      }
      for (const [title, fit] of [["classify", false], ["fit a function", true]]) {
        const group = document.createElement("optgroup");
        group.label = title;
        for (const v of list) {
          if (limits.regression.includes(v) === fit) group.appendChild(new Option(v, v));
        }
        select.appendChild(group);
      }
    }
    const text = JSON.stringify(cfg);
    if (text === state.configText) return;  // only a new run's settings overwrite the form
    state.configText = text;
    for (const [k, v] of Object.entries(cfg)) {
      const el = form.elements[k];
      if (el) el.value = Array.isArray(v) ? v.join(",") : v;
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

  // Every setting lives in the address: opening it again (or sending it) restores the run.
  function configFromURL() {
    const q = new URLSearchParams(location.search);
    const out = {};
    for (const [k, d] of Object.entries(state.defaults || {})) {
      if (!q.has(k)) continue;
      const v = q.get(k);
      out[k] = k === "hidden" ? v : (typeof d === "number" ? (v === "" ? null : Number(v)) : v);
    }
    return out;
  }

  function writeURL() {
    const f = state.frame;
    if (!f) return;
    const q = new URLSearchParams();
    for (const [k, v] of Object.entries(f.config)) q.set(k, Array.isArray(v) ? v.join(",") : String(v));
    if ($("palette").checked) q.set("palette", "cb");
    q.set("sample", String(sampleIndex()));
    if (state.selected) {
      q.set("param", state.selected.param);
      q.set("index", state.selected.index.join(","));
    }
    const url = `${location.pathname}?${q}`;
    if (url !== location.pathname + location.search) history.replaceState(null, "", url);
  }

  function setPalette(cb) {
    P = cb ? PALETTES.cb : PALETTES.classic;
    document.body.classList.toggle("cb", cb);
    $("palette").checked = cb;
    const box = $("metrics");
    if (box) box.dataset.key = "";
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
    const regression = f.task === "regression";
    $("metric-name").textContent = regression ? "R²" : "accuracy";
    const metric = regression ? s.r2 : s.accuracy;
    $("acc-value").textContent = metric === null ? "–" : (regression ? metric.toFixed(3) : pct(metric));
    $("acc-value").dataset.metric = metric === null ? "" : String(metric);
    $("acc-value").dataset.valMetric = String(regression ? s.val_r2 : s.val_accuracy);
    $("output-title").textContent = regression
      ? (f.boundary.kind === "curve" ? "Fitted curve" : "Fitted surface") : "Decision boundary";
    if (state.limits) fillForm(f.config, state.limits);
    fillParams();
    $("sample").max = state.data ? state.data.train.X.length - 1 : 0;
    if (state.selected && document.activeElement !== $("param-value") && !state.chain) {
      const v = paramValue(state.selected);
      if (v !== null) $("param-value").value = String(v);
    }
    drawBoundary();
    drawCurves();
    drawNetwork();
    drawMetrics();
    writeURL();
  }

  let pending = false;
  function redraw() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => { pending = false; render(); });
  }

  function wire() {
    $("play").onclick = () => run(async () => {
      if (state.playing) receive(await api("/api/pause", {}));
      else { await api("/api/play", {}); setPlaying(true); }
    });
    $("step").onclick = () => run(async () => receive(await api("/api/step", { unit: "batch" })));
    $("step-epoch").onclick = () => run(async () =>
      receive(await api("/api/step", { unit: "epoch" })));
    $("reset").onclick = () => run(async () => {
      receive(await api("/api/reset", {}));
      if (state.selected) explain(state.selected, true);
    });
    $("share").onclick = async () => {
      writeURL();
      try {
        await navigator.clipboard.writeText(location.href);
        $("share").textContent = "Copied ✓";
      } catch (err) {
        $("share").textContent = "Link in the address bar";
      }
      setTimeout(() => { $("share").textContent = "Copy link"; }, 1500);
    };
    $("config").onsubmit = (event) => {
      event.preventDefault();
      run(async () => receive(await api("/api/config", readForm())));
    };
    $("show-grads").onchange = (event) => { state.showGrads = event.target.checked; render(); };
    $("palette").onchange = (event) => { setPalette(event.target.checked); render(); };
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
    const net = $("network");
    net.onclick = (event) => {
      const target = hit(net, event);
      if (target && target.param) explain({ param: target.param, index: target.index });
    };
    net.onmousemove = (event) => {
      if (!state.frame) return;
      const target = hit(net, event);
      if (!target) return;
      if (target.s !== undefined) showNeuron(target.layer, target.index[0]);
      else showEdge(target);
    };
    net.onkeydown = (event) => {  // arrows walk the neurons, Enter explains a neuron's bias
      if (!state.frame) return;
      const sizes = state.frame.network.sizes;
      const h = state.hover || { layer: 0, index: 0 };
      let { layer, index } = h;
      if (event.key === "ArrowRight") layer = Math.min(sizes.length - 1, layer + 1);
      else if (event.key === "ArrowLeft") layer = Math.max(0, layer - 1);
      else if (event.key === "ArrowDown") index += 1;
      else if (event.key === "ArrowUp") index -= 1;
      else if (event.key === "Enter" && layer > 0) {
        explain({ param: state.frame.network.layers[layer - 1].bias, index: [index] });
        return;
      } else return;
      event.preventDefault();
      index = Math.max(0, Math.min(sizes[layer] - 1, index));
      showNeuron(layer, index);
    };
    $("param-select").onchange = (event) => {
      const v = event.target.value;
      if (!v) return;
      const [param, idx] = v.split("|");
      explain({ param, index: idx.split(",").map(Number) });
    };
    $("param-set").onclick = setWeight;
    $("param-value").onkeydown = (event) => { if (event.key === "Enter") setWeight(); };
    $("boundary").onclick = (event) => {
      if (!state.data) return;
      const c = $("boundary"), r = c.getBoundingClientRect();
      const ext = state.frame.boundary.extent;
      let best = 0, bestD = Infinity;
      state.data.train.X.forEach((_, i) => {
        const [x, y] = toPixel(ext, r.width, r.height, ...pointOf("train", i));
        const d = Math.hypot(x - (event.clientX - r.left), y - (event.clientY - r.top));
        if (d < bestD) { bestD = d; best = i; }
      });
      $("sample").value = best;
      sampleChanged();
    };
    $("sample").onchange = sampleChanged;
    const curves = $("curves");
    curves.onmousemove = curveHover;
    curves.onmouseleave = () => { state.curveIndex = null; drawCurves(); };
    curves.onkeydown = (event) => {
      if (!state.frame) return;
      const n = state.frame.history.epoch.length;
      const k = state.curveIndex === null ? n - 1 : state.curveIndex;
      if (event.key === "ArrowLeft") state.curveIndex = Math.max(0, k - 1);
      else if (event.key === "ArrowRight") state.curveIndex = Math.min(n - 1, k + 1);
      else if (event.key === "Home") state.curveIndex = 0;
      else if (event.key === "End") state.curveIndex = n - 1;
      else return;
      event.preventDefault();
      drawCurves();
    };
    curves.onblur = () => { state.curveIndex = null; drawCurves(); };
    $("trace-start").onclick = startTrace;
    $("trace-next").onclick = () => {
      if (state.trace && state.phase < state.phases.length - 1) { state.phase++; showPhase(); }
    };
    $("trace-prev").onclick = () => {
      if (state.trace && state.phase > 0) { state.phase--; showPhase(); }
    };
    $("trace-close").onclick = () => { closeTrace(); render(); };
    if (window.ResizeObserver) new ResizeObserver(redraw).observe(document.querySelector("main"));
    else window.addEventListener("resize", redraw);
  }

  function sampleChanged() {
    state.probeKey = "";
    render();
    if (state.hover) showNeuron(state.hover.layer, state.hover.index);
    if (state.selected) explain(state.selected, true);
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
    nodePoint(layer, index) {
      const n = state.nodes.find((x) => x.layer === layer && x.index[0] === index);
      if (!n) return null;
      const r = $("network").getBoundingClientRect();
      return { x: r.left + n.x + n.s / 2, y: r.top + n.y + n.s / 2 };
    },
  };

  async function start() {
    wire();
    const q = new URLSearchParams(location.search);
    setPalette(q.get("palette") === "cb");
    const opts = await run(() => api("/api/options"));
    if (opts) { state.limits = opts.limits; state.defaults = opts.defaults; }
    let frame = await run(() => api("/api/state"));
    const wanted = configFromURL();
    if (frame && Object.keys(wanted).length) {
      const current = frame.config;
      const differs = Object.entries(wanted).some(([k, v]) =>
        String(Array.isArray(current[k]) ? current[k].join(",") : current[k]) !== String(v));
      if (differs) frame = (await run(() => api("/api/config", wanted))) || frame;
    }
    if (q.has("sample")) $("sample").value = q.get("sample");
    if (frame) receive(frame);
    connect();
    if (q.has("param") && q.has("index")) {
      explain({ param: q.get("param"), index: q.get("index").split(",").map(Number) });
    }
  }
  start();
})();
