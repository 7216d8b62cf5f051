// The battle page: open a battle over HTTP, stream both answers over a websocket, vote over HTTP.
// While streaming, model output is inserted as text only. When a side finishes, the server sends
// the answer rendered as HTML that it has already sanitised with an allow-list (arena/rendering.py);
// that HTML is the only markup from a model that reaches the page.
(function () {
  "use strict";
  const root = document.getElementById("battle");
  if (!root) return;
  const $ = (id) => document.getElementById(id);
  const form = $("prompt-form");
  const conversation = $("conversation");
  const turnsBox = $("turns");
  const turnTemplate = $("turn-template");
  const statusLine = $("status");
  const reveals = { a: $("reveal-a"), b: $("reveal-b") };
  const voteButtons = Array.from(document.querySelectorAll("#votes button"));
  const newBattle = $("new-battle");
  const stopButton = $("stop");
  const regenerateButton = $("regenerate");
  const followUp = $("follow-up");
  const maxTurns = parseInt(conversation.dataset.maxTurns || "1", 10);
  let battleUrl = root.dataset.battleId ? "/battles/" + root.dataset.battleId + "/" : null;
  let wsPath = root.dataset.ws || null;
  let live = conversation.dataset.live === "1";
  let socket = null;
  let turns = 0;
  let current = null; // { a: element, b: element } of the newest turn
  let votable = false;
  let voted = false;
  let answeredAt = null; // performance.now() when both answers were complete (a bot signal)

  function csrfToken() {
    const input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function setStatus(text, isError) {
    statusLine.textContent = text || "";
    statusLine.classList.toggle("error", Boolean(isError));
  }

  function setVoting(enabled) {
    voteButtons.forEach((b) => { b.disabled = !enabled; });
  }

  function showControls(streaming) {
    stopButton.hidden = !streaming;
    const canContinue = live && votable && !voted && !streaming;
    regenerateButton.hidden = !canContinue;
    followUp.hidden = !(canContinue && turns < maxTurns);
  }

  function addTurn(prompt) {
    if (current) {
      current.a.removeAttribute("data-testid");
      current.b.removeAttribute("data-testid");
    }
    const block = turnTemplate.content.firstElementChild.cloneNode(true);
    block.querySelector(".prompt-shown").textContent = prompt;
    const a = block.querySelector("[data-side=a]");
    const b = block.querySelector("[data-side=b]");
    a.dataset.testid = "answer-a";
    b.dataset.testid = "answer-b";
    turnsBox.append(block);
    current = { a: a, b: b };
    turns += 1;
  }

  function connect() {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + window.location.host + wsPath);
    let lastIndex = -1;
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "turn") {
        if (frame.index > lastIndex) {
          if (frame.index >= turns) addTurn(frame.prompt);
          else { current.a.textContent = ""; current.b.textContent = ""; }
          lastIndex = frame.index;
        }
        setStatus(statusLine.dataset.streaming);
        setVoting(false);
        showControls(true);
      } else if (frame.type === "delta") {
        current[frame.side].append(document.createTextNode(frame.text));
      } else if (frame.type === "side_done") {
        // Sanitised on the server with an allow-list; see the comment at the top.
        current[frame.side].innerHTML = frame.html;
        current[frame.side].classList.add("rendered");
      } else if (frame.type === "complete") {
        votable = frame.votable;
        answeredAt = performance.now();
        setVoting(votable && !voted);
        setStatus(frame.message, !frame.votable);
        if (!frame.votable) newBattle.hidden = false;
        showControls(false);
        socket.close();
      } else if (frame.type === "error") {
        setStatus(frame.message, true);
        showControls(false);
        newBattle.hidden = false;
      }
    };
    socket.onerror = () => setStatus(root.dataset.lost, true);
  }

  async function post(url, body) {
    const response = await fetch(url, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: body,
      credentials: "same-origin",
    });
    let data = {};
    try { data = await response.json(); } catch (e) { data = { error: response.statusText }; }
    return { ok: response.ok, status: response.status, data: data };
  }

  async function createBattle(body) {
    setStatus("");
    const result = await post(root.dataset.createUrl, body);
    if (!result.ok) {
      conversation.hidden = false;
      setStatus(result.data.error, true);
      return;
    }
    battleUrl = result.data.url;
    wsPath = result.data.ws;
    live = !body.get("pool_prompt");
    form.hidden = true;
    conversation.hidden = false;
    history.replaceState(null, "", battleUrl);
    connect();
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const body = new FormData(form);
    if (event.submitter && event.submitter.name === "pool_prompt") {
      body.set("pool_prompt", event.submitter.value);
      body.delete("prompt");
    }
    createBattle(body);
  });

  function submitOnEnter(textarea, target) {
    if (!textarea) return;
    textarea.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        target.requestSubmit(target.querySelector("button[type=submit]"));
      }
    });
  }
  submitOnEnter($("prompt-input"), form);
  submitOnEnter($("follow-up-input"), followUp);

  followUp.addEventListener("submit", async (event) => {
    event.preventDefault();
    const body = new FormData(followUp);
    const result = await post(battleUrl + "turns", body);
    if (!result.ok) { setStatus(result.data.error, true); return; }
    followUp.reset();
    votable = false;
    connect();
  });

  regenerateButton.addEventListener("click", async () => {
    const result = await post(battleUrl + "regenerate", new FormData());
    if (!result.ok) { setStatus(result.data.error, true); return; }
    votable = false;
    connect();
  });

  stopButton.addEventListener("click", () => {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ type: "stop" }));
  });

  function describe(side) {
    const parts = [side.display_name];
    if (side.organisation) parts.push(side.organisation);
    if (side.completion_tokens != null) parts.push(side.completion_tokens + " " + root.dataset.tokens);
    if (side.latency_ms != null) parts.push((side.latency_ms / 1000).toFixed(1) + " s");
    if (side.cost_usd != null) parts.push("$" + side.cost_usd.toFixed(4));
    return parts.join(" · ");
  }

  async function vote(outcome) {
    if (!votable || voted || !battleUrl) return;
    setVoting(false);
    const body = new FormData();
    body.set("outcome", outcome);
    // Recorded with the vote as signals for the anomaly check (docs/integrity.md).
    body.set("client", "js");
    if (answeredAt !== null) body.set("elapsed_ms", String(Math.round(performance.now() - answeredAt)));
    const result = await post(battleUrl + "vote", body);
    if (!result.ok) {
      setStatus(result.data.error, true);
      if (result.status !== 409) setVoting(true);
      return;
    }
    voted = true;
    result.data.reveal.forEach((side) => {
      reveals[side.side].textContent = (side.side === "a" ? "A: " : "B: ") + describe(side);
      reveals[side.side].hidden = false;
    });
    setStatus(result.data.message || "", !result.data.counted);
    showControls(false);
    newBattle.hidden = false;
    newBattle.focus();
  }

  voteButtons.forEach((button) => button.addEventListener("click", () => vote(button.dataset.outcome)));
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("textarea, input, select")) return;
    const outcome = { "1": "model_a", "2": "model_b", "3": "tie", "4": "both_bad" }[event.key];
    if (outcome) vote(outcome);
  });

  if (wsPath) connect();
})();
