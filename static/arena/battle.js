// The battle page: open a battle over HTTP, stream both answers over a websocket, vote over HTTP.
// Answers are model output, so they are only ever inserted as text, never as HTML.
(function () {
  "use strict";
  const root = document.getElementById("battle");
  if (!root) return;
  const form = document.getElementById("prompt-form");
  const conversation = document.getElementById("conversation");
  const promptShown = document.getElementById("prompt-shown");
  const statusLine = document.getElementById("status");
  const answers = { a: document.getElementById("answer-a"), b: document.getElementById("answer-b") };
  const reveals = { a: document.getElementById("reveal-a"), b: document.getElementById("reveal-b") };
  const voteButtons = Array.from(document.querySelectorAll("#votes button"));
  const newBattle = document.getElementById("new-battle");
  let voteUrl = root.dataset.voteUrl || null;
  let votable = false;
  let voted = false;

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

  function connect(wsPath) {
    const scheme = window.location.protocol === "https:" ? "wss://" : "ws://";
    const socket = new WebSocket(scheme + window.location.host + wsPath);
    const done = { a: false, b: false };
    socket.onmessage = (message) => {
      const frame = JSON.parse(message.data);
      if (frame.type === "turn") {
        answers.a.textContent = "";
        answers.b.textContent = "";
        setStatus(root.dataset.streaming || "…");
      } else if (frame.type === "delta") {
        answers[frame.side].append(document.createTextNode(frame.text));
      } else if (frame.type === "side_done") {
        done[frame.side] = true;
      } else if (frame.type === "complete") {
        votable = frame.votable;
        setVoting(votable && !voted);
        setStatus(frame.message, !frame.votable);
        if (!frame.votable) newBattle.hidden = false;
        socket.close();
      } else if (frame.type === "error") {
        setStatus(frame.message, true);
        newBattle.hidden = false;
      }
    };
    socket.onerror = () => setStatus("The connection to the arena was lost; reload to retry.", true);
  }

  function showBattle(data) {
    root.dataset.battleId = data.id;
    voteUrl = data.url + "vote";
    form.hidden = true;
    conversation.hidden = false;
    promptShown.textContent = "";
    const p = document.createElement("p");
    p.textContent = data.prompt;
    promptShown.append(p);
    history.replaceState(null, "", data.url);
    connect(data.ws);
  }

  async function createBattle(body) {
    setStatus("");
    const response = await fetch(root.dataset.createUrl, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: body,
      credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) {
      conversation.hidden = false;
      setStatus(data.error, true);
      return;
    }
    showBattle(data);
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

  const promptInput = document.getElementById("prompt-input");
  if (promptInput) {
    promptInput.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
        event.preventDefault();
        form.requestSubmit(form.querySelector("[data-testid=send]"));
      }
    });
  }

  function describe(side) {
    const parts = [side.display_name];
    if (side.organisation) parts.push(side.organisation);
    if (side.completion_tokens != null) parts.push(side.completion_tokens + " tokens");
    if (side.latency_ms != null) parts.push((side.latency_ms / 1000).toFixed(1) + " s");
    if (side.cost_usd != null) parts.push("$" + side.cost_usd.toFixed(4));
    return parts.join(" · ");
  }

  async function vote(outcome) {
    if (!votable || voted || !voteUrl) return;
    setVoting(false);
    const body = new FormData();
    body.set("outcome", outcome);
    const response = await fetch(voteUrl, {
      method: "POST",
      headers: { "Accept": "application/json", "X-CSRFToken": csrfToken() },
      body: body,
      credentials: "same-origin",
    });
    const data = await response.json();
    if (!response.ok) {
      setStatus(data.error, true);
      if (response.status !== 409) setVoting(true);
      return;
    }
    voted = true;
    data.reveal.forEach((side) => {
      reveals[side.side].textContent = describe(side);
      reveals[side.side].hidden = false;
    });
    setStatus(data.message || "", !data.counted);
    newBattle.hidden = false;
  }

  voteButtons.forEach((button) => button.addEventListener("click", () => vote(button.dataset.outcome)));
  document.addEventListener("keydown", (event) => {
    if (event.target.closest("textarea, input, select")) return;
    const outcome = { "1": "model_a", "2": "model_b", "3": "tie", "4": "both_bad" }[event.key];
    if (outcome) vote(outcome);
  });

  if (root.dataset.ws) connect(root.dataset.ws);
})();
