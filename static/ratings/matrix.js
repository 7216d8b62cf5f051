// Win-rate and battle-count matrices of one domain (and price tier), drawn as SVG heatmaps from
// the same JSON the API serves (/api/v1/matrix). Rows and columns are the leaderboard's models in
// its order; every cell's <title> carries its counts (hover, screen readers), and the page also
// has the numbers as a table.
(function () {
  "use strict";
  const { el, fill, measure, fit, percent } = window.ArenaSvg;
  const boxes = document.querySelectorAll("figure.heatmap[data-api]");
  if (!boxes.length) return;
  const loads = {};

  function load(url) {  // both figures show the same JSON: fetch it once
    if (!loads[url]) {
      loads[url] = fetch(url, { credentials: "same-origin" }).then((r) => (r.ok ? r.json() : null));
    }
    return loads[url];
  }

  // Diverging: blue where the row model mostly lost, white at even, orange where it mostly won.
  function rateColour(rate) {
    const t = Math.max(-1, Math.min(1, (rate - 0.5) * 2));
    return `hsl(${t < 0 ? 215 : 28}, 80%, ${Math.round(97 - 45 * Math.abs(t))}%)`;
  }

  // Sequential on a log scale, so pairs with a handful of battles still show.
  function countColour(n, max) {
    const t = max > 0 ? Math.log1p(n) / Math.log1p(max) : 0;
    return `hsl(170, 55%, ${Math.round(95 - 60 * t)}%)`;
  }

  function draw(box, data) {
    box.textContent = "";
    const models = data.models;
    const n = models.length;
    if (n < 2) { box.hidden = true; return; }
    const kind = box.dataset.kind;
    const FONT = 12, MAX_LABEL = 240;
    const cell = n > 30 ? 15 : n > 12 ? 24 : 40;
    const names = models.map((m) => m.display_name);
    const shown = measure(box, names, "tick").map((w, i) => fit(names[i], w, MAX_LABEL));
    const label = Math.max(...measure(box, shown, "tick")) + 10;
    const top = label, left = label, size = n * cell;
    const legendH = 46;
    const W = left + size + 12, H = top + size + legendH;
    const maxBattles = Math.max(0, ...data.battles.flat());
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": box.dataset.title });
    svg.style.maxWidth = W + "px";
    svg.append(el("title", {}, box.dataset.title));
    const modelUrl = (slug) => box.dataset.modelUrl.replace("__slug__", encodeURIComponent(slug));

    models.forEach((m, i) => {
      const y = top + i * cell + cell / 2 + FONT / 3;
      const row = el("a", { href: modelUrl(m.model) });
      row.append(el("title", {}, m.display_name));
      row.append(el("text", { x: left - 6, y: y, class: "tick", "text-anchor": "end" }, shown[i]));
      svg.append(row);
      const x = left + i * cell + cell / 2 + FONT / 3;
      const column = el("a", { href: modelUrl(m.model) });
      column.append(el("title", {}, m.display_name));
      column.append(el("text", { x: x, y: top - 6, class: "tick", transform: `rotate(-90 ${x} ${top - 6})` },
        shown[i]));
      svg.append(column);
    });

    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        const x = left + j * cell, y = top + i * cell;
        if (i === j) {
          svg.append(el("rect", { x: x, y: y, width: cell, height: cell, class: "diag" }));
          continue;
        }
        const battles = data.battles[i][j];
        const rate = data.win_rate[i][j];
        const pair = { row: names[i], column: names[j] };
        const g = el("g", { class: battles ? "cell" : "cell never" });
        g.append(el("title", {}, battles
          ? fill(box.dataset.cell, { ...pair, wins: data.wins[i][j], losses: data.wins[j][i],
                                     ties: data.ties[i][j], both_bad: data.both_bad[i][j],
                                     battles: battles, rate: percent(rate) })
          : fill(box.dataset.never, pair)));
        const colour = !battles ? null : kind === "battles" ? countColour(battles, maxBattles) : rateColour(rate);
        g.append(el("rect", { x: x, y: y, width: cell, height: cell, fill: colour || "#e8ebef" }));
        if (battles && cell >= 22) {
          const value = kind === "battles" ? String(battles) : percent(rate);
          g.append(el("text", { x: x + cell / 2, y: y + cell / 2 + 3.5, class: cell < 30 ? "value small" : "value",
            "text-anchor": "middle" }, value));
        }
        svg.append(g);
      }
    }
    svg.append(el("rect", { x: left, y: top, width: size, height: size, class: "frame" }));

    // Legend: five swatches along the colour scale.
    const ly = top + size + 14;
    svg.append(el("text", { x: left, y: ly + 10, class: "axis" }, box.dataset.legend));
    const stops = kind === "battles"
      ? [0, 0.25, 0.5, 0.75, 1].map((t) => Math.round(Math.expm1(t * Math.log1p(maxBattles))))
      : [0, 0.25, 0.5, 0.75, 1];
    const lx = left + measure(box, [box.dataset.legend], "axis")[0] + 16;
    stops.forEach((s, k) => {
      const fillColour = kind === "battles" ? countColour(s, maxBattles) : rateColour(s);
      svg.append(el("rect", { x: lx + k * 58, y: ly, width: 20, height: 12, fill: fillColour, class: "swatch" }));
      svg.append(el("text", { x: lx + k * 58 + 24, y: ly + 10, class: "tick" }, kind === "battles" ? s : percent(s)));
    });
    box.append(svg);
  }

  boxes.forEach(async (box) => {
    const data = await load(box.dataset.api);
    if (data) draw(box, data);
  });
})();
