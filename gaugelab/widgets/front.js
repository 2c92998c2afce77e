// GaugeLab FrontFigure: a plotly figure drawn and redrawn in the browser (gaugelab/widgets/front.py).
//
// The kernel sends the figure once, and "tables": for one control (`along`), every value it can take
// and the update the figure needs there, valid while the other controls keep the values in `at`.
// A control moved by the student redraws from a table here, in the page, without a round trip; a
// state no table holds is asked of the kernel ({kind: "need"}), latest value wins (one request in
// flight; a newer state is asked for when the answer arrives). An update sets trace properties
// ({index: {path: value}}) and layout properties ({path: value}) and the readout's HTML, or brings a
// whole new figure; each is drawn by one Plotly.react.
//
// A figure with contour or heatmap traces, or with traces the app names as never moved by its
// controls (front.py `under_traces`), is drawn as two plots, one over the other: those traces, the
// axes and the subplot titles in a plot underneath, redrawn only when one of them changes, and the
// traces that move, the shapes, legend and title in a transparent plot on top, the one a control
// redraws (see makeLayers). plotly recomputes every trace and redraws every axis of a plot on any
// data change: the contour (marching squares, smoothing, colorbar) was half of each redraw of a
// landscape; in the orbit explorer the axes, subplot titles and static traces were two thirds.

const TOL = 1e-9;

function same(a, b) {
  if (typeof a === "number" && typeof b === "number") {
    return Math.abs(a - b) <= TOL * Math.max(1, Math.abs(a), Math.abs(b));
  }
  return a === b;
}

function sameState(a, b) {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!same(a[k], b[k])) return false;
  return true;
}

// plotly's Python side sends numpy arrays as {dtype, bdata[, shape]} (base64). plotly.js decodes
// them into new arrays on every draw, so Plotly.react saw every array as changed and recomputed and
// redrew every trace even when one marker moved (measured: a react changing nothing took 39-45 ms
// on the landscape, 5.5 ms with the arrays decoded once). Decode them once, here.
const TYPED = {
  f8: Float64Array, f4: Float32Array, i1: Int8Array, u1: Uint8Array,
  i2: Int16Array, u2: Uint16Array, i4: Int32Array, u4: Uint32Array,
};
function decodeTyped(v) {
  const T = TYPED[v.dtype];
  if (!T) return v; // left to plotly.js
  const raw = atob(v.bdata);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  const arr = new T(bytes.buffer); // plain arrays below: what plotly.js handles everywhere
  const shape = v.shape === undefined ? [arr.length] : String(v.shape).split(",").map(Number);
  if (shape.length === 1) return Array.from(arr);
  if (shape.length === 2) {
    const [rows, cols] = shape;
    return Array.from({ length: rows }, (_, i) => Array.from(arr.subarray(i * cols, (i + 1) * cols)));
  }
  return v;
}
function decoded(o) {
  if (Array.isArray(o)) return o.map(decoded);
  if (o && typeof o === "object") {
    if (typeof o.bdata === "string" && typeof o.dtype === "string") return decodeTyped(o);
    return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, decoded(v)]));
  }
  return o;
}

// plotly.js, once per page: the kernel sends the plotly.min.js of its plotly package (no network).
function loadPlotly(model) {
  if (globalThis.__gaugelabPlotly) return globalThis.__gaugelabPlotly;
  const p = new Promise((resolve, reject) => {
    const onMsg = (msg, buffers) => {
      if (!msg || msg.kind !== "plotly-source") return;
      model.off("msg:custom", onMsg);
      try {
        const text = new TextDecoder().decode(buffers[0]);
        const mod = { exports: {} };
        new Function("module", "exports", text)(mod, mod.exports);
        resolve(mod.exports);
      } catch (err) {
        reject(err);
      }
    };
    model.on("msg:custom", onMsg);
    model.send({ kind: "plotly-source?" });
  });
  globalThis.__gaugelabPlotly = p;
  p.catch(() => {
    globalThis.__gaugelabPlotly = null;
  });
  return p;
}

