// The graph explorer: pan and zoom, fold and unfold module boxes, search, details of every node,
// and the forward / backward / both views. Written for tinygrad_mnist; it reads the JSON that
// explorer.py embeds in the page and needs nothing else: no network, no library.
//
// Layout: Graphviz laid out every box on its own (the top level and each boxed module call, with
// the calls inside it as single nodes). Here those layouts are put together for what is unfolded:
// an unfolded module takes the size of its own layout, and the rows of the layout around it move
// apart to make room, so nothing overlaps and nothing needs laying out again.
"use strict";
// The data: JSON, or for a big graph gzipped JSON in base64, unpacked by the browser's own DecompressionStream.
async function readGraphData() {
  const element = document.getElementById("graph-data");
  if (element.type === "application/json") return JSON.parse(element.textContent);
  const bytes = Uint8Array.from(atob(element.textContent.trim()), (c) => c.charCodeAt(0));
  return new Response(new Blob([bytes]).stream().pipeThrough(new DecompressionStream("gzip"))).json();
}

readGraphData().then((data) => {
  const NS = "http://www.w3.org/2000/svg";
  const PAD = 10, HEADER = 22, LINE = 12, MARGIN = 24;
  const FILLS = data.fills;
  const KIND_NAMES = {
    op: "op", output: "output (the root)", parameter: "parameter", input: "input", constant: "constant",
    backward: "backward step", second_order: "second-order op", module: "folded module",
  };
  const VIEW_EDGES = data.viewEdges;
  const state = {
    view: data.view, open: new Set(data.open), query: "", selected: null, colour: data.hasGrad ? "grad" : "kind",
    t: { x: 0, y: 0, k: 1 }, placed: null,
  };
  const modules = data.modules;
  // The page's data comes compact (short keys, statistics as arrays); spell it out once here.
  const stats = (a) => a && { n: a[0], min: a[1], max: a[2], mean: a[3], std: a[4], norm: a[5], nonfinite: a[6],
    hist: a.slice(7) };
  const labelPaths = new Map();
  function labelPath(module) {
    if (module === null || module === undefined) return [];
    if (!labelPaths.has(module)) labelPaths.set(module, labelPath(modules[module].parent).concat([modules[module].label]));
    return labelPaths.get(module);
  }
  for (const module of modules) [module.fill, module.font] = module.c || [];
  const compact = data.nodes;
  data.nodes = {};
  // Python's f"{norm:.2e}", as in the static picture.
  const exponent = (x) => (x === null ? "nan" : x.toExponential(2).replace(/e([+-])(\d)$/, "e$10$2"));
  for (const [id, n] of Object.entries(compact)) {
    const op = n.k === "backward" ? compact["op" + id.slice(1)] : n;  // a backward node shows its op's gradient
    const base = n.k === "backward" ? [n.n, `${fmtShape(op.s)} ${op.d}`] : n.l;
    const lines = base.concat(data.hasGrad && op.g ? [`|grad| ${exponent(op.g[5])}`] : [], op.f ? [op.f] : []);
    data.nodes[id] = {
      kind: n.k, name: n.n || "", lines, module: op.m ?? null, path: labelPath(op.m), shape: op.s, dtype: op.d,
      bytes: op.b, value: n.k === "backward" ? null : stats(op.v), grad: stats(op.g), flag: op.f || "",
      fill: (op.c || [])[0], font: (op.c || [])[1],
      saved: op.freed ? null : (op.sv || []).map(([what, source, shape, dtype, bytes]) => ({ what, source, shape, dtype, bytes })),
      key: n.key || id, change: n.change,
    };
  }
  const inView = {};
  for (const view of data.views) {
    inView[view] = new Set();
    for (const level of Object.values(data.layouts[view])) {
      for (const key of Object.keys(level.items)) if (key[0] !== "m") inView[view].add(key);
    }
  }

  // ----- the page ------------------------------------------------------------------------------

  function el(tag, attrs, children) {
    const node = tag === "svg" || tag.startsWith("svg:") ? document.createElementNS(NS, tag.replace("svg:", ""))
      : document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value; else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children || []) node.append(child);
    return node;
  }
  const svgEl = (tag, attrs, children) => el("svg:" + tag, attrs, children);

  const viewButtons = ["forward", "backward", "both"].map((view) => el("button", {
    "data-view": view, id: "view-" + view, text: view[0].toUpperCase() + view.slice(1),
    disabled: !data.views.includes(view),
    title: data.views.includes(view) ? null : "no op of this graph has a backward to show",
  }));
  const maxDepth = Math.max(0, ...modules.filter((m) => m.boxed).map((m) => m.depth));
  const depthSelect = el("select", { id: "depth", title: "unfold the module boxes down to this depth, fold the rest" },
    [el("option", { value: "", text: "—" }), el("option", { value: "all", text: "all" }),
      ...Array.from({ length: maxDepth + 1 }, (_, d) => el("option", { value: String(d), text: String(d) }))]);
  const search = el("input", { id: "search", type: "search", placeholder: "search op, module, parameter",
    autocomplete: "off" });
  const searchStatus = el("span", { id: "search-status" });
  const colourSelect = el("select", { id: "colour", title: "what the node colours show" }, [
    el("option", { value: "kind", text: "kind" }),
    data.hasGrad ? el("option", { value: "grad", text: "|grad|" }) : "",
    data.diff ? el("option", { value: "change", text: "change" }) : "",
  ]);
  const toolbar = el("div", { id: "toolbar" }, [
    el("span", { class: "group" }, [el("b", { text: "View" }), ...viewButtons]),
    el("label", { class: "group" }, ["Unfold depth", depthSelect]),
    el("span", { class: "group" }, [el("button", { id: "fit", text: "Fit" })]),
    el("span", { class: "group" }, [search, searchStatus]),
    el("label", { class: "group" }, ["Colour", colourSelect]),
  ]);
  const svg = svgEl("svg", { id: "canvas" });
  const defs = svgEl("defs");
  for (const [kind, colour] of [["data", "#444"], ["grad", "#7b52ab"], ["grad_of", "#2ca02c"], ["saved", "#9a9a9a"]]) {
    defs.append(svgEl("marker", { id: "arrow-" + kind, viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7,
      markerHeight: 7, orient: "auto-start-reverse" }, [svgEl("path", { d: "M0,0 L10,5 L0,10 z", fill: colour })]));
  }
  const scene = svgEl("g", { id: "scene" });
  svg.append(defs, scene);
  const legend = el("div", { id: "legend" });
  const details = el("div", { id: "details" });
  const panel = el("div", { id: "panel" }, [legend, details]);
  document.body.append(toolbar, el("div", { id: "main" }, [svg, panel]));
  colourSelect.value = data.diff ? "change" : state.colour;
  state.colour = colourSelect.value;

  // ----- layout --------------------------------------------------------------------------------

  function textWidth(text) { return 6.2 * text.length; }

  // The layout of one box with everything unfolded inside it laid out too: items with centres and sizes.
  function levelLayout(level) {
    const source = data.layouts[state.view][level];
    const items = [];
    for (const [key, [cx, cy, w, h]] of Object.entries(source.items)) {
      const item = { key, cx, cy, w, h, nw: w, nh: h, sub: null };
      if (key[0] === "m" && state.open.has(+key.slice(1)) && data.layouts[state.view][key.slice(1)]) {
        item.sub = levelLayout(key.slice(1));
        item.nw = Math.max(item.sub.w + 2 * PAD, textWidth(modules[+key.slice(1)].label) + 44);
        item.nh = item.sub.h + PAD + HEADER;
      }
      items.push(item);
    }
    const ranks = new Map();
    for (const item of items) {
      const rank = Math.round(item.cy * 2);
      if (!ranks.has(rank)) ranks.set(rank, []);
      ranks.get(rank).push(item);
    }
    let shift = 0;
    for (const rank of [...ranks.keys()].sort((a, b) => a - b)) {
      const row = ranks.get(rank).sort((a, b) => a.cx - b.cx);
      const extra = Math.max(0, Math.max(...row.map((i) => i.nh)) - Math.max(...row.map((i) => i.h)));
      for (const item of row) item.y = item.cy + shift + extra / 2;
      shift += extra;
      const oldMiddle = (row[0].cx - row[0].w / 2 + row[row.length - 1].cx + row[row.length - 1].w / 2) / 2;
      let right = 0;
      row.forEach((item, i) => {
        const left = i === 0 ? item.cx - item.w / 2
          : right + (item.cx - item.w / 2) - (row[i - 1].cx + row[i - 1].w / 2);
        item.x = left + item.nw / 2;
        right = left + item.nw;
      });
      const moved = oldMiddle - (row[0].x - row[0].nw / 2 + right) / 2;
      for (const item of row) item.x += moved;
    }
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (const i of items) {
      x0 = Math.min(x0, i.x - i.nw / 2); y0 = Math.min(y0, i.y - i.nh / 2);
      x1 = Math.max(x1, i.x + i.nw / 2); y1 = Math.max(y1, i.y + i.nh / 2);
    }
    for (const i of items) { i.x -= x0 - 4; i.y -= y0 - 4; }
    return { w: x1 - x0 + 8, h: y1 - y0 + 8, items };
  }

  // Absolute boxes: every drawn node and folded module by key, and every unfolded module's frame.
  function placeAll() {
    const top = levelLayout("top");
    const placed = { w: top.w, h: top.h, boxes: new Map(), clusters: [] };
    (function place(layout, ox, oy) {
      for (const item of layout.items) {
        const x = ox + item.x, y = oy + item.y;
        if (item.sub) {
          const frame = { k: +item.key.slice(1), x: x - item.nw / 2, y: y - item.nh / 2, w: item.nw, h: item.nh };
          placed.clusters.push(frame);
          place(item.sub, frame.x + (frame.w - item.sub.w) / 2, frame.y + HEADER);
        } else {
          placed.boxes.set(item.key, { x, y, w: item.nw, h: item.nh });
        }
      }
    })(top, 0, 0);
    return placed;
  }

  // The boxes around a module's nodes, outermost first (one-node modules are no box).
  const pathCache = new Map();
  function boxesOf(module) {
    if (module === null || module === undefined) return [];
    if (!pathCache.has(module)) {
      const path = boxesOf(modules[module].parent).slice();
      if (modules[module].boxed) path.push(module);
      pathCache.set(module, path);
    }
    return pathCache.get(module);
  }
  // What stands for a node on screen: itself, or the outermost folded module around it.
  function shownAs(id) {
    for (const k of boxesOf(data.nodes[id].module)) if (!state.open.has(k)) return "m" + k;
    return id;
  }

  // ----- drawing -------------------------------------------------------------------------------

  function fmt(value) {
    if (value === null || value === undefined) return "—";
    if (value === 0) return "0";
    const size = Math.abs(value);
    return size >= 1e4 || size < 1e-3 ? value.toExponential(2) : String(+value.toPrecision(4));
  }
  function fmtBytes(bytes) {
    const units = ["B", "KiB", "MiB", "GiB"];
    let i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return (i ? bytes.toFixed(1) : String(bytes)) + " " + units[i];
  }
  function fmtShape(shape) { return shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(", ")})`; }

  function shapeOf(kind, w, h) {
    if (kind === "parameter") {
      const ry = Math.min(7, h / 6);
      return svgEl("path", { class: "shape", d: `M0,${ry} A${w / 2},${ry} 0 0,1 ${w},${ry} V${h - ry} `
        + `A${w / 2},${ry} 0 0,1 0,${h - ry} Z` });
    }
    if (kind === "input" || kind === "constant") {
      return svgEl("polygon", { class: "shape", points: `0,0 ${w},0 ${w},${h * 0.7} ${w / 2},${h} 0,${h * 0.7}` });
    }
    if (kind === "output") {
      const c = Math.min(9, h / 4);
      return svgEl("polygon", { class: "shape", points:
        `${c},0 ${w - c},0 ${w},${c} ${w},${h - c} ${w - c},${h} ${c},${h} 0,${h - c} 0,${c}` });
    }
    return svgEl("rect", { class: "shape", width: w, height: h, rx: kind === "module" ? 2 : 7 });
  }

  function textLines(lines, w, h, colour) {
    const top = h / 2 - ((lines.length - 1) * LINE) / 2 + 3.5;
    return lines.map((line, i) => svgEl("text", { x: w / 2, y: top + i * LINE, "text-anchor": "middle",
      fill: colour || "#111", text: line }));
  }

  function fillOf(entry, kind) {
    if (state.colour === "grad" && entry.fill) return [entry.fill, entry.font];
    if (state.colour === "change" && entry.change) return [entry.change.fill, entry.change.font];
    return [FILLS[kind], null];
  }

  function drawNode(id, box) {
    const node = data.nodes[id];
    const [fill, font] = fillOf(node, node.kind);
    const classes = ["node", "kind-" + node.kind];
    if (state.colour === "grad" && node.flag) classes.push("flag-" + node.flag);
    if (node.change) classes.push("diff-" + node.change.status);
    const shape = shapeOf(node.kind, box.w, box.h);
    shape.setAttribute("fill", fill);
    const group = svgEl("g", { class: classes.join(" "), "data-id": id,
      transform: `translate(${box.x - box.w / 2},${box.y - box.h / 2})` }, [shape]);
    if (node.kind === "parameter") {
      const ry = Math.min(7, box.h / 6);
      group.append(svgEl("path", { class: "shape", fill: "none", d: `M0,${ry} A${box.w / 2},${ry} 0 0,0 ${box.w},${ry}` }));
    }
    if (node.kind === "output") {
      const c = Math.min(9, box.h / 4) - 1.5, w = box.w - 4, h = box.h - 4;
      group.append(svgEl("polygon", { class: "shape", fill: "none", transform: "translate(2,2)", points:
        `${c},0 ${w - c},0 ${w},${c} ${w},${h - c} ${w - c},${h} ${c},${h} 0,${h - c} 0,${c}` }));
    }
    group.append(svgEl("title", { text: node.lines.join("\n") }), ...textLines(node.lines, box.w, box.h, font));
    return group;
  }

  function toggle(k, x, y, open) {
    return svgEl("g", { class: "toggle", "data-module": k, transform: `translate(${x},${y})` }, [
      svgEl("title", { text: open ? "fold this module into one node" : "unfold this module" }),
      svgEl("rect", { width: 14, height: 14, rx: 3 }),
      svgEl("text", { x: 7, y: 11, "text-anchor": "middle", text: open ? "−" : "+" }),
    ]);
  }

  function drawFolded(k, box) {
    const module = modules[k];
    const [fill, font] = fillOf(module, "module");
    const classes = ["folded"];
    if (module.change) classes.push("diff-" + module.change.status);
    const back = shapeOf("module", box.w, box.h);
    back.setAttribute("fill", "#e8e8e8");
    back.setAttribute("transform", "translate(4,-4)");
    const front = shapeOf("module", box.w, box.h);
    front.setAttribute("fill", fill);
    return svgEl("g", { class: classes.join(" "), "data-module": k,
      transform: `translate(${box.x - box.w / 2},${box.y - box.h / 2})` }, [
      back, front, svgEl("title", { text: module.label + " (double-click to unfold)" }),
      ...textLines(module.lines, box.w, box.h, font), toggle(k, box.w - 10, -10, false),
    ]);
  }

  function drawCluster(frame) {
    const module = modules[frame.k];
    const classes = ["cluster"];
    if (module.change) classes.push("diff-" + module.change.status);
    return svgEl("g", { class: classes.join(" "), "data-module": frame.k }, [
      svgEl("rect", { class: "box", x: frame.x, y: frame.y, width: frame.w, height: frame.h, rx: 6 }),
      svgEl("g", { class: "header", "data-module": frame.k }, [
        svgEl("rect", { x: frame.x, y: frame.y, width: frame.w - 20, height: HEADER - 4, fill: "transparent" }),
        svgEl("text", { x: frame.x + 8, y: frame.y + 14, fill: "#333", text: module.label }),
      ]),
      toggle(frame.k, frame.x + frame.w - 18, frame.y + 4, true),
    ]);
  }

  function edgePath(a, b) {
    let sx, sy, ex, ey, vertical = true;
    if (b.y - b.h / 2 >= a.y + a.h / 2 - 1) { sx = a.x; sy = a.y + a.h / 2; ex = b.x; ey = b.y - b.h / 2; }
    else if (a.y - a.h / 2 >= b.y + b.h / 2 - 1) { sx = a.x; sy = a.y - a.h / 2; ex = b.x; ey = b.y + b.h / 2; }
    else {
      vertical = false;
      const right = b.x > a.x;
      sx = a.x + (right ? a.w / 2 : -a.w / 2); sy = a.y; ex = b.x + (right ? -b.w / 2 : b.w / 2); ey = b.y;
    }
    const bend = vertical ? (ey - sy) / 2 : (ex - sx) / 2;
    const c = vertical ? `${sx},${sy + bend} ${ex},${ey - bend}` : `${sx + bend},${sy} ${ex - bend},${ey}`;
    return `M${sx.toFixed(1)},${sy.toFixed(1)} C${c} ${ex.toFixed(1)},${ey.toFixed(1)}`;
  }

  function shownEdges() {
    const kinds = VIEW_EDGES[state.view], shown = inView[state.view], seen = new Set(), edges = [];
    for (const [tail, head, kind, bytes] of data.edges) {
      if (!kinds.includes(kind) || !shown.has(tail) || !shown.has(head)) continue;
      const a = shownAs(tail), b = shownAs(head);
      const key = a + ">" + b + ">" + kind;
      if (a === b || seen.has(key)) continue;
      seen.add(key);
      edges.push({ a, b, kind, bytes, tail, head });
    }
    return edges;
  }

  function render() {
    const placed = placeAll();
    state.placed = placed;
    const clusters = svgEl("g", { class: "clusters" }), edges = svgEl("g", { class: "edges" });
    const nodes = svgEl("g", { class: "nodes" });
    for (const frame of placed.clusters) clusters.append(drawCluster(frame));
    for (const edge of shownEdges()) {
      const a = placed.boxes.get(edge.a), b = placed.boxes.get(edge.b);
      if (!a || !b) continue;
      const title = edge.kind === "saved" ? `saved for backward: ${fmtBytes(edge.bytes)}` : edge.kind;
      edges.append(svgEl("path", { class: "edge " + edge.kind, d: edgePath(a, b), "marker-end": `url(#arrow-${edge.kind})`,
        "data-tail": edge.tail, "data-head": edge.head }, [svgEl("title", { text: title })]));
    }
    state.drawn = new Map();  // what is on screen, by node id or m<k>: no selector search per node
    for (const [key, box] of placed.boxes) {
      const element = key[0] === "m" ? drawFolded(+key.slice(1), box) : drawNode(key, box);
      state.drawn.set(key, element);
      nodes.append(element);
    }
    scene.replaceChildren(clusters, edges, nodes);
    for (const button of viewButtons) button.classList.toggle("active", button.dataset.view === state.view);
    highlight();
    showDetails();
  }

  // ----- pan and zoom --------------------------------------------------------------------------

  function applyTransform() {
    scene.setAttribute("transform", `translate(${state.t.x},${state.t.y}) scale(${state.t.k})`);
  }
  // Show the whole graph; or, with readable, no smaller than text can be read, from the top.
  function fit(readable) {
    const width = svg.clientWidth || 800, height = svg.clientHeight || 600;
    const across = (width - 2 * MARGIN) / state.placed.w;
    let k = Math.min(across, (height - 2 * MARGIN) / state.placed.h, 1.5);
    if (readable === true) k = Math.max(k, Math.min(0.8, across));
    state.t = { k, x: (width - state.placed.w * k) / 2, y: Math.max(MARGIN, (height - state.placed.h * k) / 2) };
    applyTransform();
  }
  function centreOn(box) {
    const width = svg.clientWidth || 800, height = svg.clientHeight || 600;
    state.t.k = Math.max(state.t.k, 0.6);
    state.t.x = width / 2 - box.x * state.t.k;
    state.t.y = height / 2 - box.y * state.t.k;
    applyTransform();
  }
  svg.addEventListener("wheel", (event) => {
    event.preventDefault();
    const rect = svg.getBoundingClientRect(), mx = event.clientX - rect.left, my = event.clientY - rect.top;
    const k = Math.min(8, Math.max(0.02, state.t.k * Math.exp(-event.deltaY * 0.0015)));
    state.t.x = mx - ((mx - state.t.x) * k) / state.t.k;
    state.t.y = my - ((my - state.t.y) * k) / state.t.k;
    state.t.k = k;
    applyTransform();
  }, { passive: false });
  let drag = null;
  svg.addEventListener("pointerdown", (event) => {
    drag = { x: event.clientX, y: event.clientY, tx: state.t.x, ty: state.t.y, moved: false };
  });
  window.addEventListener("pointermove", (event) => {
    if (!drag) return;
    const dx = event.clientX - drag.x, dy = event.clientY - drag.y;
    if (!drag.moved && Math.hypot(dx, dy) < 4) return;
    drag.moved = true;
    svg.classList.add("panning");
    state.t.x = drag.tx + dx; state.t.y = drag.ty + dy;
    applyTransform();
  });
  window.addEventListener("pointerup", () => {
    svg.classList.remove("panning");
    if (drag && drag.moved) setTimeout(() => { drag = null; }, 0); else drag = null;
  });

  // ----- folding -------------------------------------------------------------------------------

  // Unfold or fold module k, keeping it where it is on screen.
  function setOpen(k, open) {
    const before = anchor("m" + k, k);
    if (open) state.open.add(k); else state.open.delete(k);
    depthSelect.value = "";
    render();
    const after = anchor("m" + k, k);
    if (before && after) {
      state.t.x += (before.x - after.x) * state.t.k;
      state.t.y += (before.y - after.y) * state.t.k;
      applyTransform();
    }
  }
  function anchor(key, k) {
    const box = state.placed.boxes.get(key);
    if (box) return { x: box.x - box.w / 2, y: box.y - box.h / 2 };
    const frame = state.placed.clusters.find((f) => f.k === k);
    return frame ? { x: frame.x, y: frame.y } : null;
  }
  function unfoldTo(depth) {
    state.open = new Set(modules.map((m, k) => (m.boxed && (depth === "all" || m.depth <= +depth) ? k : -1))
      .filter((k) => k >= 0));
    render();
    fit(true);
  }

  // ----- search --------------------------------------------------------------------------------

  const searchTexts = new Map();
  function searchText(id) {
    if (!searchTexts.has(id)) {
      const node = data.nodes[id];
      searchTexts.set(id, [node.name, node.kind, node.key, ...node.path, ...node.lines].join(" ").toLowerCase());
    }
    return searchTexts.get(id);
  }
  function matches() {
    const query = state.query.trim().toLowerCase();
    if (!query) return [];
    return [...inView[state.view]].filter((id) => searchText(id).includes(query));
  }
  function highlight() {
    for (const element of scene.querySelectorAll(".match, .match-inside")) {
      element.classList.remove("match", "match-inside");
    }
    for (const badge of scene.querySelectorAll(".badge")) badge.remove();
    const found = matches();
    const inside = new Map();
    for (const id of found) {
      const shown = shownAs(id);
      if (shown === id) state.drawn.get(id)?.classList.add("match");
      else inside.set(shown, (inside.get(shown) || 0) + 1);
    }
    for (const [key, count] of inside) {
      const folded = state.drawn.get(key);
      if (!folded) continue;
      folded.classList.add("match-inside");
      folded.append(svgEl("g", { class: "badge", transform: "translate(-6,-6)" }, [
        svgEl("circle", { r: 8 }), svgEl("text", { y: 3, "text-anchor": "middle", text: String(count) })]));
    }
    const hidden = [...inside.values()].reduce((a, b) => a + b, 0);
    searchStatus.textContent = !state.query.trim() ? "" : `${found.length} match${found.length === 1 ? "" : "es"}`
      + (hidden ? `, ${hidden} in folded modules (Enter unfolds)` : "");
  }
  function revealMatches() {
    const found = matches();
    for (const id of found) for (const k of boxesOf(data.nodes[id].module)) state.open.add(k);
    render();
    const first = found.length ? state.placed.boxes.get(found[0]) : null;
    if (first) centreOn(first);
  }

  // ----- details -------------------------------------------------------------------------------

  function escapeHtml(text) {
    return String(text).replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]);
  }
  function row(name, value) { return `<tr><td>${escapeHtml(name)}</td><td>${value}</td></tr>`; }
  function link(id) {
    const node = data.nodes[id];
    return `<a href="#" data-goto="${id}">${escapeHtml(node.lines[0])}</a> <span class="mono">${escapeHtml(id)}</span>`;
  }
  function histogram(stats) {
    const width = 300, height = 48, bars = stats.hist, top = Math.max(1, ...bars), step = width / bars.length;
    const rects = bars.map((count, i) => `<rect x="${(i * step).toFixed(1)}" y="${(height - (count / top) * height).toFixed(1)}" `
      + `width="${(step - 1).toFixed(1)}" height="${((count / top) * height).toFixed(1)}" fill="#3b528b"><title>${count}</title></rect>`);
    return `<svg class="histogram" width="${width}" height="${height + 14}" viewBox="0 0 ${width} ${height + 14}">`
      + `${rects.join("")}<text x="0" y="${height + 12}" font-size="10">${fmt(stats.min)}</text>`
      + `<text x="${width}" y="${height + 12}" font-size="10" text-anchor="end">${fmt(stats.max)}</text></svg>`;
  }
  function statsTable(title, stats, extra) {
    if (!stats) return "";
    return `<h3>${title}</h3><table>${row("min / max", `${fmt(stats.min)} / ${fmt(stats.max)}`)}`
      + row("mean ± std", `${fmt(stats.mean)} ± ${fmt(stats.std)}`) + row("L2 norm", fmt(stats.norm))
      + (stats.nonfinite ? row("nan or inf", String(stats.nonfinite)) : "") + (extra || "")
      + `</table>${histogram(stats)}`;
  }
  function savedTable(saved) {
    if (saved === null) return `<h3>Saved for backward</h3><p class="note">freed by an earlier backward()</p>`;
    if (!saved.length) return "";
    const rows = saved.map((s) => row(s.what, `${fmtShape(s.shape)} ${s.dtype}, ${fmtBytes(s.bytes)}`
      + (s.source && data.nodes[s.source] ? `<br>from ${link(s.source)}` : "")));
    const total = saved.reduce((sum, s) => sum + s.bytes, 0);
    return `<h3>Saved for backward: ${fmtBytes(total)}</h3><table>${rows.join("")}</table>`;
  }
  function nodeDetails(id) {
    const node = data.nodes[id];
    const inputs = data.edges.filter((e) => e[1] === id && e[2] === "data").map((e) => e[0]);
    const users = data.edges.filter((e) => e[0] === id && e[2] === "data").map((e) => e[1]);
    const shapeText = (other) => `${fmtShape(data.nodes[other].shape)} ${data.nodes[other].dtype}`;
    let html = `<h2>${escapeHtml(node.lines[0])}</h2><table>`
      + row("kind", KIND_NAMES[node.kind]) + row("id", `<span class="mono">${id}</span>`)
      + (node.name ? row(node.kind === "op" || node.kind === "output" || node.kind === "backward"
        || node.kind === "second_order" ? "op" : "name", escapeHtml(node.name)) : "")
      + row("module", node.path.length ? escapeHtml(node.path.join(" › ")) : "—")
      + row(node.kind === "backward" ? "gradient" : "output", `<span id="detail-shape">${fmtShape(node.shape)}</span> `
        + `<span id="detail-dtype">${node.dtype}</span>, ${fmtBytes(node.bytes)}`)
      + "</table>";
    if (inputs.length) {
      html += `<h3>Inputs</h3><table>${inputs.map((p, i) => row(String(i), `${link(p)}<br>${shapeText(p)}`)).join("")}</table>`;
    }
    if (users.length) html += `<h3>Used by</h3><table>${users.map((u) => row("→", link(u))).join("")}</table>`;
    if (node.kind === "backward") {
      html += `<p class="note">the backward of ${link("op" + id.slice(1))}; it receives the gradient of that op's output `
        + "and sends one to each input that needs it.</p>";
    } else if (data.nodes["b" + id.slice(2)] && id.startsWith("op")) {
      html += `<p class="note">its backward: ${link("b" + id.slice(2))}</p>`;
    }
    html += statsTable("Value", node.value);
    const flag = node.flag ? row("alarm", `<b>${node.flag}</b>`) : "";
    html += statsTable(node.kind === "backward" ? "Gradient flowing through" : "Gradient", node.grad, flag);
    if (!node.value && node.kind !== "backward") {
      html += `<p class="note">value not kept: the graph holds no intermediate tensors, only what ops saved</p>`;
    }
    if (node.change) html += changeDetails(node.change);
    if (node.kind !== "backward") html += savedTable(node.saved);
    return html;
  }
  function moduleDetails(k) {
    const module = modules[k];
    const open = state.open.has(k);
    const output = data.nodes[module.output];
    let html = `<h2>${escapeHtml(module.label)}</h2><table>`
      + row("module", `<span class="mono">${escapeHtml(module.name)}</span>`) + row("depth", String(module.depth))
      + row("ops inside", String(module.ops))
      + row("parameters", `${module.params} tensors, ${module.paramValues.toLocaleString("en")} values, `
        + fmtBytes(module.paramBytes))
      + row("saved for backward", fmtBytes(module.savedBytes))
      + row("output", `${link(module.output)}<br><span id="detail-shape">${fmtShape(output.shape)}</span> ${output.dtype}`)
      + "</table>"
      + (module.boxed ? `<p><button data-fold="${k}">${open ? "Fold" : "Unfold"} this module</button></p>` : "");
    html += statsTable("Output gradient", output.grad);
    if (module.change) html += changeDetails(module.change);
    return html;
  }
  function changeDetails(change) {
    const rows = Object.entries(change.metrics || {}).map(([name, value]) => row(name, escapeHtml(value)));
    return `<h3>Change: ${escapeHtml(change.status)}</h3><table>${rows.join("")}</table>`;
  }
  function totalsDetails() {
    const t = data.totals;
    const onScreen = state.placed ? state.placed.boxes.size : 0;
    return `<h2>${escapeHtml(data.title)}</h2><table>`
      + row("ops", String(t.ops)) + row("backward steps", String(t.backward_ops))
      + (t.second_order_ops ? row("second-order ops", String(t.second_order_ops)) : "")
      + row("parameters", `${t.parameters} tensors, ${t.parameter_values.toLocaleString("en")} values, `
        + fmtBytes(t.parameter_bytes))
      + row("saved for backward", fmtBytes(t.saved_bytes))
      + row("in this view", `${inView[state.view].size} nodes, ${onScreen} on screen`)
      + row("backward", data.backwardRan ? "has run: gradients where kept" : "not run yet")
      + "</table><p class=\"note\">Click a node or a module's title for its details; the ± buttons fold and "
      + "unfold modules; drag to pan, scroll to zoom.</p>";
  }
  function showDetails() {
    const selected = state.selected;
    details.innerHTML = !selected ? totalsDetails() : selected.id ? nodeDetails(selected.id) : moduleDetails(selected.k);
    for (const element of scene.querySelectorAll(".selected")) element.classList.remove("selected");
    if (selected && selected.id) state.drawn.get(shownAs(selected.id))?.classList.add("selected");
    if (selected && selected.k !== undefined) {
      scene.querySelector(`.folded[data-module="${selected.k}"], .cluster[data-module="${selected.k}"]`)
        ?.classList.add("selected");
    }
  }
  details.addEventListener("click", (event) => {
    const target = event.target.closest("[data-goto], [data-fold]");
    if (!target) return;
    event.preventDefault();
    if (target.dataset.fold !== undefined) { setOpen(+target.dataset.fold, !state.open.has(+target.dataset.fold)); return; }
    const id = target.dataset.goto;
    if (!inView[state.view].has(id)) state.view = data.nodes[id].kind === "backward" ? "both" : "forward";
    for (const k of boxesOf(data.nodes[id].module)) state.open.add(k);
    state.selected = { id };
    render();
    centreOn(state.placed.boxes.get(id));
  });

  // ----- legend --------------------------------------------------------------------------------

  function drawLegend() {
    const kinds = ["op", "parameter", "input", "output", "module"].concat(data.views.length > 1
      ? ["backward", "second_order"] : []);
    let html = `<div class="legend-kinds">${kinds.map((kind) => `<span style="--swatch:${FILLS[kind]}">${KIND_NAMES[kind]}</span>`).join("")}</div>`;
    if (data.hasGrad) {
      const width = 300, stops = data.legend.stops.map((c, i, all) => `<stop offset="${i / (all.length - 1)}" stop-color="${c}"/>`);
      const ticks = data.legend.ticks.map(([p, label]) => `<line x1="${p * width}" x2="${p * width}" y1="22" y2="30" stroke="#333"/>`
        + `<text x="${Math.min(width - 24, Math.max(24, p * width))}" y="40" font-size="10" text-anchor="middle">${label}</text>`);
      const marks = data.legend.marks.filter(([p]) => p > 0 && p < 1).map(([p, label]) => `<path d="M${p * width - 4},4 L${p * width + 4},4 `
        + `L${p * width},10 z" fill="#d62728"/><text x="${Math.min(width - 30, Math.max(30, p * width))}" y="2" font-size="9" `
        + `text-anchor="middle">${label}</text>`);
      const [low, high] = data.legend.range;
      html += `<h3>|grad|, within this graph</h3><svg id="legend-bar" width="${width}" height="44" viewBox="0 -8 ${width} 52">`
        + `<defs><linearGradient id="palette">${stops.join("")}</linearGradient></defs>`
        + `<rect x="0" y="10" width="${width}" height="12" fill="url(#palette)" stroke="#555"/>${ticks.join("")}${marks.join("")}</svg>`
        + `<p class="note">Log scale over this graph's own norms, smallest to largest. Borders mark the absolute alarms: `
        + `<span style="color:#1f77b4">dashed blue below ${low.toExponential(0)}</span> (vanishing: ${data.legend.vanishing}), `
        + `<span style="color:#d62728">red above ${high.toExponential(0)}</span> (exploding: ${data.legend.exploding}); `
        + "grey: gradient not kept.</p>";
    }
    if (data.diff) html += `<h3>Change</h3><p class="note">${escapeHtml(data.diff.note)}</p>`;
    legend.innerHTML = html;
  }

  // ----- events --------------------------------------------------------------------------------

  svg.addEventListener("click", (event) => {
    if (drag && drag.moved) return;
    const toggleButton = event.target.closest(".toggle");
    if (toggleButton) { const k = +toggleButton.dataset.module; setOpen(k, !state.open.has(k)); return; }
    const node = event.target.closest(".node");
    const module = event.target.closest(".folded, .header");
    state.selected = node ? { id: node.dataset.id } : module ? { k: +module.dataset.module } : null;
    showDetails();
  });
  svg.addEventListener("dblclick", (event) => {
    const module = event.target.closest(".folded, .header");
    if (module) setOpen(+module.dataset.module, !state.open.has(+module.dataset.module));
  });
  for (const button of viewButtons) {
    button.addEventListener("click", () => {
      state.view = button.dataset.view;
      if (state.selected && state.selected.id && !inView[state.view].has(state.selected.id)) state.selected = null;
      render();
      fit(true);
    });
  }
  depthSelect.addEventListener("change", () => { if (depthSelect.value) unfoldTo(depthSelect.value); });
  document.getElementById("fit").addEventListener("click", () => fit(false));
  search.addEventListener("input", () => { state.query = search.value; highlight(); });
  search.addEventListener("keydown", (event) => { if (event.key === "Enter") revealMatches(); });
  colourSelect.addEventListener("change", () => { state.colour = colourSelect.value; render(); });
  window.addEventListener("resize", () => applyTransform());

  drawLegend();
  render();
  fit(true);
  document.body.dataset.ready = "true";
});
