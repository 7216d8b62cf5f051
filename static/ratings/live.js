// Keep a leaderboard page showing the newest snapshot without a reload: a websocket tells us
// when a snapshot is published; if it cannot connect, we poll the snapshot API instead.
// Pages pinned to a snapshot (?snapshot=) never change.
(function () {
  "use strict";
  const root = document.querySelector("[data-live-snapshot]");
  if (!root || new URLSearchParams(window.location.search).has("snapshot")) return;
  let current = parseInt(root.dataset.liveSnapshot || "0", 10);
  const POLL_MS = 30000;
  let polling = null;

  async function refresh(id) {
    if (!id || id === current) return;
    const response = await fetch(window.location.href, { credentials: "same-origin" });
    if (!response.ok) return;
    const doc = new DOMParser().parseFromString(await response.text(), "text/html");
    const fresh = doc.querySelector("[data-live-snapshot]");
    if (!fresh) return;
    root.innerHTML = fresh.innerHTML;  // our own server-rendered page, not model output
    root.dataset.liveSnapshot = fresh.dataset.liveSnapshot;
    current = parseInt(fresh.dataset.liveSnapshot || "0", 10);
    // Let the table's sorting and the charts bind to (and draw into) the new content.
    document.dispatchEvent(new CustomEvent("leaderboard:updated"));
    root.classList.add("updated");
    setTimeout(() => root.classList.remove("updated"), 2000);
  }

  function poll() {
    if (polling) return;
    polling = setInterval(async () => {
      const response = await fetch("/api/v1/snapshots", { credentials: "same-origin" });
      if (!response.ok) return;
      const data = await response.json();
      if (data.snapshots.length) refresh(data.snapshots[0].id);
    }, POLL_MS);
  }

  try {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + "/ws/leaderboard/");
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "snapshot") refresh(frame.id);
    };
    socket.onclose = poll;
    socket.onerror = poll;
  } catch (e) {
    poll();
  }
  // Embedded mode's worker cannot reach this process's channel layer: polling covers it.
  poll();
})();
