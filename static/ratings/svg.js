// Small helpers shared by the leaderboard's charts (pareto.js, matrix.js, model.js), which draw
// SVG by hand from the API's JSON: no chart library, nothing from a CDN.
(function () {
  "use strict";
  const NS = "http://www.w3.org/2000/svg";

  function el(name, attrs, text) {
    const node = document.createElementNS(NS, name);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // Fill a translated template such as "{wins} wins" (kept in the page's data attributes).
  function fill(template, values) {
    return template.replace(/\{(\w+)\}/g, (whole, key) => (key in values ? values[key] : whole));
  }

  // Lay labels out by their real width in the page's font: draw them once, hidden, and measure.
  function measure(box, texts, cls) {
    const probe = el("svg", { width: 0, height: 0, style: "position:absolute;visibility:hidden" });
    box.append(probe);
    const widths = texts.map((t) => {
      const node = el("text", { class: cls }, t);
      probe.append(node);
      return node.getComputedTextLength();
    });
    probe.remove();
    return widths;
  }

  // A label no wider than `max`: long names are cut with an ellipsis (the full name is in the title).
  function fit(text, width, max) {
    if (width <= max) return text;
    return text.slice(0, Math.max(4, Math.floor(text.length * max / width) - 1)) + "…";
  }

  const percent = (rate) => Math.round(rate * 100) + "%";

  window.ArenaSvg = { el, fill, measure, fit, percent };
})();
