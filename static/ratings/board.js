// The cell table: sort by any column (click its heading; again to reverse), and hide retired
// models unless the reader asks for them. Retired rows stay in the page (and in their rank
// ranges): without JavaScript they are simply shown. Re-applied when live.js swaps in a newer
// snapshot.
(function () {
  "use strict";

  function value(row, index, kind) {
    const raw = row.cells[index] ? row.cells[index].dataset.value : undefined;
    if (kind === "text") return (raw || "").toLocaleLowerCase();
    const number = parseFloat(raw);
    return Number.isNaN(number) ? null : number;
  }

  function sortBy(table, heading) {
    const index = Array.prototype.indexOf.call(heading.parentNode.children, heading);
    const kind = heading.dataset.sort;
    const ascending = heading.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th[aria-sort]").forEach((th) => th.removeAttribute("aria-sort"));
    heading.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    const body = table.tBodies[0];
    const rows = Array.from(body.rows);
    rows.sort((a, b) => {
      const x = value(a, index, kind), y = value(b, index, kind);
      if (x === null || x === "") return y === null || y === "" ? 0 : 1;  // blanks last
      if (y === null || y === "") return -1;
      const order = kind === "text" ? x.localeCompare(y) : x - y;
      return ascending ? order : -order;
    });
    rows.forEach((row) => body.appendChild(row));
  }

  function setUp() {
    document.querySelectorAll("table.sortable").forEach((table) => {
      table.querySelectorAll("th[data-sort]").forEach((heading) => {
        heading.tabIndex = 0;
        heading.addEventListener("click", () => sortBy(table, heading));
        heading.addEventListener("keydown", (event) => {
          if (event.key === "Enter" || event.key === " ") {
            event.preventDefault();
            sortBy(table, heading);
          }
        });
      });
    });
    const toggle = document.querySelector("[data-toggle-retired]");
    const table = document.querySelector("table.board");
    if (toggle && table) {
      const apply = () => table.classList.toggle("hide-retired", !toggle.checked);
      toggle.addEventListener("change", apply);
      apply();
    }
  }

  setUp();
  document.addEventListener("leaderboard:updated", setUp);
})();
