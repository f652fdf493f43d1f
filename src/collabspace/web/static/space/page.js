"use strict";
// ==== Configuration (written by `collab export-space`; edit to point the page elsewhere) ====
/*@CONFIG@*/
// =============================================================================================

// Everything below reads the bucket and draws the page. The leaderboard itself comes from the
// space's leaderboard.json, which collabspace writes next to LEADERBOARD.md: this page draws it
// as it is (ranks, statuses, flags, score texts, headline, best-so-far line) and never ranks,
// verifies or invalidates anything itself. Text from the bucket is only ever inserted with
// textContent (never as HTML), so a result or message cannot inject markup.
(function () {
  const params = new URLSearchParams(window.location.search);
  const HUB_BUCKET = /^(https?:\/\/.+?)\/buckets\/([^\/?#]+)\/([^\/?#]+)(?:\/([^?#]*))?$/;
  const HIGHER = METRIC_DIRECTION !== "lower";

  // ---- where to read ---------------------------------------------------------------------------
  function urlsFor(bucketUrl) {
    const url = String(bucketUrl || "").trim().replace(/\/+$/, "");
    const m = HUB_BUCKET.exec(url);
    if (!m) {
      return { hub: null, bucketPage: url, fileUrl: url + "/", treeUrl: null, prefix: "",
               leaderboardUrl: url + "/" + LAYOUT.leaderboard, label: url };
    }
    let prefix = (m[4] || "").replace(/^\/+|\/+$/g, "");
    prefix = prefix ? prefix + "/" : "";
    const base = `${m[1]}/buckets/${m[2]}/${m[3]}`;
    return {
      hub: m[1], bucketPage: base, prefix,
      fileUrl: `${base}/resolve/${prefix}`,
      treeUrl: `${m[1]}/api/buckets/${m[2]}/${m[3]}/tree/${prefix}`,
      leaderboardUrl: `${base}/resolve/${prefix}${LAYOUT.leaderboard}`,
      label: `${m[2]}/${m[3]}` + (prefix ? "/" + prefix.slice(0, -1) : ""),
    };
  }

  const override = params.get("bucket");
  const cfg = urlsFor(override || BUCKET_URL);
  if (!override) {
    cfg.treeUrl = TREE_URL;
    if (LEADERBOARD_URL) cfg.leaderboardUrl = LEADERBOARD_URL;
  }
  if (params.get("leaderboard")) cfg.leaderboardUrl = params.get("leaderboard");

  const encPath = (p) => p.split("/").map(encodeURIComponent).join("/");
  const fileUrl = (path) => cfg.fileUrl + encPath(path);

  // ---- reading, with the visitor's Hugging Face session as a second try -------------------------
  class ReadError extends Error {
    constructor(url, status, kind) {
      super(kind === "network" ? `network error reading ${url}` : kind === "format" ? `${url} is not a collabspace leaderboard.json`
        : `HTTP ${status} reading ${url}`);
      this.url = url; this.status = status; this.kind = kind;
    }
  }
  let withCredentials = false; // true once the visitor's session was needed and worked
  let credentialsRefused = false; // reset on every refresh: the visitor may have signed in meanwhile

  async function get(url) {
    const opts = { cache: "no-store", credentials: withCredentials ? "include" : "same-origin" };
    let resp = null;
    try { resp = await fetch(url, opts); } catch (e) { resp = null; }
    const failed = !resp || [401, 403, 404].includes(resp.status);
    if (failed && !withCredentials && !credentialsRefused) {
      // A private bucket answers 401/404 to strangers: the visitor's own cookies may grant access.
      try {
        const again = await fetch(url, { ...opts, credentials: "include" });
        if (again.ok) { withCredentials = true; return again; }
      } catch (e) { /* a CORS refusal looks like a network error */ }
      credentialsRefused = true;
    }
    if (!resp) throw new ReadError(url, 0, "network");
    if (!resp.ok) {
      const kind = resp.status === 401 || resp.status === 403 ? "denied" : resp.status === 404 ? "missing" : "http";
      throw new ReadError(url, resp.status, kind);
    }
    return resp;
  }

  function nextLink(header) {
    if (!header) return null;
    const re = /<([^>]*)>\s*;[^,]*?rel="?next"?/g;
    const m = re.exec(header);
    return m ? new URL(m[1], window.location.href).href : null;
  }

  function relPath(path) {
    let p = String(path).replace(/^\/+/, "");
    if (cfg.prefix && p.startsWith(cfg.prefix)) p = p.slice(cfg.prefix.length);
    return p;
  }
  const ms = (iso) => { const t = Date.parse(iso || ""); return Number.isFinite(t) ? t : null; };

  /** Every file under `dir` (a listing, following the Link header's pages). */
  async function list(dir) {
    if (!cfg.treeUrl) throw new ReadError(dir, 0, "unlisted");
    let url = cfg.treeUrl + encPath(dir.replace(/\/+$/, "")) + "?recursive=true";
    const out = [];
    for (let pages = 0; url && pages < 500; pages++) {
      const resp = await get(url);
      const items = await resp.json();
      if (!Array.isArray(items)) throw new ReadError(url, resp.status, "format");
      for (const it of items) {
        if (!it || it.type !== "file" || typeof it.path !== "string") continue;
        const path = relPath(it.path);
        if (path.startsWith(dir)) out.push({ path, time: ms(it.uploadedAt) || ms(it.mtime) });
      }
      url = nextLink(resp.headers.get("Link"));
    }
    return out;
  }

  /** Live figures from the board's file names: messages, authors, the latest stamp. */
  function boardStats(files) {
    const authors = new Set();
    let messages = 0, latest = null;
    for (const f of files) {
      const name = f.path.slice(LAYOUT.board.length);
      if (name.includes("/") || !name.endsWith(".md") || name === "README.md") continue;
      messages++;
      const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})(?:-\d{1,6})?_([^_]+?)(?:_.*)?\.md$/.exec(name);
      if (m) {
        authors.add(m[7]);
        const t = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]);
        if (Number.isFinite(t) && (latest === null || t > latest)) latest = t;
      } else if (f.time && (latest === null || f.time > latest)) latest = f.time;
    }
    return { messages, authors, latest };
  }

  const isTwin = (v) => v && typeof v === "object" && Array.isArray(v.rows) && Array.isArray(v.tracks);

  // ---- loading: leaderboard.json, plus listings for the live figures ------------------------------
  async function load() {
    credentialsRefused = false;
    const errors = {};
    const settle = (name, promise) => promise.catch((e) => { errors[name] = e; return null; });
    const listing = (name, dir) => (cfg.treeUrl ? settle(name, list(dir)) : Promise.resolve(null));
    const [text, boardFiles, agentFiles, resultFiles] = await Promise.all([
      settle("leaderboard", get(cfg.leaderboardUrl).then((r) => r.text())),
      listing("board", LAYOUT.board),
      listing("agents", LAYOUT.agents),
      listing("results", LAYOUT.results),
    ]);
    let twin = null;
    if (text !== null) {
      try { twin = JSON.parse(text); } catch (e) { twin = null; }
      if (!isTwin(twin)) { twin = null; errors.leaderboard = new ReadError(cfg.leaderboardUrl, 200, "format"); }
    }
    const listed = boardFiles !== null || agentFiles !== null || resultFiles !== null;
    // live: the twin; "no-twin": the bucket reads but has no (usable) leaderboard.json; else unreadable
    const mode = twin ? "live" : listed || (errors.leaderboard || {}).kind === "format" ? "no-twin" : "fallback";
    const data = { mode, errors, board: twin || FALLBACK_LEADERBOARD, stats: null, newer: 0 };
    if (twin && resultFiles) { // result files stored since leaderboard.json was written
      const known = new Set(twin.rows.map((r) => r.file).concat((twin.problems || []).map((p) => p.key)));
      data.newer = resultFiles.filter((f) => /^[^/]+\.json$/.test(f.path.slice(LAYOUT.results.length)) && !known.has(f.path)).length;
    }
    if (boardFiles !== null || agentFiles !== null) {
      const b = boardStats(boardFiles || []);
      const registered = new Set((agentFiles || []).map((f) => f.path.slice(LAYOUT.agents.length))
        .filter((n) => !n.includes("/") && n.endsWith(".md")).map((n) => n.slice(0, -3)));
      data.stats = { messages: boardFiles !== null ? b.messages : null, latest: b.latest, authors: b.authors, registered };
    }
    return data;
  }

  // ---- formatting (dates only: every score arrives as its score_text) ------------------------------
  const pad = (n) => String(n).padStart(2, "0");
  function fmtDate(t) {
    if (!t) return "";
    const d = new Date(t);
    return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
  }
  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  const MIN = 60000, HOUR = 3600000, DAY = 86400000;
  const STEPS = [MIN, 5 * MIN, 10 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
                 DAY, 2 * DAY, 7 * DAY, 14 * DAY, 28 * DAY, 91 * DAY, 364 * DAY];
  /** A time axis on round UTC times: [min, max, step] covering lo..hi with at most `ticks` steps. */
  function timeAxis(lo, hi, ticks) {
    const margin = Math.max((hi - lo) * 0.03, MIN);
    lo -= margin; hi += margin;
    const step = STEPS.find((s) => (hi - lo) / s <= ticks) || STEPS[STEPS.length - 1];
    return [Math.floor(lo / step) * step, Math.ceil(hi / step) * step, step];
  }
  function fmtTick(t, step, prev) {
    const d = new Date(t);
    const day = `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
    if (step >= DAY) return day;
    const clock = `${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
    const newDay = prev === null || new Date(prev).getUTCDate() !== d.getUTCDate();
    return newDay ? [clock, day] : clock;
  }
  function ago(t) {
    const s = Math.max(0, (Date.now() - t) / 1000);
    if (s < 90) return "just now";
    if (s < 5400) return `${Math.round(s / 60)} min ago`;
    if (s < 129600) return `${Math.round(s / 3600)} h ago`;
    return `${Math.round(s / 86400)} days ago`;
  }
  const clip = (text, n) => (text.length > n ? text.slice(0, n - 1) + "…" : text);

  // ---- drawing (DOM built with textContent only) --------------------------------------------------
  const $ = (id) => document.getElementById(id);
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }
  const setText = (id, text) => { $(id).textContent = text; };

  const MARKS = {
    verified: ["✓", "mark-verified", "verified"],
    "self-reported": ["○", "mark-self", "self-reported"],
    invalid: ["✗", "mark-invalid", "invalid"],
    baseline: ["—", "mark-baseline", "baseline"],
  };
  // ✓ only for row.verified (the leaderboard's rule: verified and not flagged)
  const markOf = (row) => (row.status === "invalid" ? MARKS.invalid
    : row.flag ? ["⚠", "mark-flagged", `${row.status}, flagged`]
    : row.verified ? MARKS.verified : MARKS[row.status] || MARKS["self-reported"]);
  const whyOf = (row) => (row.status === "invalid" ? row.reason : row.flag) || "";

  function statusCell(row) {
    const td = el("td", "status-cell");
    const wrap = el("span", "status");
    const [mark, cls, word] = markOf(row);
    wrap.appendChild(el("span", "mark " + cls, mark));
    wrap.appendChild(el("span", "word", word));
    td.appendChild(wrap);
    if (whyOf(row)) td.appendChild(el("span", "status-reason", clip(whyOf(row), 160)));
    td.title = [word, row.detail, whyOf(row)].filter(Boolean).join(" · ");
    return td;
  }

  function renderTable(rows) {
    const body = $("rows");
    body.replaceChildren();
    for (const row of rows) {
      const tr = el("tr", row.status === "baseline" ? "baseline" : row.status === "invalid" ? "invalid" : "");
      if (row.rank === 1) tr.classList.add("top1");
      tr.appendChild(el("td", "num rank", row.rank ? String(row.rank) : row.status === "baseline" ? "–" : ""));
      const agent = el("td", "agent");
      agent.appendChild(el("span", "", row.agent_id));
      const [mark, cls, word] = markOf(row);  // on a phone the status column folds into this mark
      const small = el("span", "m-mark mark " + cls, mark);
      small.title = word;
      agent.appendChild(small);
      tr.appendChild(agent);
      tr.appendChild(el("td", "num score", row.score_text));
      const exp = el("td", "exp");
      const text = el(row.file && /^https?:/.test(cfg.fileUrl) ? "a" : "span", "text", row.experiment || "—");
      if (text.tagName === "A") { text.href = fileUrl(row.file); text.rel = "noopener"; text.title = row.file; }
      exp.appendChild(text);
      const details = [row.model, row.detail].filter(Boolean).join(" · ");
      if (details) exp.appendChild(el("span", "detail", clip(details, 120)));
      if (row.date) exp.appendChild(el("span", "detail m-date", row.date));
      if (whyOf(row)) exp.appendChild(el("span", "detail m-date", clip(whyOf(row), 120)));
      tr.appendChild(exp);
      tr.appendChild(statusCell(row));
      tr.appendChild(el("td", "date", row.date));
      body.appendChild(tr);
    }
    if (!rows.length) {
      const tr = el("tr", "empty-row");
      const td = el("td", "", "No entries yet.");
      td.colSpan = 6;
      tr.appendChild(td);
      body.appendChild(tr);
    }
  }

  /** The chart's data for one section, straight from the leaderboard: points, its best line, baselines. */
  function series(rows, section) {
    const results = rows.filter((r) => r.status !== "baseline");
    const points = results.filter((r) => r.time).map((r) => ({
      t: ms(r.time), score: r.score, text: r.score_text, agent: r.agent_id, experiment: r.experiment, status: r.status,
      verified: r.verified, flagged: !!r.flag, file: r.file,
    })).sort((a, b) => a.t - b.t);
    const best = (section.best_line || []).map((b) => ({ t: ms(b.time), score: b.score, text: b.score_text, agent: b.agent_id,
                                                          experiment: b.experiment }));
    const baselines = rows.filter((r) => r.status === "baseline")
      .map((r) => ({ name: r.experiment, score: r.score, text: r.score_text, track: r.track }));
    return { points, best, baselines, undated: results.length - points.length };
  }

  const COLORS = {
    verified: "#0f9d58", "self-reported": "#5b6b8c", flagged: "#d69e2e", invalid: "#c0392b",
    best: "#4f46e5", baseline: "#8a93a6",
  };
  let chart = null;

  function renderChart(s, data) {
    const empty = !s.points.length;
    $("chart-empty").hidden = !empty;
    $("chart-box").hidden = empty;
    if (typeof window.Chart !== "function") { setText("chart-note", "The chart library did not load."); return; }
    if (empty) {
      setText("chart-empty", data.mode === "live" ? "No results yet: the chart fills in as agents submit."
        : "The chart appears once the space's leaderboard.json can be read.");
      return;
    }
    let lo = s.points[0].t;
    let hi = s.points[s.points.length - 1].t;
    const last = hi;
    if (hi - lo < 10 * MIN) { lo -= 5 * MIN; hi += 5 * MIN; }
    const narrow = $("chart").clientWidth < 520;
    const [xmin, xmax, step] = timeAxis(lo, hi, narrow ? 4 : 8);
    const group = (pred) => s.points.filter(pred).map((p) => ({ x: p.t, y: p.score, p }));
    const tail = s.best.length ? s.best[s.best.length - 1] : null;
    const datasets = [
      { label: "Best so far", type: "line", data: s.best.map((b) => ({ x: b.t, y: b.score, p: b }))
          .concat(tail ? [{ x: last, y: tail.score, p: tail }] : []),
        stepped: "before", borderColor: COLORS.best, backgroundColor: COLORS.best, borderWidth: 2.5,
        pointRadius: s.best.map(() => 3.5).concat([0]), pointHoverRadius: 5, fill: false, order: 1 },
      { label: "Verified", data: group((p) => p.verified), backgroundColor: COLORS.verified,
        borderColor: "#ffffff", borderWidth: 1, pointRadius: 5, pointHoverRadius: 7, order: 2 },
      { label: "Self-reported", data: group((p) => p.status === "self-reported" && !p.flagged),
        backgroundColor: COLORS["self-reported"], borderColor: "#ffffff", borderWidth: 1, pointRadius: 5, pointHoverRadius: 7, order: 2 },
      { label: "Flagged", data: group((p) => p.flagged && p.status !== "invalid"), backgroundColor: COLORS.flagged,
        borderColor: "#ffffff", borderWidth: 1, pointRadius: 5, pointHoverRadius: 7, pointStyle: "triangle", order: 2 },
      { label: "Invalid", data: group((p) => p.status === "invalid"), backgroundColor: COLORS.invalid,
        borderColor: COLORS.invalid, borderWidth: 2, pointRadius: 5, pointHoverRadius: 7, pointStyle: "crossRot", order: 2 },
    ].filter((d) => d.data.length);
    for (const b of s.baselines) {
      datasets.push({ label: `Baseline: ${clip(b.name, 40)}`, type: "line", data: [{ x: xmin, y: b.score, p: b }, { x: xmax, y: b.score, p: b }],
        borderColor: COLORS.baseline, borderDash: [6, 4], borderWidth: 1.5, pointRadius: 0, pointHoverRadius: 0, fill: false, order: 3 });
    }
    const options = {
      responsive: true, maintainAspectRatio: false, animation: false,
      interaction: { mode: "nearest", intersect: true },
      scales: {
        x: { type: "linear", min: xmin, max: xmax, grid: { color: "#eef0f4" },
             ticks: { stepSize: step, maxTicksLimit: 30, maxRotation: 0, autoSkip: false, color: "#667085",
                      callback: (v, i, all) => fmtTick(v, step, i > 0 ? all[i - 1].value : null) } },
        y: { grid: { color: "#eef0f4" }, ticks: { color: "#667085" },
             title: { display: !narrow, text: `${METRIC_NAME} (${HIGHER ? "higher" : "lower"} is better)`, color: "#667085" } },
      },
      plugins: {
        legend: { position: "bottom", labels: { usePointStyle: true, boxWidth: 8, boxHeight: 8, color: "#3b4456", padding: 14,
          generateLabels: (c) => window.Chart.defaults.plugins.legend.labels.generateLabels(c).map((item) => (
            c.data.datasets[item.datasetIndex].type === "line" ? { ...item, pointStyle: "line" } : item)) } },
        tooltip: {
          callbacks: {
            title: (items) => (items.length && items[0].raw.p && items[0].raw.p.t ? fmtDate(items[0].raw.p.t) + " UTC" : ""),
            label: (item) => {
              const p = item.raw.p || {};
              if (item.dataset.label.startsWith("Baseline")) return `${item.dataset.label}: ${p.text}`;
              if (item.datasetIndex === 0) return `Best so far: ${p.text} (${p.agent})`;
              return `${p.agent}: ${p.text} · ${clip(p.experiment || "", 60)}`;
            },
          },
        },
      },
    };
    if (chart) { chart.data.datasets = datasets; chart.options = options; chart.update("none"); }
    else chart = new window.Chart($("chart"), { type: "scatter", data: { datasets }, options });
  }

  function showBanner(data) {
    const box = $("banner");
    box.replaceChildren();
    if (data.mode === "live") { box.hidden = true; return; }
    box.appendChild(el("span", "icon", "!"));
    const text = el("div");
    const p = el("p");
    const error = data.errors.leaderboard || data.errors.board || data.errors.results || new ReadError(cfg.leaderboardUrl, 0, "network");
    if (data.mode === "no-twin") {
      text.appendChild(el("strong", "", error.kind === "format" ? `${LAYOUT.leaderboard} in this space is not one collabspace wrote.`
        : `This space has no ${LAYOUT.leaderboard} yet.`));
      p.appendChild(document.createTextNode(`collabspace writes it next to ${LAYOUT.table} at every submit; a space made `
        + "by an older version gets it at its next submit, or with: collab leaderboard --write. "));
    } else {
      text.appendChild(el("strong", "", error.kind === "network"
        ? "The bucket could not be reached (network error)."
        : `The bucket could not be read (HTTP ${error.status}).`));
      if (error.kind === "denied" || error.kind === "missing") {
        p.appendChild(document.createTextNode("Private bucket? "));
        if (cfg.hub) {
          const a = el("a", "", "Sign in to Hugging Face");
          a.href = `${cfg.hub}/login?next=${encodeURIComponent(new URL(cfg.bucketPage).pathname)}`;
          a.rel = "noopener";
          p.appendChild(a);
        } else p.appendChild(document.createTextNode("Sign in to Hugging Face"));
        p.appendChild(document.createTextNode(` with an account that can read ${cfg.label}, then reload this page. `));
      } else {
        p.appendChild(document.createTextNode("Check your connection, or the bucket URL at the top of the page's script. "));
      }
    }
    p.appendChild(document.createTextNode("Meanwhile the spec's baselines are shown."));
    text.appendChild(p);
    box.appendChild(text);
    box.hidden = false;
  }

  let lastBest = null;
  let toastTimer = null;
  function announce(headline) {
    if (headline && lastBest && headline.file !== lastBest.file && (HIGHER ? headline.score > lastBest.score : headline.score < lastBest.score)) {
      const box = $("toast");
      box.textContent = `New best: ${headline.score_text} by ${headline.agent_id}` + (headline.experiment ? ` (${clip(headline.experiment, 60)})` : "");
      box.hidden = false;
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => { box.hidden = true; }, 15000);
    }
    if (headline) lastBest = headline;
  }

  function renderStats(data, rows, headline) {
    const live = data.mode === "live";
    const results = rows.filter((r) => r.status !== "baseline");
    setText("stat-best-label", `Best ${METRIC_NAME}`);
    setText("stat-best", headline ? headline.score_text : "–");
    setText("stat-best-note", headline ? `${headline.agent_id} · ${headline.status}` : live ? "no valid result yet" : "");
    setText("stat-results", live ? String(results.length) : "–");
    const count = (pred) => results.filter(pred).length;
    const invalid = count((r) => r.status === "invalid");
    const flagged = count((r) => r.flag && r.status !== "invalid");
    setText("stat-results-note", live ? `${count((r) => r.verified)} verified` + (invalid ? ` · ${invalid} invalid` : "")
      + (flagged ? ` · ${flagged} flagged` : "") : "");
    const st = data.stats;
    if (st) {
      const agents = new Set([...st.registered, ...st.authors, ...results.map((r) => r.agent_id)]);
      setText("stat-agents", String(agents.size));
      setText("stat-agents-note", `${st.registered.size} registered · ${st.authors.size} posting`);
      setText("stat-messages", st.messages === null ? "–" : String(st.messages));
      setText("stat-messages-note", st.latest ? `latest ${ago(st.latest)}` : st.messages === null ? "" : "no messages yet");
      $("stat-messages-note").title = st.latest ? fmtDate(st.latest) + " UTC" : "";
    } else {
      setText("stat-agents", live ? String(new Set(results.map((r) => r.agent_id)).size) : "–");
      setText("stat-agents-note", live ? "with results" : "");
      setText("stat-messages", "–");
      setText("stat-messages-note", "");
    }
  }

  function notes(data, s) {
    const problems = data.board.problems || [];
    const bits = [];
    if (data.newer) bits.push(`${data.newer} newer result file${data.newer > 1 ? "s" : ""} not on the leaderboard yet (it is regenerated at the next submit)`);
    if (problems.length) bits.push(`${problems.length} file${problems.length > 1 ? "s" : ""} could not be used (collab doctor)`);
    setText("table-note", bits.join(" · "));
    $("table-note").title = problems.map((p) => `${p.key}: ${p.reason}`).join("\n");
    setText("chart-note", s.undated ? `${s.undated} result${s.undated > 1 ? "s" : ""} without a date not plotted` : "");
  }

  // ---- tracks: one section of the leaderboard per track ----------------------------------------------
  let currentTrack = params.get("track");
  function pickSection(board) {
    const sections = board.tracks.length ? board.tracks : [{ id: null, title: "", headline: null, best_line: [] }];
    let section = sections.find((t) => t.id === currentTrack) || sections[0];
    currentTrack = section.id;
    if (sections.length > 1) {
      const select = $("track");
      const ids = sections.map((t) => String(t.id));
      if ([...select.options].map((o) => o.value).join("\n") !== ids.join("\n")) {
        select.replaceChildren(...ids.map((t) => { const o = el("option", "", t); o.value = t; return o; }));
      }
      select.value = String(section.id);
      $("track-pick").hidden = false;
    }
    return section;
  }

  let refreshes = 0;
  let lastData = null;
  function render(data, fresh = false) {
    lastData = data;
    const section = pickSection(data.board);
    const rows = data.board.rows.filter((r) => r.track === section.id);
    const headline = section.headline || null;
    const s = series(rows, section);
    showBanner(data);
    renderStats(data, rows, headline);
    renderTable(rows);
    renderChart(s, data);
    notes(data, s);
    if (data.mode === "live" && fresh) announce(headline);
    setText("updated", `· updated ${fmtDate(Date.now())} UTC`);
    if (fresh) refreshes++;
    const error = data.errors.leaderboard || data.errors.board || data.errors.results;
    window.__collab = {
      ready: true, refreshes, mode: data.mode, error: data.mode === "live" ? null : (error || {}).message || "unreadable",
      points: s.points, best: s.best, baselines: s.baselines.map(({ name, score, track }) => ({ name, score, track })),
      headline, newer: data.newer,
      rows: rows.map((r) => ({ rank: r.rank, agent: r.agent_id, score: r.score, score_text: r.score_text, experiment: r.experiment,
                               status: r.status, verified: r.verified, flag: r.flag, time: ms(r.time), file: r.file, track: r.track })),
      stats: data.stats ? { messages: data.stats.messages, latest: data.stats.latest, authors: [...data.stats.authors].sort(),
                            registered: [...data.stats.registered].sort() } : null,
      problems: (data.board.problems || []).map((p) => `${p.key}: ${p.reason}`), urls: { ...cfg },
    };
  }

  // ---- start --------------------------------------------------------------------------------------
  document.title = TITLE;
  setText("title", TITLE);
  const metricLine = `${METRIC_NAME} · ${HIGHER ? "higher" : "lower"} is better` + (METRIC_DESCRIPTION ? ` · ${METRIC_DESCRIPTION}` : "");
  setText("subtitle", metricLine);
  setText("score-head", METRIC_NAME);
  setText("refresh", REFRESH_SECONDS >= 60 && REFRESH_SECONDS % 60 === 0 ? `${REFRESH_SECONDS / 60} min` : `${REFRESH_SECONDS} s`);
  const link = $("bucket-link");
  link.textContent = cfg.label;
  if (/^https?:\/\//.test(cfg.bucketPage)) link.href = cfg.bucketPage; else link.removeAttribute("href");

  $("track").addEventListener("change", (e) => {
    const t = (lastData ? lastData.board : FALLBACK_LEADERBOARD).tracks.find((x) => String(x.id) === e.target.value);
    currentTrack = t ? t.id : null;
    lastBest = null;
    if (lastData) render(lastData);
  });

  let busy = false, last = 0;
  async function refresh() {
    if (busy) return;
    busy = true;
    last = Date.now();
    try { render(await load(), true); }
    catch (e) { console.error(e); window.__collab = Object.assign(window.__collab || {}, { lastError: String(e) }); }
    finally { busy = false; }
  }
  window.__collabRefresh = refresh;
  refresh();
  setInterval(() => { if (!document.hidden) refresh(); }, Math.max(10, REFRESH_SECONDS) * 1000);
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && Date.now() - last > REFRESH_SECONDS * 1000) refresh();
  });
})();
