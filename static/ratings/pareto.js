// Quality vs price for the shown domain, drawn as SVG from the same JSON the API serves:
// each model's rating with its 95% interval against its blended list price (log scale), and the
// Pareto frontier (no other model is both cheaper and better rated).
(function () {
  "use strict";
  const { el } = window.ArenaSvg;
  const W = 960, H = 420, M = { left: 60, right: 20, top: 20, bottom: 48 };

  function frontier(points) {
    const sorted = points.slice().sort((a, b) => a.price - b.price || b.rating - a.rating);
    const front = [];
    let best = -Infinity;
    sorted.forEach((p) => { if (p.rating > best) { front.push(p); best = p.rating; } });
    return front;
  }

  async function draw() {
    // Looked up on every draw: live.js replaces the page's content when a snapshot appears.
    const box = document.getElementById("pareto");
    if (!box || box.querySelector("svg")) return;
    const response = await fetch(box.dataset.api, { credentials: "same-origin" });
    if (!response.ok) return;
    const data = await response.json();
    const points = data.entries
      .filter((e) => e.rating !== null && e.blended_price_per_mtok)
      .map((e) => ({ name: e.display_name, model: e.model, rating: e.rating, lower: e.rating_lower,
                     upper: e.rating_upper, price: e.blended_price_per_mtok }));
    box.textContent = "";
    if (points.length < 2) { box.hidden = true; return; }
    const lx = points.map((p) => Math.log10(p.price));
    const xmin = Math.min(...lx) - 0.1, xmax = Math.max(...lx) + 0.1;
    const ymin = Math.min(...points.map((p) => p.lower)) - 5;
    const ymax = Math.max(...points.map((p) => p.upper)) + 5;
    const x = (price) => M.left + (Math.log10(price) - xmin) / (xmax - xmin) * (W - M.left - M.right);
    const y = (r) => H - M.bottom - (r - ymin) / (ymax - ymin) * (H - M.top - M.bottom);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": box.dataset.title });
    svg.append(el("title", {}, box.dataset.title));
    for (let e = Math.ceil(xmin); e <= Math.floor(xmax); e++) {
      [1, 2, 5].forEach((m) => {
        const price = m * Math.pow(10, e);
        if (Math.log10(price) < xmin || Math.log10(price) > xmax) return;
        svg.append(el("line", { x1: x(price), x2: x(price), y1: M.top, y2: H - M.bottom, class: "grid" }));
        svg.append(el("text", { x: x(price), y: H - M.bottom + 16, class: "tick", "text-anchor": "middle" },
          "$" + (price < 1 ? price.toFixed(price < 0.1 ? 2 : 1) : price)));
      });
    }
    const step = Math.max(10, Math.round((ymax - ymin) / 6 / 10) * 10);
    for (let r = Math.ceil(ymin / step) * step; r <= ymax; r += step) {
      svg.append(el("line", { x1: M.left, x2: W - M.right, y1: y(r), y2: y(r), class: "grid" }));
      svg.append(el("text", { x: M.left - 6, y: y(r) + 4, class: "tick", "text-anchor": "end" }, r));
    }
    svg.append(el("text", { x: (W + M.left) / 2, y: H - 8, class: "axis", "text-anchor": "middle" }, box.dataset.xlabel));
    svg.append(el("text", { x: 14, y: (H - M.bottom) / 2, class: "axis", "text-anchor": "middle",
      transform: `rotate(-90 14 ${(H - M.bottom) / 2})` }, box.dataset.ylabel));
    const front = frontier(points);
    svg.append(el("polyline", { points: front.map((p) => `${x(p.price)},${y(p.rating)}`).join(" "), class: "frontier" }));
    const onFront = new Set(front.map((p) => p.model));
    points.forEach((p) => {
      const g = el("g", { class: onFront.has(p.model) ? "point front" : "point" });
      g.append(el("title", {}, `${p.name}: ${p.rating.toFixed(1)} [${p.lower.toFixed(1)}, ${p.upper.toFixed(1)}], $${p.price}`));
      g.append(el("line", { x1: x(p.price), x2: x(p.price), y1: y(p.lower), y2: y(p.upper), class: "bar" }));
      g.append(el("circle", { cx: x(p.price), cy: y(p.rating), r: 4 }));
      if (onFront.has(p.model)) g.append(el("text", { x: x(p.price) + 6, y: y(p.rating) - 6, class: "label" }, p.name));
      svg.append(g);
    });
    box.append(svg);
  }
  draw();
  document.addEventListener("leaderboard:updated", draw);
})();