const AXIS = /^[xy]axis\d*$/;
const isContour = (t) => !!t && (t.type === "contour" || t.type === "heatmap");

// every trace gets a uid (its index, unless it has one): react matches traces by it, and a trace
// drawn underneath and its stand-in on top share it (the browser tests find a trace by it)
const withUids = (data) => data.map((t, i) => (t.uid === undefined ? { ...t, uid: String(i) } : t));

// The two-plot drawing (see the top of this file). `draw(data, layout, fresh)` draws the figure.
// Traces drawn underneath: contour/heatmap traces, and those whose index is in `underIdx` (the
// traces the controls never move). Without any, one Plotly.react of `plot`. With them:
// - underneath (pointer-events none, static): those traces, the axes (ticks, grid, axis titles),
//   the annotations (subplot titles) and the backgrounds; redrawn only when one of them changes;
// - on top (`plot`, transparent, the one a control redraws and the student touches): the other
//   traces, a stand-in for each trace underneath (no points: its legend entry; a contour's is
//   hidden), shapes, legend, title; its axes drawn invisible at the ranges the plot underneath has
//   (an autoranged axis, and an autoscale, fit the traces underneath: the traces on top should lie
//   within them; a landscape's autoscale shows the contour's square, where a GD path may leave it).
// Both have the margins plotly computed for the whole figure (one full draw of `plot` when
// `fresh`), so their plot areas coincide. A zoom, pan or autoscale of the top plot is done by the
// plot underneath, whose ranges the top plot then takes; a legend click on a stand-in shows or
// hides the trace underneath.
function makeLayers(Plotly, stack, plot, config, enabled = true, underIdx = []) {
  let under = null, margin = null, baseKey = null, baseKeyText = "", last = null;
  const underSet = new Set(underIdx);
  const isUnder = (t, i) => enabled && !!t && t.visible !== false && (isContour(t) || underSet.has(i));
  const shown = new Map(); // trace index -> the visibility the student chose in the legend
  const cache = new WeakMap(); // a trace -> {v, copy, standIn} (its versions), while it lasts
  const versions = (t, i) => {
    const v = shown.has(i) ? shown.get(i) : t.visible;
    let c = cache.get(t);
    if (!c || c.v !== v) {
      const copy = v === t.visible ? t : { ...t, visible: v };
      const standIn = isContour(t) ? { ...t, visible: false } : { ...copy, x: [null], y: [null] };
      c = { v, copy, standIn };
      cache.set(t, c);
    }
    return c;
  };
  const CLEAR = "rgba(0,0,0,0)";

  // the mode bar's colours plotly derives from the background (the top plot's is transparent)
  const modebarOf = (gd) => {
    const m = gd._fullLayout.modebar || {};
    return { bgcolor: m.bgcolor, color: m.color, activecolor: m.activecolor };
  };
  // the ranges of the plot underneath onto the top plot's invisible axes
  function rangesFrom(gd) {
    const out = {};
    for (const [k, a] of Object.entries(gd._fullLayout)) if (AXIS.test(k) && a && Array.isArray(a.range)) out[k] = [...a.range];
    return out;
  }
  // the student zoomed, panned or autoscaled the top plot: the plot underneath does it (it holds
  // the traces an autorange must cover), the top plot takes its ranges
  let following = false;
  async function follow(ev) {
    if (!under || !under._fullLayout || following) return;
    const upd = {};
    for (const [k, v] of Object.entries(ev || {})) {
      if (/^[xy]axis\d*\.(autorange|range(\[[01]\])?)$/.test(k)) upd[k] = v;
    }
    if (!Object.keys(upd).length) return;
    following = true;
    try {
      await Plotly.relayout(under, upd);
      const top = {};
      for (const [k, r] of Object.entries(rangesFrom(under))) {
        const a = plot._fullLayout[k];
        if (a && (a.range[0] !== r[0] || a.range[1] !== r[1])) top[`${k}.range`] = r;
      }
      if (Object.keys(top).length) await Plotly.relayout(plot, top);
    } finally {
      following = false;
    }
  }
  plot.on("plotly_relayout", follow);
  // a legend click: remember the visibility (the next redraw keeps it), show it underneath too
  plot.on("plotly_restyle", (ev) => {
    if (!last || !Array.isArray(ev) || !ev[0] || !("visible" in ev[0])) return;
    const vals = ev[0].visible;
    let below = false;
    (ev[1] || []).forEach((i, n) => {
      shown.set(i, Array.isArray(vals) ? vals[n % vals.length] : vals);
      below = below || isUnder(last.data[i], i);
    });
    if (below) draw(last.data, last.layout, false);
  });

  async function draw(data, layout, fresh) {
    last = { data, layout };
    if (fresh) shown.clear();
    const all = data.map((t, i) => versions(t, i));
    if (!data.some(isUnder)) {
      if (under) purge();
      return Plotly.react(plot, all.map((c) => c.copy), layout, config);
    }
    if (fresh || !margin) {
      await Plotly.react(plot, all.map((c) => c.copy), layout, config); // the whole figure once: its margins
      const sz = plot._fullLayout._size;
      margin = { l: sz.l, r: sz.r, t: sz.t, b: sz.b, pad: 0, autoexpand: false };
      baseKey = null;
    }
    if (!under) {
      under = document.createElement("div");
      under.className = "gaugelab-plot-under";
      under.style.cssText = "position:absolute;left:0;top:0;z-index:0;pointer-events:none;";
      stack.append(under);
    }
    const below = data.map((t, i) => isUnder(t, i));
    const base = all.filter((_c, i) => below[i]).map((c) => c.copy);
    // everything underneath depends on: its traces, the axes, annotations, size, template, margins
    const key = [...base, ...Object.keys(layout).filter((k) => AXIS.test(k)).map((k) => layout[k]),
      layout.annotations, layout.width, layout.height, layout.template, layout.paper_bgcolor,
      layout.plot_bgcolor, margin];
    // both plots get the size the whole figure was drawn at (plotly fills in a missing width)
    const size = { width: layout.width ?? plot._fullLayout.width, height: layout.height ?? plot._fullLayout.height };
    // (new objects of equal content, e.g. a whole update for the neuron already shown, do not
    // redraw it: compared by identity first, then by value)
    const same = baseKey && key.length === baseKey.length &&
      (key.every((k, n) => k === baseKey[n]) || JSON.stringify(key) === baseKeyText);
    if (!same) {
      baseKey = key;
      baseKeyText = JSON.stringify(key);
      await Plotly.react(
        under,
        base,
        { ...layout, ...size, margin, shapes: [], images: [], showlegend: false, title: { text: "" } },
        { ...config, staticPlot: true },
      );
    } else {
      baseKey = key;
    }
    // the top plot's axes: invisible, at the ranges of the plot underneath (every axis it has)
    const ranges = rangesFrom(under);
    const invisible = Object.fromEntries(Object.entries(ranges).map(([k, r]) => [k, {
      ...(layout[k] || {}), range: r, autorange: false, showticklabels: false, ticks: "",
      showgrid: false, zeroline: false, showline: false, title: { text: "" },
    }]));
    await Plotly.react(
      plot,
      all.map((c, i) => (below[i] ? c.standIn : c.copy)),
      { ...layout, ...size, margin, annotations: [], paper_bgcolor: CLEAR, plot_bgcolor: CLEAR,
        modebar: { ...modebarOf(under), ...(layout.modebar || {}) }, ...invisible },
      config,
    );
  }

  function purge() {
    if (!under) return;
    Plotly.purge(under);
    under.remove();
    under = null;
    baseKey = null;
  }
  return { draw, purge };
}

