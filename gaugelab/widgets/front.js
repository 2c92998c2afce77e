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
// A figure with contour or heatmap traces is drawn as two plots, one over the other: those traces
// (and their colorbars) in a plot underneath, redrawn only when they or the axes change, and every
// other trace, the shapes, legend, title and tick labels in a transparent plot on top, the one a
// control redraws. plotly recomputes every trace of a plot on any data change, and the contour
// (marching squares, smoothing, colorbar) was half of each redraw of a landscape.

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
const isBase = (t) => !!t && (t.type === "contour" || t.type === "heatmap") && t.visible !== false;

// The two-plot drawing (see the top of this file). `draw(data, layout, fresh)` draws the figure;
// without contour/heatmap traces it is one Plotly.react of `plot`. With them, `plot` gets the same
// traces with those hidden (trace indexes stay those of the figure) on a transparent background,
// and a plot underneath gets only them; both with the margins plotly computed for the whole figure
// (measured by one full draw of `plot` when `fresh`), so their plot areas coincide.
function makeLayers(Plotly, stack, plot, config, enabled = true) {
  let under = null, margin = null, baseKey = null;
  const hidden = new WeakMap(); // a base trace -> its hidden copy (the same object while it lasts)
  const hide = (t) => {
    if (!hidden.has(t)) hidden.set(t, { ...t, visible: false });
    return hidden.get(t);
  };
  const axes = (layout, f) =>
    Object.fromEntries(Object.keys(layout).filter((k) => AXIS.test(k)).map((k) => [k, f(layout[k] || {})]));
  const CLEAR = "rgba(0,0,0,0)";

  // the student zoomed or panned the top plot: the plot underneath follows its axis ranges
  function followRanges() {
    if (!under || !under._fullLayout || !plot._fullLayout) return;
    const upd = {};
    for (const [k, a] of Object.entries(plot._fullLayout)) {
      const b = under._fullLayout[k];
      if (!AXIS.test(k) || !a || !b || !Array.isArray(a.range) || !Array.isArray(b.range)) continue;
      if (a.range[0] !== b.range[0] || a.range[1] !== b.range[1]) upd[`${k}.range`] = [...a.range];
    }
    if (Object.keys(upd).length) Plotly.relayout(under, upd);
  }
  plot.on("plotly_relayout", followRanges);

  async function draw(data, layout, fresh) {
    const base = enabled ? data.filter(isBase) : [];
    if (!base.length) {
      if (under) purge();
      return Plotly.react(plot, data, layout, config);
    }
    if (fresh || !margin) {
      await Plotly.react(plot, data, layout, config); // the whole figure once: its margins
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
    const key = [...base, ...Object.values(axes(layout, (a) => a)), layout.width, layout.height,
      layout.template, margin];
    if (!baseKey || key.length !== baseKey.length || key.some((k, n) => k !== baseKey[n])) {
      baseKey = key;
      const hideLabels = (a) => ({ ...a, showticklabels: false, title: { text: "" } });
      await Plotly.react(
        under,
        base,
        { ...layout, margin, shapes: [], annotations: [], images: [], showlegend: false,
          title: { text: "" }, ...axes(layout, hideLabels) },
        { ...config, staticPlot: true },
      );
    }
    const noGrid = (a) => ({ ...a, showgrid: false, zeroline: false });
    await Plotly.react(
      plot,
      data.map((t) => (isBase(t) ? hide(t) : t)),
      { ...layout, margin, paper_bgcolor: CLEAR, plot_bgcolor: CLEAR, ...axes(layout, noGrid) },
      config,
    );
    followRanges();
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
  let data = decoded(fig.data);
  let layout = decoded(fig.layout);
  await Plotly.newPlot(plot, data, layout, config);
  const layers = makeLayers(Plotly, stack, plot, config, model.get("layered"));
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
      data = decoded(update.figure.data);
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
