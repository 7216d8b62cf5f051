// A model's page: its overall rating over the snapshots (with the 95% interval as a band) and
// its win rate against each opponent, drawn as SVG from the same JSON the API serves
// (/api/v1/models/<slug>?snapshot=). The tables on the page hold the same numbers.
(function () {
  "use strict";
  const { el, fill, measure, fit, percent } = window.ArenaSvg;
  const history = document.getElementById("rating-history");
  const versus = document.getElementById("head-to-head-chart");
  if (!history && !versus) return;

  function drawHistory(box, points) {
    box.textContent = "";
    // A point without its interval is drawn as a gap: the page never shows a rating without it.
    points = points.map((p) => (p.rating_lower === null || p.rating_upper === null ? { ...p, rating: null } : p));
    const rated = points.filter((p) => p.rating !== null);
    if (!rated.length) { box.hidden = true; return; }
    const W = 960, H = 320, M = { left: 60, right: 20, top: 16, bottom: 44 };
    const ymin = Math.min(...rated.map((p) => p.rating_lower)) - 5;
    const ymax = Math.max(...rated.map((p) => p.rating_upper)) + 5;
    const n = points.length;
    // Snapshots in order, evenly spaced: refits come in bursts, so a time axis would crowd them.
    const x = (i) => M.left + (n === 1 ? 0.5 : i / (n - 1)) * (W - M.left - M.right);
    const y = (r) => H - M.bottom - (r - ymin) / (ymax - ymin) * (H - M.top - M.bottom);
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": box.dataset.title });
    svg.append(el("title", {}, box.dataset.title));
    const step = Math.max(5, Math.round((ymax - ymin) / 5 / 5) * 5);
    for (let r = Math.ceil(ymin / step) * step; r <= ymax; r += step) {
      svg.append(el("line", { x1: M.left, x2: W - M.right, y1: y(r), y2: y(r), class: "grid" }));
      svg.append(el("text", { x: M.left - 6, y: y(r) + 4, class: "tick", "text-anchor": "end" }, r));
    }
    const every = Math.max(1, Math.ceil(n / 10));
    points.forEach((p, i) => {
      if (i % every && i !== n - 1) return;
      svg.append(el("text", { x: x(i), y: H - M.bottom + 16, class: "tick", "text-anchor": "middle" }, p.snapshot));
    });
    svg.append(el("text", { x: (W + M.left) / 2, y: H - 6, class: "axis", "text-anchor": "middle" }, box.dataset.xlabel));
    svg.append(el("text", { x: 14, y: (H - M.bottom) / 2, class: "axis", "text-anchor": "middle",
      transform: `rotate(-90 14 ${(H - M.bottom) / 2})` }, box.dataset.ylabel));
    // One band and one line per run of rated snapshots: an unrated snapshot leaves a gap.
    const runs = [];
    points.forEach((p, i) => {
      if (p.rating === null) { runs.push([]); return; }
      if (!runs.length) runs.push([]);
      runs[runs.length - 1].push([i, p]);
    });
    runs.filter((run) => run.length).forEach((run) => {
      const upper = run.map(([i, p]) => `${x(i)},${y(p.rating_upper)}`);
      const lower = run.slice().reverse().map(([i, p]) => `${x(i)},${y(p.rating_lower)}`);
      svg.append(el("polygon", { points: upper.concat(lower).join(" "), class: "band" }));
      svg.append(el("polyline", { points: run.map(([i, p]) => `${x(i)},${y(p.rating)}`).join(" "), class: "line" }));
    });
    points.forEach((p, i) => {
      if (p.rating === null) return;
      const g = el("g", { class: "history-point" });
      g.append(el("title", {}, fill(box.dataset.point, {
        snapshot: p.snapshot, date: p.created_at.slice(0, 16).replace("T", " "),
        rating: p.rating.toFixed(1), lower: p.rating_lower.toFixed(1), upper: p.rating_upper.toFixed(1),
        votes: p.votes })));
      g.append(el("circle", { cx: x(i), cy: y(p.rating), r: n > 60 ? 2 : 3.5, class: "dot" }));
      svg.append(g);
    });
    box.append(svg);
  }

  function drawVersus(box, records) {
    box.textContent = "";
    if (!records || !records.length) { box.hidden = true; return; }
    const ROW = 20, MAX_LABEL = 240;
    const names = records.map((r) => r.opponent_name);
    const shown = measure(box, names, "tick").map((w, i) => fit(names[i], w, MAX_LABEL));
    const label = Math.max(...measure(box, shown, "tick")) + 12;
    const counts = records.map((r) => `${percent(r.win_rate)} · ${r.wins}–${r.losses}–${r.ties + r.both_bad} (${r.battles})`);
    const right = Math.max(...measure(box, counts.concat([box.dataset.countsHead]), "tick")) + 16;
    const W = 960, M = { left: label, right: right, top: 36, bottom: 8 };
    const H = M.top + records.length * ROW + M.bottom;
    const width = W - M.left - M.right;
    const x = (rate) => M.left + rate * width;
    const svg = el("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": box.dataset.title });
    svg.append(el("title", {}, box.dataset.title));
    [0, 0.25, 0.5, 0.75, 1].forEach((t) => {
      svg.append(el("line", { x1: x(t), x2: x(t), y1: M.top - 4, y2: H - M.bottom, class: t === 0.5 ? "even" : "grid" }));
      svg.append(el("text", { x: x(t), y: M.top - 8, class: "tick", "text-anchor": "middle" }, percent(t)));
    });
    svg.append(el("text", { x: W - M.right + 8, y: 12, class: "tick" }, box.dataset.countsHead));
    records.forEach((r, k) => {
      const y = M.top + k * ROW;
      const g = el("g", { class: "versus" });
      g.append(el("title", {}, fill(box.dataset.bar, {
        opponent: r.opponent_name, wins: r.wins, losses: r.losses, ties: r.ties,
        both_bad: r.both_bad, battles: r.battles, rate: percent(r.win_rate) })));
      const link = el("a", { href: box.dataset.modelUrl.replace("__slug__", encodeURIComponent(r.opponent)) });
      link.append(el("text", { x: M.left - 6, y: y + ROW / 2 + 4, class: "tick", "text-anchor": "end" }, shown[k]));
      g.append(link);
      g.append(el("rect", { x: M.left, y: y + 3, width: Math.max(1, r.win_rate * width), height: ROW - 6,
        class: r.win_rate >= 0.5 ? "won" : "lost" }));
      g.append(el("text", { x: W - M.right + 8, y: y + ROW / 2 + 4, class: "tick" }, counts[k]));
      svg.append(g);
    });
    box.append(svg);
  }

  const url = (history || versus).dataset.api;
  fetch(url, { credentials: "same-origin" })
    .then((r) => (r.ok ? r.json() : null))
    .then((data) => {
      if (!data) return;
      if (history) drawHistory(history, data.history);
      if (versus) drawVersus(versus, data.head_to_head);
    });
})();
