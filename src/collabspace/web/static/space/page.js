"use strict";
// ==== Configuration (written by `collab export-space`; edit to point the page elsewhere) ====
/*@CONFIG@*/
// =============================================================================================

// Everything below reads the bucket and draws the page. Text from the bucket is only ever
// inserted with textContent (never as HTML), so a result or message cannot inject markup.
(function () {
  const params = new URLSearchParams(window.location.search);
  const HUB_BUCKET = /^(https?:\/\/.+?)\/buckets\/([^\/?#]+)\/([^\/?#]+)(?:\/([^?#]*))?$/;
  const MAX_FETCH_PER_REFRESH = 300; // result files read per refresh; the rest follow on the next ones
  const FETCH_WORKERS = 8;
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
      super(kind === "network" ? `network error reading ${url}` : `HTTP ${status} reading ${url}`);
      this.url = url; this.status = status; this.kind = kind;
    }
  }
  let withCredentials = false; // true once the visitor's session was needed and worked
  let credentialsRefused = false; // reset on every refresh: the visitor may have signed in meanwhile

  async function get(url, fresh = true) {
    const opts = { cache: fresh ? "no-store" : "default", credentials: withCredentials ? "include" : "same-origin" };
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
        if (!path.startsWith(dir)) continue;
        out.push({ path, size: it.size, time: parseTime(it.uploadedAt) || parseTime(it.mtime), xet: it.xetHash });
      }
      url = nextLink(resp.headers.get("Link"));
    }
    return out;
  }

  async function pool(items, workers, fn) {
    const out = new Array(items.length);
    let next = 0;
    const run = async () => {
      while (next < items.length) {
        const k = next++;
        try { out[k] = await fn(items[k]); } catch (e) { out[k] = e; }
      }
    };
    await Promise.all(Array.from({ length: Math.min(workers, items.length) }, run));
    return out;
  }

  // ---- parsing -----------------------------------------------------------------------------------
  /** A time as ms since the epoch: ISO 8601, "YYYY-MM-DD HH:mm UTC", "YYYYMMDD-HHmmss", a date. */
  function parseTime(value) {
    if (value === null || value === undefined || value === "") return null;
    if (typeof value === "number") return value > 1e12 ? value : value * 1000;
    const s = String(value).trim();
    const m = /^(\d{4})-?(\d{2})-?(\d{2})(?:[T\s_-]+(\d{2}):?(\d{2})(?::?(\d{2})(?:\.(\d+))?)?)?\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?$/i.exec(s);
    if (m) {
      const ms = m[7] ? Number((m[7] + "00").slice(0, 3)) : 0;
      let t = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0), ms);
      const zone = m[8] && /^[+-]/.test(m[8]) ? m[8].replace(":", "") : null;
      if (zone) t -= (zone[0] === "-" ? -1 : 1) * (Number(zone.slice(1, 3)) * 60 + Number(zone.slice(3, 5))) * 60000;
      return Number.isFinite(t) ? t : null;
    }
    const t = Date.parse(s);
    return Number.isFinite(t) ? t : null;
  }
  const hasClock = (text) => /\d{1,2}:\d{2}|T\d{2}/.test(String(text || ""));

  function parseNumber(text) {
    if (typeof text === "number") return Number.isFinite(text) ? text : NaN;
    if (typeof text !== "string") return NaN;
    const m = /[-+]?(?:\d+\.?\d*|\.\d+)(?:e[-+]?\d+)?/i.exec(text.replace(/,(?=\d{3}\b)/g, ""));
    return m ? Number(m[0]) : NaN;
  }

  function cleanCell(text) {
    return String(text)
      .replace(/<!--.*?-->/g, "")
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/~~|\*\*|__|`/g, "")
      .trim();
  }

  function splitRow(line) {
    let s = line.trim();
    if (s.startsWith("|")) s = s.slice(1);
    if (s.endsWith("|") && !s.endsWith("\\|")) s = s.slice(0, -1);
    const cells = [];
    let cur = "";
    for (let i = 0; i < s.length; i++) {
      if (s[i] === "\\" && s[i + 1] === "|") { cur += "|"; i++; }
      else if (s[i] === "|") { cells.push(cur.trim()); cur = ""; }
      else cur += s[i];
    }
    cells.push(cur.trim());
    return cells;
  }
  const isSeparator = (line) => /-/.test(line) && /^[\s|:\-]+$/.test(line) && line.includes("|") || /^\s*:?-{3,}:?\s*$/.test(line);

  function columnOf(headers, patterns) {
    for (const re of patterns) {
      const i = headers.findIndex((h) => re.test(h));
      if (i >= 0) return i;
    }
    return -1;
  }

  /** Status words as the leaderboard writes them, and as people write them by hand. */
  function statusOf(text, struck) {
    const t = String(text || "").toLowerCase();
    if (struck || /invalid|rejected|disqualif|✗|❌/.test(t)) return "invalid";
    if (/baseline|reference/.test(t)) return "baseline";
    if (/self|unverified|claimed|reported/.test(t)) return "self-reported";
    if (/verified|✓|✅|\bvalid\b|\bok\b/.test(t)) return "verified";
    if (/pending|checking|queued/.test(t)) return "pending";
    return "self-reported";
  }

  /** Rows of every pipe table in LEADERBOARD.md (a "best per agent" table repeats rows: skipped). */
  function parseLeaderboard(text) {
    const lines = String(text).split(/\r?\n/);
    const rows = [];
    let heading = "";
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i].trim();
      const h = /^#{1,6}\s+(.*)$/.exec(line);
      if (h) { heading = h[1]; continue; }
      if (!line.includes("|") || i + 1 >= lines.length || !isSeparator(lines[i + 1])) continue;
      const headers = splitRow(line).map((c) => cleanCell(c).toLowerCase());
      const body = [];
      for (i += 2; i < lines.length && lines[i].includes("|") && lines[i].trim(); i++) body.push(lines[i]);
      i--;
      if (/best per agent/i.test(heading)) continue;
      const trackMatch = /track\s+`?([^`]+?)`?\s*$/i.exec(heading);
      rows.push(...tableRows(headers, body.map(splitRow), trackMatch ? trackMatch[1] : null));
    }
    return rows;
  }

  function tableRows(headers, body, track) {
    const metric = METRIC_NAME.toLowerCase();
    const col = {
      rank: columnOf(headers, [/^(#|rank|pos|position|place)$/]),
      agent: columnOf(headers, [/^agent(_id| id)?$/, /^(author|who|submitter|by|team|user)$/, /^name$/]),
      score: columnOf(headers, [new RegExp("^" + metric.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\b"), /^score\b/, /^(metric|value)$/]),
      experiment: columnOf(headers, [/^(experiment|approach|method|submission|run|title)$/, /^(description|notes?)$/]),
      model: columnOf(headers, [/^model\b/]),
      status: columnOf(headers, [/^(status|verified|verification|state|valid(ity)?)$/]),
      date: columnOf(headers, [/^(date|time|timestamp|when|submitted|updated)\b/]),
      file: columnOf(headers, [/^(result|results|file|artifact|artifacts|link|json)$/]),
    };
    if (col.score < 0) { // no named score column: the first mostly numeric one that is not the rank
      for (let c = 0; c < headers.length && col.score < 0; c++) {
        if (Object.values(col).includes(c)) continue;
        const numeric = body.filter((r) => Number.isFinite(parseNumber(cleanCell(r[c] || "")))).length;
        if (body.length && numeric >= body.length / 2) col.score = c;
      }
    }
    if (col.score < 0) return [];
    const cell = (r, c) => (c >= 0 && c < r.length ? r[c] : "");
    const out = [];
    for (const r of body) {
      const raw = cell(r, col.score);
      const struck = /~~/.test(cell(r, col.agent)) || /~~/.test(raw);
      const statusText = cleanCell(cell(r, col.status));
      const agent = cleanCell(cell(r, col.agent));
      let status = statusOf(statusText, struck);
      if (/^baseline$/i.test(agent) && !statusText) status = "baseline";
      const link = /\]\(([^)\s]+)\)/.exec(cell(r, col.file));
      let file = link ? link[1] : cleanCell(cell(r, col.file));
      if (!/\.json$/i.test(file) || file.includes("://")) file = "";
      const dateText = cleanCell(cell(r, col.date));
      const flag = /⚠\s*(.*)$/.exec(statusText);
      const reason = status === "invalid" ? statusText.replace(/^invalid\s*:?\s*/i, "") : "";
      out.push({
        agent: agent || "?", score: parseNumber(cleanCell(raw)), scoreText: cleanCell(raw),
        experiment: cleanCell(cell(r, col.experiment)), model: cleanCell(cell(r, col.model)),
        status, flag: flag ? flag[1] || "builds on an invalid result" : "", reason,
        detail: status === "verified" ? (/\(([^)]*)\)/.exec(statusText) || [])[1] || "" : "",
        time: parseTime(dateText), precise: hasClock(dateText), file: file.replace(/^\.?\//, ""),
        track: track || null, source: "leaderboard",
      });
    }
    return out;
  }

  const str = (v) => (v === null || v === undefined ? "" : typeof v === "object" ? JSON.stringify(v) : String(v));
  const ownerOf = (path) => {
    const m = /_([a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?)\.json$/.exec(path);
    return m ? m[1] : "";
  };

  /** A row from a result JSON (required: agent_id, experiment, score; the rest is optional). */
  function resultRow(file, obj) {
    if (!obj || typeof obj !== "object" || Array.isArray(obj)) throw new Error("not a JSON object");
    let score = parseNumber(typeof obj.score === "string" ? obj.score : obj.score);
    if (!Number.isFinite(score)) score = parseNumber(obj[METRIC_NAME]);
    const agent = str(obj.agent_id || obj.agent || ownerOf(file.path));
    if (!Number.isFinite(score) || !agent) throw new Error("no agent_id or no finite score");
    const claimed = String(obj.status || "").toLowerCase();
    let status = claimed ? statusOf(claimed, false) : obj.verified === true ? "verified" : "self-reported";
    if (obj.valid === false || obj.invalid === true) status = "invalid";
    // "verified" without the verification block is only a claim (the leaderboard says the same)
    if (status === "verified" && (!obj.verification || typeof obj.verification !== "object")) status = "self-reported";
    if (status === "baseline") status = "self-reported";
    const v = obj.verification || {};
    const stamp = obj.timestamp || obj.date || obj.created_at || obj.submitted_at;
    return {
      agent, score, scoreText: "", experiment: str(obj.experiment || obj.name || obj.title),
      model: str(obj.model), status, flag: "", reason: str(obj.invalid_reason),
      detail: status === "verified" && v.total ? `${str(v.scorer)} ${str(v.correct)}/${str(v.total)}`.trim() : "",
      time: parseTime(stamp) || file.time, precise: stamp ? hasClock(stamp) : !!file.time,
      file: file.path, track: obj.track ? str(obj.track) : null, source: "result",
    };
  }

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

  // ---- loading -----------------------------------------------------------------------------------
  const resultCache = new Map(); // path -> {stamp, row | error}: result files are immutable
  const verdictCache = new Map();

  async function readResults(files, known) {
    const wanted = files.filter((f) => {
      const name = f.path.slice(LAYOUT.results.length);
      return !name.includes("/") && /\.json$/i.test(name) && !known.has(f.path);
    });
    const stamp = (f) => `${f.size}|${f.xet || ""}|${f.time || ""}`;
    const todo = wanted.filter((f) => !resultCache.has(f.path) || resultCache.get(f.path).stamp !== stamp(f))
      .sort((a, b) => (b.time || 0) - (a.time || 0))
      .slice(0, MAX_FETCH_PER_REFRESH);
    await pool(todo, FETCH_WORKERS, async (f) => {
      let entry;
      try {
        const resp = await get(fileUrl(f.path), false);
        entry = { stamp: stamp(f), row: resultRow(f, JSON.parse(await resp.text())) };
      } catch (e) {
        entry = { stamp: stamp(f), error: String(e.message || e) };
      }
      resultCache.set(f.path, entry);
    });
    const rows = [], problems = [];
    let pending = 0;
    for (const f of wanted) {
      const hit = resultCache.get(f.path);
      if (!hit) pending++;
      else if (hit.row) rows.push(hit.row);
      else problems.push(`${f.path}: ${hit.error}`);
    }
    return { rows, problems, pending };
  }

  async function applyVerdicts(rows, verdictFiles) {
    const names = new Map(verdictFiles.map((f) => [f.path.slice(LAYOUT.verdicts.length), f]));
    await pool(rows.filter((r) => r.source === "result" && r.status !== "invalid"), FETCH_WORKERS, async (row) => {
      const f = names.get(row.file.split("/").pop());
      if (!f) return;
      if (!verdictCache.has(f.path)) {
        try { verdictCache.set(f.path, JSON.parse(await (await get(fileUrl(f.path), false)).text())); }
        catch (e) { verdictCache.set(f.path, null); }
      }
      const v = verdictCache.get(f.path);
      // only the result's owner or an organizer can invalidate it
      if (v && typeof v === "object" && (v.by === ownerOf(row.file) || v.by === row.agent || ORGANIZERS.includes(v.by))) {
        row.status = "invalid";
        row.reason = `invalidated by ${str(v.by)}: ${str(v.reason)}`;
      }
    });
  }

  const sameRow = (a, b) => a.agent === b.agent && Math.abs(a.score - b.score) < 1e-9 && a.experiment === b.experiment;

  async function load() {
    credentialsRefused = false;
    const errors = {};
    const settle = (name, promise) => promise.catch((e) => { errors[name] = e; return null; });
    const listing = (name, dir) => (cfg.treeUrl ? settle(name, list(dir)) : Promise.resolve(null));
    const [lbText, resultFiles, boardFiles, agentFiles, verdictFiles] = await Promise.all([
      settle("leaderboard", get(cfg.leaderboardUrl).then((r) => r.text())),
      listing("results", LAYOUT.results),
      listing("board", LAYOUT.board),
      listing("agents", LAYOUT.agents),
      listing("verdicts", LAYOUT.verdicts),
    ]);
    const readable = lbText !== null || resultFiles !== null || boardFiles !== null;
    const data = { errors, readable, problems: [], pending: 0, rows: [], baselines: [], stats: null };
    if (!readable) {
      data.rows = FALLBACK_ENTRIES.map((e) => ({
        agent: str(e.agent || (e.status === "baseline" ? "baseline" : "?")), score: parseNumber(e.score), scoreText: "",
        experiment: str(e.experiment || e.name), model: str(e.model || e.notes), status: statusOf(e.status || "baseline"),
        flag: "", reason: "", detail: "", time: parseTime(e.timestamp || e.date), precise: false, file: "",
        track: e.track || null, source: "fallback",
      }));
      return finish(data);
    }
    const lbRows = lbText !== null ? parseLeaderboard(lbText) : [];
    const byFile = new Map(lbRows.filter((r) => r.file).map((r) => [r.file, r]));
    for (const f of resultFiles || []) { // the listing knows when a file was uploaded
      const row = byFile.get(f.path);
      // the upload time is to the second, the table's date to the minute (or the day)
      if (row && f.time && (!row.time || !row.precise || Math.abs(f.time - row.time) < 120000)) { row.time = f.time; row.precise = true; }
    }
    const fromFiles = await readResults(resultFiles || [], new Set(byFile.keys()));
    data.problems = fromFiles.problems;
    data.pending = fromFiles.pending;
    await applyVerdicts(fromFiles.rows, verdictFiles || []);
    const extra = fromFiles.rows.filter((r) => !lbRows.some((l) => !l.file && l.status !== "baseline" && sameRow(l, r)));
    data.rows = lbRows.concat(extra);
    if (boardFiles !== null || agentFiles !== null) {
      const b = boardStats(boardFiles || []);
      const registered = new Set((agentFiles || []).map((f) => f.path.slice(LAYOUT.agents.length))
        .filter((n) => !n.includes("/") && n.endsWith(".md")).map((n) => n.slice(0, -3)));
      data.stats = { messages: boardFiles !== null ? b.messages : null, latest: b.latest, authors: b.authors, registered };
    }
    return finish(data);
  }

  function finish(data) {
    // baselines: the bucket's rows, plus the spec's reference entries it does not list
    const baselines = data.rows.filter((r) => r.status === "baseline");
    for (const e of FALLBACK_ENTRIES) {
      if ((e.status || "baseline") !== "baseline") continue;
      const score = parseNumber(e.score);
      const name = str(e.experiment || e.name);
      if (!baselines.some((b) => Math.abs(b.score - score) < 1e-9 && (b.experiment === name || !b.experiment))) {
        const row = { agent: "baseline", score, scoreText: "", experiment: name, model: str(e.notes), status: "baseline",
                      flag: "", reason: "", detail: "", time: null, precise: false, file: "", track: e.track || null, source: "fallback" };
        baselines.push(row);
        data.rows.push(row);
      }
    }
    // the same baseline repeated in every track's table is one reference line
    const seen = new Set();
    data.rows = data.rows.filter((r) => {
      if (r.status !== "baseline") return true;
      const key = `${r.experiment}|${r.score}|${r.track || ""}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    return data;
  }

  // ---- ranking and the chart's series --------------------------------------------------------------
  const better = (a, b) => (HIGHER ? a > b : a < b);
  const byScore = (a, b) => (HIGHER ? b.score - a.score : a.score - b.score);

  function rank(rows) {
    const numeric = rows.filter((r) => Number.isFinite(r.score));
    const live = numeric.filter((r) => r.status !== "invalid")
      .sort((a, b) => byScore(a, b) || (a.status === "baseline" ? -1 : 0) - (b.status === "baseline" ? -1 : 0) || (a.time || 0) - (b.time || 0));
    let n = 0;
    const ranked = live.map((r) => ({ ...r, rank: r.status === "baseline" ? null : ++n }));
    const invalid = numeric.filter((r) => r.status === "invalid").sort(byScore).map((r) => ({ ...r, rank: null }));
    const other = rows.filter((r) => !Number.isFinite(r.score)).map((r) => ({ ...r, rank: null }));
    return ranked.concat(invalid, other);
  }

  function series(rows) {
    const results = rows.filter((r) => r.status !== "baseline" && Number.isFinite(r.score));
    const points = results.filter((r) => r.time).map((r) => ({
      t: r.time, score: r.score, agent: r.agent, experiment: r.experiment, status: r.status, flagged: !!r.flag, file: r.file,
    })).sort((a, b) => a.t - b.t);
    const best = [];
    for (const p of points) {
      if (p.status === "invalid") continue;
      if (!best.length || better(p.score, best[best.length - 1].score)) best.push({ t: p.t, score: p.score, agent: p.agent, experiment: p.experiment });
    }
    const baselines = rows.filter((r) => r.status === "baseline" && Number.isFinite(r.score))
      .map((r) => ({ name: r.experiment || r.agent, score: r.score, track: r.track }));
    return { points, best, baselines, undated: results.length - points.length };
  }

  // ---- formatting --------------------------------------------------------------------------------
  const fmtScore = (v) => (Number.isFinite(v) ? (Math.abs(v) >= 1000 ? v.toLocaleString("en", { maximumFractionDigits: 2 }) : String(Number(v.toPrecision(5)))) : "—");
  const pad = (n) => String(n).padStart(2, "0");
  function fmtDate(t, precise = true) {
    if (!t) return "";
    const d = new Date(t);
    const day = `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())}`;
    return precise ? `${day} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}` : day;
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
    pending: ["…", "mark-pending", "pending"],
  };

  const markOf = (row) => (row.flag && row.status !== "invalid" ? ["⚠", "mark-flagged", `${row.status}, flagged`]
    : MARKS[row.status] || MARKS["self-reported"]);
  const whyOf = (row) => (row.status === "invalid" ? row.reason : row.flag);

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
    let first = true;
    for (const row of rows) {
      const tr = el("tr", row.status === "baseline" ? "baseline" : row.status === "invalid" ? "invalid" : "");
      if (row.rank === 1 && first) { tr.classList.add("top1"); first = false; }
      tr.appendChild(el("td", "num rank", row.rank ? String(row.rank) : row.status === "baseline" ? "–" : ""));
      const agent = el("td", "agent");
      agent.appendChild(el("span", "", row.agent));
      const [mark, cls, word] = markOf(row);  // on a phone the status column folds into this mark
      const small = el("span", "m-mark mark " + cls, mark);
      small.title = word;
      agent.appendChild(small);
      tr.appendChild(agent);
      tr.appendChild(el("td", "num score", Number.isFinite(row.score) ? fmtScore(row.score) : row.scoreText || "—"));
      const exp = el("td", "exp");
      const text = el(row.file && /^https?:/.test(cfg.fileUrl) ? "a" : "span", "text", row.experiment || "—");
      if (text.tagName === "A") { text.href = fileUrl(row.file); text.rel = "noopener"; text.title = row.file; }
      exp.appendChild(text);
      const details = [row.status === "baseline" ? row.model : row.model, row.detail].filter(Boolean).join(" · ");
      if (details) exp.appendChild(el("span", "detail", clip(details, 120)));
      if (row.time) exp.appendChild(el("span", "detail m-date", fmtDate(row.time, row.precise)));
      if (whyOf(row)) exp.appendChild(el("span", "detail m-date", clip(whyOf(row), 120)));
      tr.appendChild(exp);
      tr.appendChild(statusCell(row));
      tr.appendChild(el("td", "date", fmtDate(row.time, row.precise)));
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

  const COLORS = {
    verified: "#0f9d58", "self-reported": "#5b6b8c", pending: "#5b6b8c", flagged: "#d69e2e", invalid: "#c0392b",
    best: "#4f46e5", baseline: "#8a93a6",
  };
  let chart = null;

  function renderChart(s, data) {
    const empty = !s.points.length;
    $("chart-empty").hidden = !empty;
    $("chart-box").hidden = empty;
    if (typeof window.Chart !== "function") { setText("chart-note", "The chart library did not load."); return; }
    if (empty) {
      setText("chart-empty", data.readable ? "No results yet: the chart fills in as agents submit."
        : "The chart appears once the bucket can be read.");
      return;
    }
    let lo = s.points[0].t;
    let hi = s.points[s.points.length - 1].t;
    const last = hi;
    if (hi - lo < 10 * MIN) { lo -= 5 * MIN; hi += 5 * MIN; }
    const narrow = $("chart").clientWidth < 520;
    const [xmin, xmax, step] = timeAxis(lo, hi, narrow ? 4 : 8);
    const group = (pred) => s.points.filter(pred).map((p) => ({ x: p.t, y: p.score, p }));
    const datasets = [
      { label: "Best so far", type: "line", data: s.best.map((b) => ({ x: b.t, y: b.score, p: b }))
          .concat(s.best.length ? [{ x: last, y: s.best[s.best.length - 1].score, p: s.best[s.best.length - 1] }] : []),
        stepped: "before", borderColor: COLORS.best, backgroundColor: COLORS.best, borderWidth: 2.5,
        pointRadius: s.best.map(() => 3.5).concat([0]), pointHoverRadius: 5, fill: false, order: 1 },
      { label: "Verified", data: group((p) => p.status === "verified" && !p.flagged), backgroundColor: COLORS.verified,
        borderColor: "#ffffff", borderWidth: 1, pointRadius: 5, pointHoverRadius: 7, order: 2 },
      { label: "Self-reported", data: group((p) => (p.status === "self-reported" || p.status === "pending") && !p.flagged),
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
        y: { grid: { color: "#eef0f4" }, ticks: { color: "#667085", callback: (v) => fmtScore(v) },
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
              if (item.dataset.label.startsWith("Baseline")) return `${item.dataset.label}: ${fmtScore(p.score)}`;
              if (item.datasetIndex === 0) return `Best so far: ${fmtScore(p.score)} (${p.agent})`;
              return `${p.agent}: ${fmtScore(p.score)} · ${clip(p.experiment || "", 60)}`;
            },
          },
        },
      },
    };
    if (chart) { chart.data.datasets = datasets; chart.options = options; chart.update("none"); }
    else chart = new window.Chart($("chart"), { type: "scatter", data: { datasets }, options });
  }

  function showBanner(error) {
    const box = $("banner");
    box.replaceChildren();
    if (!error) { box.hidden = true; return; }
    const denied = error.kind === "denied" || error.kind === "missing";
    box.appendChild(el("span", "icon", "!"));
    const text = el("div");
    text.appendChild(el("strong", "", error.kind === "network"
      ? "The bucket could not be reached (network error)."
      : `The bucket could not be read (HTTP ${error.status}).`));
    const p = el("p");
    if (denied) {
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
    p.appendChild(document.createTextNode("Meanwhile the reference entries are shown."));
    text.appendChild(p);
    box.appendChild(text);
    box.hidden = false;
  }

  let lastBest = null;
  let toastTimer = null;
  function announce(best) {
    const top = best.length ? best[best.length - 1] : null;
    if (top && lastBest && better(top.score, lastBest.score)) {
      const box = $("toast");
      box.textContent = `New best: ${fmtScore(top.score)} by ${top.agent}` + (top.experiment ? ` (${clip(top.experiment, 60)})` : "");
      box.hidden = false;
      clearTimeout(toastTimer);
      toastTimer = setTimeout(() => { box.hidden = true; }, 15000);
    }
    if (top) lastBest = top;
  }

  function renderStats(data, rows, s) {
    const results = rows.filter((r) => r.status !== "baseline");
    const top = rows.find((r) => r.rank === 1);
    setText("stat-best-label", `Best ${METRIC_NAME}`);
    setText("stat-best", top ? fmtScore(top.score) : "–");
    setText("stat-best-note", top ? `${top.agent}${top.status === "verified" ? " · verified" : ""}` : data.readable ? "no valid result yet" : "");
    setText("stat-results", data.readable ? String(results.length) : "–");
    const verified = results.filter((r) => r.status === "verified").length;
    const invalid = results.filter((r) => r.status === "invalid").length;
    setText("stat-results-note", data.readable ? `${verified} verified` + (invalid ? ` · ${invalid} invalid` : "") : "");
    const st = data.stats;
    if (st) {
      const agents = new Set([...st.registered, ...st.authors, ...results.map((r) => r.agent)]);
      setText("stat-agents", String(agents.size));
      setText("stat-agents-note", `${st.registered.size} registered · ${st.authors.size} posting`);
      setText("stat-messages", st.messages === null ? "–" : String(st.messages));
      setText("stat-messages-note", st.latest ? `latest ${ago(st.latest)}` : st.messages === null ? "" : "no messages yet");
      $("stat-messages-note").title = st.latest ? fmtDate(st.latest) + " UTC" : "";
    } else {
      const agents = new Set(results.map((r) => r.agent));
      setText("stat-agents", data.readable ? String(agents.size) : "–");
      setText("stat-agents-note", data.readable ? "with results" : "");
      setText("stat-messages", "–");
      setText("stat-messages-note", "");
    }
  }

  function notes(data, s) {
    const bits = [];
    if (data.readable && data.errors.leaderboard) bits.push(`${LAYOUT.leaderboard} unavailable (${data.errors.leaderboard.status ? "HTTP " + data.errors.leaderboard.status : "network"})`);
    if (data.readable && data.errors.results) bits.push("result files could not be listed: from the leaderboard file only");
    if (data.pending) bits.push(`${data.pending} result files still loading`);
    if (data.problems.length) bits.push(`${data.problems.length} result file${data.problems.length > 1 ? "s" : ""} could not be read`);
    setText("table-note", bits.join(" · "));
    $("table-note").title = data.problems.join("\n");
    setText("chart-note", s.undated ? `${s.undated} result${s.undated > 1 ? "s" : ""} without a date not plotted` : "");
  }

  // ---- tracks: ranked separately; baselines without a track apply to all ---------------------------
  const OTHER = "(other)";
  let currentTrack = TRACKS.includes(params.get("track")) ? params.get("track") : TRACKS[0] || null;
  function trackOf(row) {
    if (!TRACKS.length || (row.status === "baseline" && !row.track)) return null;
    return TRACKS.includes(row.track) ? row.track : OTHER;
  }
  function pickTrack(all) {
    if (!TRACKS.length) return all;
    const choices = TRACKS.slice();
    if (all.some((r) => trackOf(r) === OTHER)) choices.push(OTHER);
    const select = $("track");
    if (select.options.length !== choices.length) {
      select.replaceChildren(...choices.map((t) => { const o = el("option", "", t); o.value = t; return o; }));
    }
    select.value = currentTrack;
    $("track-pick").hidden = false;
    return all.filter((r) => trackOf(r) === null || trackOf(r) === currentTrack);
  }

  let refreshes = 0;
  let lastData = null;
  function render(data, fresh = false) {
    lastData = data;
    const shown = pickTrack(data.rows);
    const rows = rank(shown);
    const s = series(shown);
    showBanner(data.readable ? null : data.errors.leaderboard || data.errors.results || new ReadError(cfg.leaderboardUrl, 0, "network"));
    renderStats(data, rows, s);
    renderTable(rows);
    renderChart(s, data);
    notes(data, s);
    if (data.readable && fresh) announce(s.best);
    setText("updated", `· updated ${fmtDate(Date.now())} UTC`);
    if (fresh) refreshes++;
    window.__collab = {
      ready: true, refreshes, mode: data.readable ? "live" : "fallback",
      error: data.readable ? null : (data.errors.leaderboard || data.errors.results || {}).message || "unreadable",
      points: s.points, best: s.best, baselines: s.baselines,
      rows: rows.map((r) => ({ rank: r.rank, agent: r.agent, score: r.score, experiment: r.experiment, status: r.status,
                               flag: r.flag, time: r.time, file: r.file, track: r.track })),
      stats: data.stats ? { messages: data.stats.messages, latest: data.stats.latest, authors: [...data.stats.authors].sort(),
                            registered: [...data.stats.registered].sort() } : null,
      problems: data.problems, urls: { ...cfg },
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

  $("track").addEventListener("change", (e) => { currentTrack = e.target.value; lastBest = null; if (lastData) render(lastData); });

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