async function render({ model, el }) {
  const readout = document.createElement("div");
  readout.className = "gaugelab-readout";
  readout.style.minHeight = model.get("readout_min_height");
  const plot = document.createElement("div");
  plot.className = "gaugelab-plot";
  plot.style.position = "relative";
  plot.style.zIndex = "1";
  const stack = document.createElement("div");
  stack.style.position = "relative";
  stack.append(plot); // the plot underneath (if any) goes after it: the first plot is the live one
  el.append(readout, stack);
  readout.innerHTML = model.get("readout");

  const Plotly = await loadPlotly(model);
  const fig = model.get("figure");
  const config = { displaylogo: false, responsive: false, ...(fig.config || {}) };
  // our own copy of the figure (arrays decoded once): an update sets trace/layout properties (copy
  // on write: new objects along the path, new arrays from the JSON), then one Plotly.react draws
  // it; react sees by identity which arrays changed
  let data = withUids(decoded(fig.data));
  let layout = decoded(fig.layout);
  await Plotly.newPlot(plot, data, layout, config);
  const layers = makeLayers(Plotly, stack, plot, config, model.get("layered"), model.get("under_traces"));
  await layers.draw(data, layout, true);

  const controls = {};
  for (const [name, id] of Object.entries(model.get("controls"))) {
    controls[name] = await model.widget_manager.get_model(id.replace(/^IPY_MODEL_/, ""));
  }
  // a selection widget (Dropdown, ToggleButtons) syncs only its option index: the page's state and
  // tables use that index for it (front.py converts)
  const keys = model.get("control_keys") || {};
  const key = (n) => keys[n] || "value";
  const state = () => Object.fromEntries(Object.entries(controls).map(([n, m]) => [n, m.get(key(n))]));

  let drawn = model.get("figure_state"); // the state the figure shows
  let asked = null; // the state asked of the kernel, while its answer is out

  let tables = JSON.parse(model.get("tables_json"));
  let servedByPage = 0;
  function lookup(s) {
    for (const t of tables) {
      if (!Object.entries(t.at).every(([k, v]) => same(s[k], v))) continue;
      // a partial table changes only what depends on `along`: the figure must already show `at`
      if (!t.complete && !Object.entries(t.at).every(([k, v]) => same(drawn[k], v))) continue;
      const i = t.values.findIndex((v) => same(v, s[t.along]));
      if (i >= 0) return t.updates[i];
    }
    return null;
  }


  function setPath(obj, path, value) {
    // plotly's attribute strings: "xaxis.range", "shapes[0].x0" (an index into an array)
    const keys = path.split(/\.|\[(\d+)\]\.?/).filter((k) => k !== undefined && k !== "");
    let o = obj;
    for (const k of keys.slice(0, -1)) {
      const child = o[k];
      o[k] = Array.isArray(child) ? [...child] : child && typeof child === "object" ? { ...child } : {};
      o = o[k];
    }
    o[keys[keys.length - 1]] = value;
  }

  let fresh = false; // a whole new figure since the last draw (its margins are measured again)
  function draw(update, s) {
    drawn = s;
    if (update.figure) {
      data = withUids(decoded(update.figure.data));
      layout = decoded(update.figure.layout);
      fresh = true;
    }
    data = [...data]; // a new array: plotly keeps the one it drew, react compares with it
    for (const [i, props] of Object.entries(update.traces || {})) {
      data[i] = { ...data[i] };
      for (const [path, value] of Object.entries(props)) setPath(data[i], path, value);
    }
    layout = { ...layout };
    for (const [path, value] of Object.entries(update.layout || {})) setPath(layout, path, value);
    if (update.readout !== undefined) text = update.readout;
    paint();
  }

  // latest wins: while plotly draws, further updates only change our copy; one more draw then
  // shows the newest state (no backlog of intermediate frames)
  let busy = false,
    again = false,
    text;
  async function paint() {
    if (busy) {
      again = true;
      return;
    }
    busy = true;
    try {
      // let the input's own handler return first: ipywidgets' Play schedules its next frame only
      // after its value listeners have run, so a redraw inside them stretched every frame by the
      // redraw's time (10 frames/s of 12.5 asked). Waiting for the next animation frame instead
      // was slower in JupyterLab (notebook 03, A/B twice: drag 8.8 vs 10.1 redraws/s, key step
      // 76 vs 69 ms median)
      await null;
      do {
        again = false;
        const r = text;
        await layers.draw(data, layout, fresh);
        fresh = false;
        if (r !== undefined) readout.innerHTML = r;
      } while (again);
    } finally {
      busy = false;
    }
  }

  function show() {
    const s = state();
    if (sameState(s, drawn)) return;
    const update = lookup(s);
    if (update) {
      servedByPage++;
      draw(update, s);
    } else if (asked === null || performance.now() - askedAt > RETRY_MS) {
      ask(s);
    }
  }

  // a request whose answer has not come within RETRY_MS is sent again for the newest state (seen
  // under bursts of input: an answer that never arrived left the figure on an old state)
  const RETRY_MS = 1000;
  let askedAt = 0,
    watchdog = null;
  function ask(s) {
    asked = s;
    askedAt = performance.now();
    model.send({ kind: "need", state: s });
    clearTimeout(watchdog);
    watchdog = setTimeout(() => {
      if (asked !== null) {
        asked = null;
        show();
      }
    }, RETRY_MS);
  }

  // a shape the student dragged (plotly's editable shapes): the kernel decides where it lands
  plot.on("plotly_relayout", (ev) => {
    const shapes = Object.fromEntries(Object.entries(ev || {}).filter(([k]) => k.startsWith("shapes[")));
    if (Object.keys(shapes).length) model.send({ kind: "relayout", data: shapes });
  });

  let pushTimer = null;
  const onMsg = (msg) => {
    if (!msg || msg.kind !== "update") return;
    if (!msg.pushed) {
      asked = null;
      clearTimeout(watchdog);
    }
    draw(msg.update, msg.state); // an answer for an older state is drawn too (feedback), then:
    if (msg.pushed) {
      // a push may be for control values the kernel is setting right after it (drawn once, not
      // their table first): look again only once those have had time to arrive
      clearTimeout(pushTimer);
      pushTimer = setTimeout(show, 250);
    } else {
      show(); // the newest state, if it differs
    }
  };
  model.on("msg:custom", onMsg);
  // for tests and benchmarks: what the page believes it shows
  plot.gaugelabState = () => ({ drawn, asked, state: state(), served_by_page: servedByPage, busy });
  const onTables = () => {
    tables = JSON.parse(model.get("tables_json"));
    show();
  };
  model.on("change:tables_json", onTables);
  const onFigure = () => {
    const f = model.get("figure");
    draw({ figure: f, readout: model.get("readout") }, model.get("figure_state"));
    show();
  };
  model.on("change:figure", onFigure);
  // a table may say that moving its control sets others (`sets`, e.g. another neuron puts the
  // slider back to 0): the page sets them at once, so the state it then shows is in the table
  function onControl(name) {
    for (const t of tables) {
      if (t.along !== name || !t.sets) continue;
      for (const [k, v] of Object.entries(t.sets)) {
        const m = controls[k];
        if (m && !same(m.get(key(k)), v)) {
          m.set(key(k), v);
          m.save_changes();
        }
      }
    }
    show();
  }
  const listeners = Object.entries(controls).map(([name, m]) => {
    const f = () => onControl(name);
    m.on(`change:${key(name)}`, f);
    return [m, f, `change:${key(name)}`];
  });
  show();

  return () => {
    model.off("msg:custom", onMsg);
    model.off("change:tables_json", onTables);
    model.off("change:figure", onFigure);
    for (const [m, f, ev] of listeners) m.off(ev, f);
    clearTimeout(watchdog);
    clearTimeout(pushTimer);
    layers.purge();
    Plotly.purge(plot);
  };
}

export default { render };
