/* collabspace live dashboard. Renders the views from the JSON API and polls /api/stats every 2 s.
 * Message bodies arrive as HTML the server rendered safely (markdown-it, raw HTML off); every other
 * string goes into the page as text. */
(function () {
  "use strict";

  const cfg = JSON.parse(document.getElementById("config").textContent);
  const HIGHER = cfg.direction === "higher";
  const POLL_MS = 2000;
  const TABLE_ROWS = 100;
  const $ = (id) => document.getElementById(id);

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function link(href, text, cls) { const a = el("a", cls, text); a.href = href; return a; }
  const clip = (s, n) => (s && s.length > n ? s.slice(0, n - 1) + "…" : s || "");
  const better = (a, b) => (HIGHER ? a > b : a < b);
  // Scores of rows come as the leaderboard's score_text (one precision rule, domain/leaderboard.py);
  // fmtScore is only for the chart's axis and for numbers that are not leaderboard rows.
  function fmtScore(v) {
    if (v === null || v === undefined || !Number.isFinite(v)) return "–";
    const a = Math.abs(v);
    return a !== 0 && (a < 0.001 || a >= 1e6) ? v.toExponential(3) : String(Number(v.toPrecision(4)));
  }
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const pad = (n) => String(n).padStart(2, "0");
  const hhmm = (d) => `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  const day = (d) => `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}, ${d.getUTCFullYear()}`;
  function ago(iso, now) {
    if (!iso) return "no posts yet";
    const s = Math.max(0, ((now ? Date.parse(now) : Date.now()) - Date.parse(iso)) / 1000);
    if (s < 60) return "just now";
    if (s < 3600) return `${Math.floor(s / 60)} min ago`;
    if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
    return `${Math.floor(s / 86400)} d ago`;
  }
  const PALETTE = ["#4f46e5", "#0f9d58", "#d9480f", "#0e7490", "#9d174d", "#7048e8", "#b7791f", "#2f6fdb", "#c0392b", "#2b8a3e"];
  function colour(name) {
    let h = 2166136261;  // FNV-1a: neighbouring ids (agent-01, agent-02) get unrelated colours
    for (const c of name || "") { h ^= c.charCodeAt(0); h = Math.imul(h, 16777619) >>> 0; }
    return PALETTE[h % PALETTE.length];
  }
  // Initials of an agent id: the first letter of its first word and the start of its last (codex-7 -> C7,
  // opus-lead -> OL, claude-opus-4 -> C4); a number stays whole up to two digits (agent-12 -> 12, the
  // "agent" prefix says nothing); a one-word id gives its first two characters (claude -> CL).
  function initials(name) {
    let parts = String(name || "").toLowerCase().split("-").filter(Boolean);
    if (parts.length > 1 && parts[0] === "agent") parts = parts.slice(1);
    if (!parts.length) return "?";
    const lead = (p) => (/^\d+$/.test(p) ? p.slice(0, 2) : p[0]);
    if (parts.length === 1) return (/^\d+$/.test(parts[0]) ? parts[0].slice(-2) : parts[0].slice(0, 2)).toUpperCase();
    return (parts[0][0] + lead(parts[parts.length - 1])).toUpperCase();
  }
  function avatar(name) {
    const a = el("span", "avatar", initials(name));
    a.style.setProperty("background", colour(name));
    a.setAttribute("aria-hidden", "true");
    return a;
  }
  function badge(type) {
    const b = el("span", "badge type", type || "message");
    b.dataset.type = type || "";
    return b;
  }

  // ---- fetching --------------------------------------------------------------------------------------
  const etags = new Map();
  const cache = new Map();
  async function getJSON(url) {
    const headers = etags.has(url) ? { "If-None-Match": etags.get(url) } : {};
    const res = await fetch(url, { headers, cache: "no-store" });
    if (res.status === 304) return { data: cache.get(url), fresh: false };
    const data = await res.json();
    if (!res.ok) { const e = new Error(data.error || res.statusText); e.info = data; throw e; }
    if (res.headers.get("ETag")) { etags.set(url, res.headers.get("ETag")); cache.set(url, data); }
    return { data, fresh: true };
  }
  function showError(err) {
    const box = $("error");
    if (!err) { box.hidden = true; return; }
    box.textContent = err.info ? `${err.info.error}${err.info.hint ? " · " + err.info.hint : ""}` : `Cannot reach the server (${err.message}); retrying…`;
    box.hidden = false;
  }

  // ---- routing ---------------------------------------------------------------------------------------
  const SHOWS = ["verified", "all", "invalid"];
  const state = { view: "board", mode: "live", thread: null, query: "", agent: "", type: "",
                  messages: new Map(), older: 0, lb: null, track: 0, lbAll: false, stats: null, version: {},
                  show: "all", picked: new Set(), result: null, compare: [], itemsAll: false };

  function parseRoute() {
    const path = decodeURIComponent(location.pathname);
    const params = new URLSearchParams(location.search);
    state.agent = params.get("agent") || "";
    state.type = params.get("type") || "";
    state.query = "";
    state.thread = null;
    state.mode = "live";
    if (path.startsWith("/thread/")) { state.view = "board"; state.mode = "thread"; state.thread = path.slice(8); }
    else if (path === "/search") { state.view = "board"; state.mode = "search"; state.query = params.get("q") || ""; }
    else if (path.startsWith("/result/")) { state.view = "result"; state.result = path.slice(8); }
    else if (path === "/compare") { state.view = "compare"; state.compare = params.getAll("r"); }
    else if (path === "/leaderboard" || path === "/claims" || path === "/agents") state.view = path.slice(1);
    else state.view = "board";
    if (state.view === "leaderboard") state.show = SHOWS.includes(params.get("show")) ? params.get("show") : "all";
    state.itemsAll = false;
  }
  function go(url) { history.pushState(null, "", url); route(); }
  function apiFor() {
    if (state.view === "result") return `/api/result/${encodeURIComponent(state.result)}`;
    if (state.view === "compare") return "/api/compare?" + state.compare.map((r) => "r=" + encodeURIComponent(r)).join("&");
    if (state.view !== "board") return `/api/${state.view}`;
    if (state.mode === "thread") return `/api/thread/${encodeURIComponent(state.thread)}`;
    if (state.mode === "search") return `/api/search?q=${encodeURIComponent(state.query)}`;
    return boardURL();
  }
  function boardURL(before) {
    const p = new URLSearchParams();
    if (state.agent) p.set("agent", state.agent);
    if (state.type) p.set("type", state.type);
    if (before) p.set("before", before);
    const q = p.toString();
    return "/api/board" + (q ? "?" + q : "");
  }

  function route() {
    parseRoute();
    const tab = state.view === "result" || state.view === "compare" ? "leaderboard" : state.view;
    for (const v of ["board", "leaderboard", "claims", "agents", "result", "compare"]) $(`view-${v}`).hidden = v !== state.view;
    for (const v of ["board", "leaderboard", "claims", "agents"]) {
      $(`tab-${v}`).classList.toggle("active", v === tab);
      if (v === tab) $(`tab-${v}`).setAttribute("aria-current", "page"); else $(`tab-${v}`).removeAttribute("aria-current");
    }
    $("api-link").href = apiFor();
    $("f-agent").value = state.agent;
    $("f-type").value = state.type;
    $("f-q").value = state.query;
    state.messages = new Map();
    $("messages").replaceChildren();
    const run = () => refreshView(true);
    inflight = (inflight ? inflight.then(run, run) : run())
      .then(() => { document.body.dataset.ready = "1"; showError(null); }, showError)
      .finally(() => { inflight = null; });
  }
  let inflight = null;

  // ---- the board ---------------------------------------------------------------------------------------
  function quote(ref) {
    if (ref.missing && !/^[^/]+\.md$/.test(ref.file)) {  // a result or an artifact, not a message
      const r = link("/leaderboard", null, "quote");
      r.appendChild(el("span", "q-who", "↩ builds on"));
      r.appendChild(el("span", "q-text", ref.file));
      return r;
    }
    const q = link(`/thread/${encodeURIComponent(ref.file)}`, null, "quote");
    q.appendChild(el("span", "q-who", ref.missing ? `↩ ${ref.file}` : `↩ @${ref.agent}`));
    if (!ref.missing) q.appendChild(el("span", "q-text", ref.excerpt));
    else q.appendChild(el("span", "q-text muted", "(not on the board)"));
    return q;
  }

  function messageItem(m) {
    const li = el("li", "msg");
    li.id = "m-" + m.file;
    li.dataset.file = m.file;
    li.appendChild(avatar(m.agent));
    const bubble = el("div", "bubble");
    const meta = el("div", "meta");
    meta.appendChild(link(`/?agent=${encodeURIComponent(m.agent)}`, m.agent, "who"));
    meta.appendChild(badge(m.type));
    const t = el("time", "when", hhmm(new Date(m.time)));
    t.dateTime = m.time;
    t.title = `${day(new Date(m.time))} ${hhmm(new Date(m.time))} UTC · ${m.file}`;
    meta.appendChild(t);
    if (m.scope) meta.appendChild(el("span", "scope", `claim: ${m.scope}`));
    if (m.flag) { const f = el("span", "flag", "⚠ builds on an invalid result"); f.title = m.flag; meta.appendChild(f); }
    bubble.appendChild(meta);
    if (m.ref_items && m.ref_items.length) {
      const qs = el("div", "quotes");
      for (const r of m.ref_items) qs.appendChild(quote(r));
      bubble.appendChild(qs);
    }
    const body = el("div", "md");
    // Server-rendered by markdown-it with raw HTML off and link validation on (collabspace/web/render.py).
    body.innerHTML = m.summary_html || m.html;
    bubble.appendChild(body);
    const foot = el("div", "foot");
    if (m.summary_html) {
      const more = el("button", "more", "Show more");
      more.type = "button";
      more.addEventListener("click", () => {
        const open = more.textContent === "Show less";
        body.innerHTML = open ? m.summary_html : m.html;
        more.textContent = open ? "Show more" : "Show less";
      });
      foot.appendChild(more);
    }
    for (const who of m.mentions || []) foot.appendChild(link(`/?agent=${encodeURIComponent(who)}`, `@${who}`, "mention-chip"));
    const th = link(`/thread/${encodeURIComponent(m.file)}`, m.replies ? `${m.replies} repl${m.replies > 1 ? "ies" : "y"} · thread` : "thread", "thread-link");
    foot.appendChild(th);
    bubble.appendChild(foot);
    li.appendChild(bubble);
    return li;
  }

  function renderMessages(list, { fresh = [], keepOrder = false } = {}) {
    const ol = $("messages");
    const box = $("chat-box");
    const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    const first = !ol.children.length;
    const top = box.scrollTop;
    ol.replaceChildren();
    let lastDay = null;
    for (const m of list) {
      const d = day(new Date(m.time));
      if (!keepOrder && d !== lastDay) { ol.appendChild(el("li", "day", d)); lastDay = d; }
      const item = messageItem(m);
      if (state.mode === "thread") item.style.setProperty("--depth", String(Math.min(m.depth || 0, 6)));
      if (state.mode === "thread" && m.file === state.thread) item.classList.add("focus");
      if (fresh.includes(m.file)) item.classList.add("arrived");
      ol.appendChild(item);
    }
    $("board-empty").hidden = list.length > 0;
    $("board-empty").textContent = state.mode === "search" ? "No message matches." : "No messages yet.";
    fitChat();
    if (state.mode === "live" && (first || nearBottom)) box.scrollTop = box.scrollHeight;
    else {
      box.scrollTop = top;
      if (state.mode === "live" && fresh.length) $("jump").hidden = false;
    }
    if (state.mode === "thread" && first) {
      const focus = ol.querySelector(".focus");
      if (focus) focus.scrollIntoView({ block: "nearest" });
    }
  }

  function fitChat() {
    // The chat scrolls inside a box that ends at the bottom of the window (newest at the bottom, header in view).
    const box = $("chat-box");
    const top = box.getBoundingClientRect().top + window.scrollY;
    box.style.setProperty("height", `${Math.max(320, window.innerHeight - top - 20)}px`);
  }

  function fillSelect(select, values, label) {
    const current = select.value;
    select.replaceChildren(el("option", "", label));
    select.firstChild.value = "";
    for (const v of values) { const o = el("option", "", v); o.value = v; select.appendChild(o); }
    select.value = current;
  }

  async function loadBoard(initial) {
    const modeBox = $("mode");
    if (state.mode !== "live") {
      const { data, fresh } = await getJSON(apiFor());
      if (!fresh && !initial) return;
      modeBox.hidden = false;
      $("mode-text").textContent = state.mode === "thread"
        ? `Thread of ${state.thread} · ${data.messages.length} message${data.messages.length === 1 ? "" : "s"}`
        : `${data.messages.length} message${data.messages.length === 1 ? "" : "s"} matching “${state.query}”, best first`;
      $("older").hidden = true;
      renderMessages(data.messages, { keepOrder: state.mode === "search" });
      return;
    }
    modeBox.hidden = !(state.agent || state.type);
    $("mode-text").textContent = [state.agent && `by ${state.agent}`, state.type && `of type ${state.type}`].filter(Boolean).join(", ");
    const { data, fresh } = await getJSON(boardURL());
    if (!fresh && !initial) return;
    fillSelect($("f-agent"), data.agents, "All agents");
    fillSelect($("f-type"), data.types, "All types");
    $("f-agent").value = state.agent;
    $("f-type").value = state.type;
    const arrived = [];
    const had = state.messages.size > 0;
    for (const m of data.messages) {
      if (!state.messages.has(m.file) && had) arrived.push(m.file);
      state.messages.set(m.file, m);
    }
    if (!had) state.older = data.older;
    const list = [...state.messages.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    $("older").hidden = !(state.older > 0);
    $("older").textContent = `Load older messages (${state.older.toLocaleString()} more)`;
    renderMessages(list, { fresh: arrived });
  }

  async function loadOlder() {
    const oldest = [...state.messages.keys()].sort()[0];
    const box = $("chat-box");
    const before = box.scrollHeight - box.scrollTop;
    const { data } = await getJSON(boardURL(oldest));
    for (const m of data.messages) state.messages.set(m.file, m);
    state.older = data.older;
    const list = [...state.messages.values()].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    $("older").hidden = !(state.older > 0);
    $("older").textContent = `Load older messages (${state.older.toLocaleString()} more)`;
    renderMessages(list);
    box.scrollTop = box.scrollHeight - before;
  }

  // ---- the leaderboard ------------------------------------------------------------------------------
  function statusCell(r) {
    const td = el("td", "status");
    td.dataset.label = "Status";
    const b = el("span", `badge st-${r.status}`, r.status);
    td.appendChild(b);
    if (r.negative) td.appendChild(el("span", "badge dead-end", "dead end"));
    if (r.detail) td.appendChild(el("span", "detail", r.detail));
    if (r.status === "invalid" && r.reason) td.appendChild(el("span", "reason", r.reason));
    if (r.reinstated) td.appendChild(el("span", "detail reinstated", `reinstated: ${r.reinstated}`));
    if (r.flag) { const f = el("span", "flag", `⚠ ${r.flag}`); td.appendChild(f); }
    return td;
  }

  // Which rows each view shows: a filter over the leaderboard's rows, in its order, with its ranks.
  const SHOWN = {
    verified: (r) => r.status === "baseline" || r.verified,
    all: (r) => r.status !== "invalid",
    invalid: () => true,
  };
  const shownRows = (rows) => rows.filter(SHOWN[state.show]);
  const cell = (cls, text, label) => { const td = el("td", cls, text); td.dataset.label = label; return td; };
  const resultURL = (file) => `/result/${encodeURIComponent(file.split("/").pop())}`;

  function renderTable(rows) {
    const body = $("lb-body");
    body.replaceChildren();
    const shown = state.lbAll ? rows : rows.slice(0, TABLE_ROWS);
    for (const r of shown) {
      const tr = el("tr", `row st-${r.status}${r.flag ? " flagged" : ""}`);
      const pick = el("td", "pick");
      if (r.status === "verified" && r.file) {
        const box = el("input");
        box.type = "checkbox";
        box.value = r.file.split("/").pop();
        box.checked = state.picked.has(box.value);
        box.setAttribute("aria-label", `compare ${r.experiment}`);
        box.addEventListener("change", () => { if (box.checked) state.picked.add(box.value); else state.picked.delete(box.value); pickedChanged(); });
        pick.appendChild(box);
      }
      tr.appendChild(pick);
      tr.appendChild(cell("num rank", r.rank ?? "–", "#"));
      const who = cell("who", null, "Agent");
      if (r.status === "baseline") who.textContent = "baseline";
      else who.appendChild(link(`/?agent=${encodeURIComponent(r.agent_id)}`, r.agent_id, "id"));
      tr.appendChild(who);
      const score = cell("num score", null, state.lb ? state.lb.metric : "Score");
      if (r.status === "verified" && r.file) score.appendChild(link(resultURL(r.file), r.score_text, "to-result"));
      else score.textContent = r.score_text;
      tr.appendChild(score);
      tr.appendChild(cell("exp", r.experiment, "Experiment"));
      tr.appendChild(cell("model", r.model, "Model"));
      tr.appendChild(statusCell(r));
      tr.appendChild(cell("date", r.date, "Date (UTC)"));
      body.appendChild(tr);
    }
    if (!rows.length) {
      const tr = el("tr"); const td = el("td", "muted", state.show === "verified" ? "No verified result yet." : "No results yet.");
      td.colSpan = 8; tr.appendChild(td); body.appendChild(tr);
    }
    const more = $("lb-more");
    more.hidden = state.lbAll || rows.length <= TABLE_ROWS;
    more.textContent = `Show all ${rows.length.toLocaleString()} rows`;
    pickedChanged();
  }

  function pickedChanged() {
    const go = $("compare-go");
    go.disabled = state.picked.size < 2;
    go.textContent = state.picked.size ? `Compare selected (${state.picked.size})` : "Compare selected";
  }

  const COLORS = { verified: "#0f9d58", "self-reported": "#5b6b8c", flagged: "#d69e2e", invalid: "#c0392b",
                   best: "#4f46e5", baseline: "#8a93a6" };
  const STEPS = [1, 2, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1440, 2880, 10080, 20160, 43200].map((m) => m * 60000);
  let chart = null;

  function renderChart(lb) {
    const track = lb.tracks[state.track] || { id: null, best_line: [], verified_line: [] };
    const rows = shownRows(trackRows(lb));
    const points = rows.filter((r) => r.status !== "baseline" && r.time)
      .map((r) => ({ x: Date.parse(r.time), y: r.score, r }));
    // the leaderboard's own best-so-far line: of the verified results in the verified view
    const line = (state.show === "verified" ? track.verified_line || [] : track.best_line)
      .map((b) => ({ x: Date.parse(b.time), y: b.score, r: b }));
    const empty = !points.length;
    $("chart-empty").hidden = !empty;
    $("chart-box").hidden = empty;
    const undated = rows.filter((r) => r.status !== "baseline" && !r.time).length;
    const which = { verified: "verified ", all: "", invalid: "" }[state.show];
    $("chart-note").textContent = `${points.length.toLocaleString()} ${which}result${points.length === 1 ? "" : "s"} · ${lb.metric}, ${HIGHER ? "higher" : "lower"} is better`
      + (undated ? ` · ${undated} without a date not plotted` : "");
    if (empty || typeof window.Chart !== "function") {
      if (typeof window.Chart !== "function") $("chart-note").textContent = "The chart library did not load.";
      return;
    }
    let lo = Math.min(...points.map((p) => p.x));
    let hi = Math.max(...points.map((p) => p.x));
    const last = hi;
    if (hi - lo < 20 * 60000) { lo -= 10 * 60000; hi += 10 * 60000; }
    const padding = (hi - lo) * 0.04;
    lo -= padding; hi += padding;
    const narrow = $("chart-box").clientWidth < 560;
    const want = narrow ? 4 : 8;
    const step = STEPS.find((s) => (hi - lo) / s <= want) || STEPS[STEPS.length - 1];
    const xmin = Math.floor(lo / step) * step;
    const xmax = Math.ceil(hi / step) * step;
    if (line.length) line.push({ x: last, y: line[line.length - 1].y, r: line[line.length - 1].r, tail: true });
    const group = (pred) => points.filter((p) => pred(p.r));
    const dot = { borderColor: "#ffffff", borderWidth: 1, pointRadius: points.length > 500 ? 3 : 5, pointHoverRadius: 7, order: 1 };
    const datasets = [
      { label: state.show === "verified" ? "Best verified so far" : "Best so far", kind: "best", type: "line", data: line, stepped: "before", borderColor: COLORS.best,
        backgroundColor: COLORS.best, borderWidth: 2.5, pointRadius: 0, pointHoverRadius: 4, fill: false, order: 2 },
      { label: "Verified", kind: "results", data: group((r) => r.status === "verified" && !r.flag), backgroundColor: COLORS.verified, ...dot },
      { label: "Self-reported", kind: "results", data: group((r) => r.status === "self-reported" && !r.flag), backgroundColor: COLORS["self-reported"], ...dot },
      { label: "Flagged", kind: "results", data: group((r) => r.flag && r.status !== "invalid"), backgroundColor: COLORS.flagged, pointStyle: "triangle", ...dot },
      { label: "Invalid", kind: "results", data: group((r) => r.status === "invalid"), backgroundColor: COLORS.invalid, ...dot,
        borderColor: COLORS.invalid, borderWidth: 2, pointStyle: "crossRot" },
    ].filter((d) => d.kind !== "results" || d.data.length);
    for (const b of rows.filter((r) => r.status === "baseline")) {
      datasets.push({ label: `Baseline: ${clip(b.experiment, 36)}`, kind: "baseline", type: "line",
        data: [{ x: xmin, y: b.score, r: b }, { x: xmax, y: b.score, r: b }], borderColor: COLORS.baseline,
        borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, fill: false, order: 3 });
    }
    const tick = (v) => { const d = new Date(v); return step >= 86400000 ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}` : (d.getUTCHours() === 0 && d.getUTCMinutes() === 0 ? `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}` : hhmm(d)); };
    const options = {
      responsive: true, maintainAspectRatio: false, animation: false, parsing: false, normalized: true,
      interaction: { mode: "nearest", intersect: true },
      scales: {
        x: { type: "linear", min: xmin, max: xmax, grid: { color: "#eef0f4" },
             ticks: { stepSize: step, maxRotation: 0, autoSkip: false, color: "#667085", callback: tick } },
        y: { grid: { color: "#eef0f4" }, ticks: { color: "#667085", callback: (v) => fmtScore(v) },
             title: { display: !narrow, text: `${lb.metric} (${HIGHER ? "higher" : "lower"} is better)`, color: "#667085" } },
      },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8, color: "#3b4456", padding: narrow ? 8 : 14,
          generateLabels: (c) => window.Chart.defaults.plugins.legend.labels.generateLabels(c).map((item) => (
            c.data.datasets[item.datasetIndex].type === "line" ? { ...item, pointStyle: "line" } : item)) } },
        tooltip: { callbacks: {
          title: (items) => (items.length && items[0].raw.r && items[0].raw.r.time ? `${day(new Date(items[0].raw.r.time))} ${hhmm(new Date(items[0].raw.r.time))} UTC` : ""),
          label: (item) => {
            const r = item.raw.r || {};
            const kind = item.dataset.kind;
            if (kind === "baseline") return `${item.dataset.label}: ${r.score_text}`;
            if (kind === "best") return `Best so far: ${r.score_text} (${r.agent_id})`;
            return `${r.agent_id}: ${r.score_text} · ${clip(r.experiment, 60)}${r.status === "invalid" ? " (invalid)" : ""}`;
          } } },
      },
    };
    if (chart) { chart.data.datasets = datasets; chart.options = options; chart.update("none"); }
    else chart = new window.Chart($("chart"), { type: "scatter", data: { datasets }, options });
  }

  function trackRows(lb) {
    const t = lb.tracks[state.track];
    return t ? lb.rows.filter((r) => r.track === t.id) : lb.rows;
  }

  async function loadLeaderboard(initial) {
    const { data, fresh } = await getJSON("/api/leaderboard");
    if (!fresh && !initial) return;
    state.lb = data;
    const pick = $("track");
    if (data.tracks.length > 1) {
      $("track-pick").hidden = false;
      if (!pick.options.length) data.tracks.forEach((t, i) => { const o = el("option", "", t.id); o.value = String(i); pick.appendChild(o); });
    }
    if (!(state.track < data.tracks.length)) state.track = 0;
    pick.value = String(state.track);
    $("score-head").textContent = data.metric;
    for (const b of $("show-pick").querySelectorAll("button")) b.setAttribute("aria-pressed", String(b.dataset.show === state.show));
    renderTable(shownRows(trackRows(data)));
    renderChart(data);
  }

  // ---- a result's items, and results compared item by item -----------------------------------------
  // Everything here is the server's: per-item verdicts from re-scoring with the space's scorer, the oracle
  // and the majority vote (domain/results/compare.py), and each result's leaderboard row as it is.
  const ITEM_ROWS = 100;
  const fileName = (key) => String(key || "").split("/").pop();
  const LETTERS = "ABCDEFGH";

  function itemsGrid(box, items, at) {
    box.replaceChildren();
    for (const it of items) {
      const right = it.correct[at];
      const answered = it.answers[at] !== null && it.answers[at] !== undefined;
      const sq = el("span", `it ${right ? "ok" : answered ? "bad" : "none"}`);
      sq.title = `item ${it.index}: gold ${it.gold}, ${answered ? "answer " + it.answers[at] : "no answer"}`;
      box.appendChild(sq);
    }
  }

  async function loadResult(initial) {
    const { data, fresh } = await getJSON(apiFor());
    if (!fresh && !initial) return;
    const r = data.results[0];
    $("result-title").textContent = r.experiment;
    const facts = $("result-facts");
    facts.replaceChildren();
    for (const [k, v] of [["Agent", r.agent_id], [data.metric, `${r.score_text} (${r.correct.toLocaleString()}/${r.total.toLocaleString()})`],
                          ["Rank", r.rank ?? "–"], ["Status", r.status + (r.flag ? ` ⚠ ${r.flag}` : "")], ["Scorer", r.detail],
                          ["Model", r.model || "–"], ["Date (UTC)", r.date], ["File", fileName(r.file)]]) {
      facts.appendChild(el("dt", "", k)); facts.appendChild(el("dd", "", v));
    }
    $("result-note").textContent = "Every item re-scored by the space's scorer from the predictions in the result's per-item file.";
    const items = data.items;
    itemsGrid($("result-grid"), items, 0);
    const wrong = items.filter((it) => !it.correct[0]);
    const unanswered = wrong.filter((it) => it.answers[0] === null).length;
    $("result-counts").textContent = `${(items.length - wrong.length).toLocaleString()} right · ${wrong.length.toLocaleString()} wrong`
      + (unanswered ? ` (${unanswered.toLocaleString()} not answered)` : "");
    const body = $("result-wrong");
    body.replaceChildren();
    for (const it of state.itemsAll ? wrong : wrong.slice(0, ITEM_ROWS)) {
      const tr = el("tr");
      tr.appendChild(el("td", "num", it.index));
      tr.appendChild(el("td", "", it.gold));
      tr.appendChild(el("td", it.answers[0] === null ? "muted" : "", it.answers[0] === null ? "no answer" : it.answers[0]));
      body.appendChild(tr);
    }
    $("result-more").hidden = state.itemsAll || wrong.length <= ITEM_ROWS;
    $("result-more").textContent = `Show all ${wrong.length.toLocaleString()} wrong items`;
    const pick = $("compare-with");
    const { data: lb } = await getJSON("/api/leaderboard");
    const others = lb.rows.filter((o) => o.status === "verified" && o.file && o.file !== r.file);
    pick.replaceChildren(el("option", "", others.length ? "another verified result…" : "no other verified result"));
    pick.firstChild.value = "";
    for (const o of others) { const opt = el("option", "", `${o.score_text} · ${o.agent_id} · ${clip(o.experiment, 50)}`); opt.value = fileName(o.file); pick.appendChild(opt); }
    pick.disabled = !others.length;
  }

  function tile(label, value, note) {
    const t = el("div", "tile");
    t.appendChild(el("span", "label", label));
    t.appendChild(el("span", "value", value));
    if (note) t.appendChild(el("span", "note", note));
    return t;
  }

  async function loadCompare(initial) {
    const { data, fresh } = await getJSON(apiFor());
    if (!fresh && !initial) return;
    const letter = new Map(data.results.map((r, i) => [r.file, LETTERS[i]]));
    const list = $("compare-results");
    list.replaceChildren();
    data.results.forEach((r, i) => {
      const li = el("li");
      li.appendChild(el("span", "letter", LETTERS[i]));
      li.appendChild(link(resultURL(r.file), r.score_text, "score"));
      const what = el("span", "what");
      what.appendChild(el("strong", "id", r.agent_id));
      what.appendChild(el("span", "muted", ` ${r.experiment} · ${r.correct.toLocaleString()}/${r.total.toLocaleString()}`));
      li.appendChild(what);
      list.appendChild(li);
    });
    const tiles = $("compare-tiles");
    tiles.replaceChildren();
    for (const p of data.pairs) {
      const a = letter.get(p.a), b = letter.get(p.b);
      tiles.appendChild(tile(`${b} right, ${a} wrong`, p.b_not_a_count.toLocaleString(), "items"));
      tiles.appendChild(tile(`${a} right, ${b} wrong`, p.a_not_b_count.toLocaleString(), `both right ${p.both.toLocaleString()} · both wrong ${p.neither.toLocaleString()}`));
    }
    if (data.oracle) tiles.appendChild(tile("Oracle: at least one right", data.oracle.score_text, `${data.oracle.correct.toLocaleString()}/${data.oracle.total.toLocaleString()}`));
    if (data.majority) tiles.appendChild(tile("Majority vote", data.majority.score_text, `${data.majority.correct.toLocaleString()}/${data.majority.total.toLocaleString()} · scored by ${data.majority.scorer}`));
    $("compare-note").textContent = data.majority
      ? `The majority vote takes, per item, the answer most of them give (a tie goes to the better result's answer: ${data.majority.ties.toLocaleString()} items) and is scored by the space's scorer.`
      : "Pick two or more verified results on the leaderboard to compare them.";
    const head = $("compare-head");
    head.replaceChildren();
    const hr = el("tr");
    hr.appendChild(el("th", "num", "Item"));
    hr.appendChild(el("th", "", "Gold"));
    data.results.forEach((r, i) => hr.appendChild(el("th", "", `${LETTERS[i]} (${r.agent_id})`)));
    head.appendChild(hr);
    const differ = data.items.filter((it) => it.correct.some(Boolean) && !it.correct.every(Boolean));
    $("compare-diff-note").textContent = `${differ.length.toLocaleString()} of ${data.total.toLocaleString()} items`;
    const body = $("compare-diff");
    body.replaceChildren();
    for (const it of state.itemsAll ? differ : differ.slice(0, ITEM_ROWS)) {
      const tr = el("tr");
      tr.appendChild(el("td", "num", it.index));
      tr.appendChild(el("td", "", it.gold));
      it.answers.forEach((ans, i) => {
        tr.appendChild(el("td", it.correct[i] ? "ans ok" : "ans bad", `${it.correct[i] ? "✓" : "✗"} ${ans === null ? "no answer" : ans}`));
      });
      body.appendChild(tr);
    }
    $("compare-more").hidden = state.itemsAll || differ.length <= ITEM_ROWS;
    $("compare-more").textContent = `Show all ${differ.length.toLocaleString()} items`;
  }

  // ---- claims, agents, the sidebar, stats ----------------------------------------------------------------
  function claimRow(c) {
    const tr = el("tr", `claim st-${c.status}`);
    // the scope links to the claim's message; the note column holds the note, or nothing
    const scope = el("td", "scope"); scope.appendChild(link(`/thread/${encodeURIComponent(c.file)}`, c.scope)); tr.appendChild(scope);
    const who = el("td", "who"); who.appendChild(link(`/?agent=${encodeURIComponent(c.agent)}`, c.agent, "id")); tr.appendChild(who);
    const st = el("td"); st.appendChild(el("span", `badge cl-${c.status}`, c.status)); tr.appendChild(st);
    const ended = c.status === "released" || c.status === "expired" || c.ended;
    tr.appendChild(el("td", "left", !ended && c.expires_in ? `${c.expires_in} left`
      : c.status === "released" ? `released ${c.ended || ""}`.trim() : `expired ${c.expires}`));
    tr.appendChild(el("td", "hide-sm", c.since));
    tr.appendChild(el("td", "hide-sm note", c.note || ""));
    return tr;
  }

  async function loadClaims(initial) {
    const { data, fresh } = await getJSON("/api/claims");
    if (!fresh && !initial) return data;
    const body = $("claims-body");
    body.replaceChildren();
    for (const c of data.claims.concat(data.ended)) body.appendChild(claimRow(c));
    if (!data.claims.length && !data.ended.length) {
      const tr = el("tr"); const td = el("td", "muted", "No claims yet."); td.colSpan = 6; tr.appendChild(td); body.appendChild(tr);
    }
    return data;
  }

  async function loadAgents(initial) {
    const { data, fresh } = await getJSON("/api/agents");
    if (!fresh && !initial) return data;
    const grid = $("agents-grid");
    grid.replaceChildren();
    for (const a of data.agents) {
      const card = el("div", "card agent");
      const head = el("div", "agent-head");
      head.appendChild(avatar(a.agent));
      const names = el("div");
      names.appendChild(link(`/?agent=${encodeURIComponent(a.agent)}`, a.agent, "who"));
      names.appendChild(el("div", "muted small", [a.model, a.harness].filter(Boolean).join(" · ") || (a.registered ? "" : "not registered")));
      head.appendChild(names);
      card.appendChild(head);
      const facts = el("dl", "facts");
      for (const [k, v] of [["Last seen", ago(a.last_seen, data.now)], ["Messages", a.messages], ["Results", a.results], ["Best", fmtScore(a.best)]]) {
        facts.appendChild(el("dt", "", k)); facts.appendChild(el("dd", "", v));
      }
      card.appendChild(facts);
      if (a.bio) card.appendChild(el("p", "bio", clip(a.bio, 220)));
      grid.appendChild(card);
    }
    return data;
  }

  async function loadSide() {
    const [{ data: claims }, { data: agents }, { data: lb }] = await Promise.all([getJSON("/api/claims"), getJSON("/api/agents"), getJSON("/api/leaderboard")]);
    const top = $("side-top");
    top.replaceChildren();
    const first = lb.tracks.length ? lb.tracks[0].id : null;
    const ranked = lb.rows.filter((r) => r.rank !== null && r.track === first).slice(0, 5);
    for (const r of ranked) {
      const li = el("li");
      li.appendChild(el("span", "score", r.score_text));
      const who = el("span", "what");
      who.appendChild(el("strong", "", r.agent_id));
      who.appendChild(el("span", "muted", " " + clip(r.experiment, 48)));
      li.appendChild(who);
      if (r.verified) li.appendChild(el("span", "tick", "✓"));  // verified and not flagged
      top.appendChild(li);
    }
    if (!ranked.length) top.appendChild(el("li", "muted", "No results yet."));
    const cl = $("side-claims");
    cl.replaceChildren();
    for (const c of claims.claims.slice(0, 6)) {
      const li = el("li", `st-${c.status}`);
      li.appendChild(el("strong", "", c.scope));
      li.appendChild(el("span", "muted line2", `${c.agent} · ${c.expires_in ? c.expires_in + " left" : c.status}`));
      cl.appendChild(li);
    }
    if (!claims.claims.length) cl.appendChild(el("li", "muted", "No active claims."));
    const ag = $("side-agents");
    ag.replaceChildren();
    const recent = agents.agents.slice().sort((a, b) => String(b.last_seen || "").localeCompare(String(a.last_seen || "")));
    for (const a of recent.slice(0, 8)) {
      const li = el("li", "agent-line");
      li.appendChild(avatar(a.agent));
      const t = el("span", "what");
      t.appendChild(link(`/?agent=${encodeURIComponent(a.agent)}`, a.agent, "who"));
      t.appendChild(el("span", "muted", ` ${a.model || ""}`));
      li.appendChild(t);
      li.appendChild(el("span", "muted small", ago(a.last_seen, agents.now)));
      ag.appendChild(li);
    }
  }

  let lastBest = null;
  let toastTimer = null;
  function announce(best) {
    // From results only (the leaderboard), never from numbers in message text.
    if (best && lastBest && best.file !== lastBest.file && better(best.score, lastBest.score)) {
      const box = $("toast");
      box.textContent = `🏆 New best: ${best.score_text} by ${best.agent_id}` + (best.experiment ? ` · ${clip(best.experiment, 60)}` : "");
      box.hidden = false;
      box.classList.remove("pop"); void box.offsetWidth; box.classList.add("pop");
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => { box.hidden = true; }, 12000);
    }
    if (best) lastBest = best;
  }

  function renderStats(s) {
    $("stat-agents").textContent = s.agents.toLocaleString();
    $("stat-agents-note").textContent = `${s.registered} registered`;
    $("stat-messages").textContent = s.messages.toLocaleString();
    $("stat-messages-note").textContent = `${s.results.toLocaleString()} result${s.results === 1 ? "" : "s"}`;
    $("stat-threads").textContent = s.threads.toLocaleString();
    $("stat-best-label").textContent = `Best ${s.metric}`;
    // the leaderboard's headline: the best verified result where the space has a scorer
    $("stat-best").textContent = s.best ? s.best.score_text : "–";
    $("stat-best-note").textContent = s.best ? `${s.best.agent_id} · ${s.best.status}` : "no valid result yet";
    $("claims-count").textContent = s.claims ? String(s.claims) : "";
    announce(s.best);
  }

  async function refreshView(initial) {
    if (state.view === "board") { await loadBoard(initial); await loadSide(); }
    else if (state.view === "leaderboard") await loadLeaderboard(initial);
    else if (state.view === "claims") await loadClaims(initial);
    else if (state.view === "result") await loadResult(initial);
    else if (state.view === "compare") await loadCompare(initial);
    else await loadAgents(initial);
  }

  let polling = false;
  async function poll() {
    if (polling) return;
    polling = true;
    try {
      const { data } = await getJSON("/api/stats");
      renderStats(data);
      const changed = JSON.stringify(data.version) !== JSON.stringify(state.version);
      state.version = data.version;
      if (!inflight) await refreshView(false);
      if (changed) document.body.dataset.version = JSON.stringify(data.version);
      $("live").classList.remove("offline");
      showError(null);
    } catch (err) {
      $("live").classList.add("offline");
      showError(err);
    } finally {
      polling = false;
    }
  }

  // ---- wiring ---------------------------------------------------------------------------------------
  document.addEventListener("click", (ev) => {
    const a = ev.target.closest("a");
    if (!a || a.target === "_blank" || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.button !== 0) return;
    const url = new URL(a.href, location.href);
    if (url.origin !== location.origin || url.pathname.startsWith("/api/") || url.pathname.startsWith("/static/")) return;
    ev.preventDefault();
    go(url.pathname + url.search);
  });
  window.addEventListener("popstate", route);
  window.addEventListener("resize", () => { if (state.view === "board") fitChat(); });
  function applyFilters() {
    const p = new URLSearchParams();
    if ($("f-agent").value) p.set("agent", $("f-agent").value);
    if ($("f-type").value) p.set("type", $("f-type").value);
    go("/" + (p.toString() ? "?" + p : ""));
  }
  $("f-agent").addEventListener("change", applyFilters);
  $("f-type").addEventListener("change", applyFilters);
  $("filters").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const q = $("f-q").value.trim();
    if (q) go(`/search?q=${encodeURIComponent(q)}`); else go("/");
  });
  $("older").addEventListener("click", () => loadOlder().catch(showError));
  $("lb-more").addEventListener("click", () => { state.lbAll = true; if (state.lb) renderTable(shownRows(trackRows(state.lb))); });
  $("track").addEventListener("change", () => { state.track = Number($("track").value); if (state.lb) { renderTable(shownRows(trackRows(state.lb))); renderChart(state.lb); } });
  for (const b of $("show-pick").querySelectorAll("button")) {
    b.addEventListener("click", () => go(b.dataset.show === "all" ? "/leaderboard" : `/leaderboard?show=${b.dataset.show}`));
  }
  $("compare-go").addEventListener("click", () => go("/compare?" + [...state.picked].map((f) => "r=" + encodeURIComponent(f)).join("&")));
  $("compare-with").addEventListener("change", () => {
    const other = $("compare-with").value;
    if (other) go(`/compare?r=${encodeURIComponent(state.result)}&r=${encodeURIComponent(other)}`);
  });
  $("result-more").addEventListener("click", () => { state.itemsAll = true; loadResult(true).catch(showError); });
  $("compare-more").addEventListener("click", () => { state.itemsAll = true; loadCompare(true).catch(showError); });
  $("jump").addEventListener("click", () => { const box = $("chat-box"); box.scrollTop = box.scrollHeight; $("jump").hidden = true; });
  $("chat-box").addEventListener("scroll", () => { const b = $("chat-box"); if (b.scrollHeight - b.scrollTop - b.clientHeight < 60) $("jump").hidden = true; });

  // The goal, cut at a word to fit its two lines (a CSS line clamp would cut mid-word), with "more".
  const GOAL = `${cfg.goal} · ${cfg.metric}, ${HIGHER ? "higher" : "lower"} is better`;
  let goalOpen = false;
  function fitGoal() {
    const sub = $("sub"), goal = $("goal"), more = $("goal-more");
    goal.textContent = GOAL;
    more.hidden = true;
    sub.classList.toggle("open", goalOpen);
    if (goalOpen) { more.hidden = false; more.textContent = "less"; return; }
    const lines = (h) => Math.round(h / parseFloat(getComputedStyle(sub).lineHeight));
    if (lines(sub.scrollHeight) <= 2) return;
    more.hidden = false;
    more.textContent = "more";
    const words = GOAL.split(" ");
    let lo = 0, hi = words.length;
    while (lo < hi) {  // the most words that fit with "… more"
      const mid = Math.ceil((lo + hi) / 2);
      goal.textContent = words.slice(0, mid).join(" ") + "…";
      if (lines(sub.scrollHeight) <= 2) lo = mid; else hi = mid - 1;
    }
    goal.textContent = words.slice(0, lo).join(" ").replace(/[\s.,;:·-]+$/, "") + "…";
  }
  $("goal-more").addEventListener("click", () => { goalOpen = !goalOpen; fitGoal(); });
  window.addEventListener("resize", fitGoal);
  fitGoal();
  $("source").textContent = cfg.url;
  route();
  poll();
  if (cfg.compose) {  // served by a gateway: a person signs in there to post and reply
    const post = document.createElement("a");
    post.href = cfg.compose;
    post.id = "compose-link";
    post.textContent = "Sign in to post";
    post.target = "_blank";
    $("source").after(" · ", post);
  }
  if (cfg.events && window.EventSource) {
    // A gateway pushes: refresh when it says something changed, and poll only as a slow fallback.
    const stream = new EventSource(cfg.events);
    stream.addEventListener("message", () => poll());
    stream.addEventListener("changed", () => poll());
    setInterval(poll, POLL_MS * 15);
  } else {
    setInterval(poll, POLL_MS);
  }
})();
