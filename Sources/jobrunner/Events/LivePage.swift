import Foundation
import HTTPTypes
import Hummingbird
import NIOCore

/// `GET /`: the live page — one self-contained HTML file (inline CSS and script; nothing
/// from elsewhere) that reads the JSON API and follows `GET /v1/events`.
///
/// The page holds no data: it is served to every peer `security.allowedClients` admits,
/// without a token (a browser cannot send a bearer header when it opens a page). Every
/// call it makes needs what the JSON API needs; when the service answers 401 the page asks
/// for a read token, keeps it in the tab's `sessionStorage` and sends it as
/// `Authorization: Bearer` — never in a URL (so it follows the event stream with `fetch`,
/// not `EventSource`, which cannot send headers).
struct LivePageController: Sendable {
    func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/", use: page)
    }

    @Sendable func page(request: Request, context: AppRequestContext) async throws -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        // Nothing but this page's own inline code and the API on the same origin.
        headers[.contentSecurityPolicy] =
            "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        headers[HTTPField.Name("Referrer-Policy")!] = "no-referrer"
        return Response(
            status: .ok,
            headers: headers,
            body: ResponseBody(byteBuffer: ByteBuffer(string: LivePage.html))
        )
    }
}

enum LivePage {
    static let html = #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>jobrunner</title>
        <link rel="icon" href="data:,">
        <style>
        :root { --fg:#1b1f24; --muted:#5c6670; --line:#d8dde3; --bg:#ffffff; --panel:#f6f8fa;
                --ok:#1a7f37; --bad:#b3261e; --warn:#9a6700; --run:#0a58ca; --cpu:#0072b2; --rss:#d55e00; }
        * { box-sizing: border-box; }
        [hidden] { display: none !important; }
        body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); background: var(--bg); }
        header { display: flex; align-items: center; gap: 16px; padding: 12px 20px; border-bottom: 1px solid var(--line); background: var(--panel); flex-wrap: wrap; }
        header h1 { font-size: 18px; margin: 0; }
        header .health { display: flex; gap: 14px; color: var(--muted); flex-wrap: wrap; }
        header .health b { color: var(--fg); }
        #conn { margin-left: auto; font-size: 13px; }
        #conn::before { content: "●"; margin-right: 4px; }
        #conn.live { color: var(--ok); } #conn.down { color: var(--bad); } #conn.wait { color: var(--warn); }
        main { padding: 8px 20px 40px; display: grid; gap: 20px; grid-template-columns: minmax(0, 3fr) minmax(280px, 2fr); }
        @media (max-width: 1000px) { main { grid-template-columns: 1fr; } }
        section h2 { font-size: 15px; margin: 14px 0 6px; display: flex; gap: 8px; align-items: baseline; }
        section h2 .count { color: var(--muted); font-weight: normal; }
        table { border-collapse: collapse; width: 100%; }
        th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: middle; white-space: nowrap; }
        th { font-size: 12px; color: var(--muted); font-weight: 600; }
        td.num { text-align: right; font-variant-numeric: tabular-nums; }
        td.name { max-width: 260px; overflow: hidden; text-overflow: ellipsis; }
        td.reason { white-space: normal; color: var(--muted); max-width: 320px; }
        .empty { color: var(--muted); padding: 8px 0; }
        .status { font-weight: 600; }
        .status.failed, .status.crashed, .status.timedOut, .status.lost { color: var(--bad); }
        .status.succeeded { color: var(--ok); } .status.running { color: var(--run); } .status.pending, .status.skipped, .status.cancelled { color: var(--muted); }
        svg.spark { vertical-align: middle; }
        .fig { display: inline-block; min-width: 58px; text-align: right; font-variant-numeric: tabular-nums; }
        a { color: var(--run); }
        button { font: inherit; padding: 4px 10px; border: 1px solid var(--line); background: var(--panel); border-radius: 4px; cursor: pointer; }
        ul.findings { padding-left: 18px; margin: 4px 0; } ul.findings li { margin: 6px 0; }
        ul.findings .support { color: var(--muted); font-size: 12px; }
        #logs { position: fixed; inset: 10% 8%; background: var(--bg); border: 1px solid var(--line); box-shadow: 0 8px 30px rgba(0,0,0,.25); display: none; flex-direction: column; z-index: 10; }
        #logs.open { display: flex; }
        #logs .bar { display: flex; gap: 8px; align-items: center; padding: 8px 12px; border-bottom: 1px solid var(--line); background: var(--panel); }
        #logs pre { margin: 0; padding: 10px 12px; overflow: auto; flex: 1; font: 12px/1.4 ui-monospace, "DejaVu Sans Mono", monospace; white-space: pre-wrap; }
        #auth { max-width: 520px; margin: 60px auto; padding: 20px; border: 1px solid var(--line); background: var(--panel); display: none; }
        #auth.open { display: block; }
        #auth input { width: 100%; padding: 6px; font: inherit; margin: 8px 0; }
        #problem { margin: 10px 20px 0; padding: 8px 12px; border-left: 4px solid var(--bad); background: #fdf0ef; display: none; }
        #problem.open { display: block; }
        @media print { #conn, button, #logs { display: none !important; } main { display: block; } }
        </style>
        </head>
        <body>
        <header>
          <h1>jobrunner</h1>
          <div class="health" id="health" aria-live="polite"></div>
          <span id="conn" class="wait" role="status">connecting</span>
        </header>
        <div id="problem" role="alert"></div>
        <form id="auth" aria-labelledby="auth-title">
          <h2 id="auth-title" style="margin-top:0">This jobrunner needs a read token</h2>
          <p id="auth-why">Paste a token with the <code>read</code> scope (<code>jobrunner token add --scope read</code>). It is kept in this tab only and sent as an <code>Authorization</code> header, never in a URL.</p>
          <label for="token">Token</label>
          <input id="token" type="password" autocomplete="off" required>
          <button type="submit">Show jobs</button>
        </form>
        <main id="main" hidden>
          <div>
            <section aria-labelledby="h-running">
              <h2 id="h-running">Running <span class="count" id="n-running"></span></h2>
              <div id="running"></div>
            </section>
            <section aria-labelledby="h-pending">
              <h2 id="h-pending">Pending <span class="count" id="n-pending"></span></h2>
              <div id="pending"></div>
            </section>
            <section aria-labelledby="h-failures">
              <h2 id="h-failures">Recent failures <span class="count">(last 24 h)</span></h2>
              <div id="failures"></div>
            </section>
          </div>
          <div>
            <section aria-labelledby="h-findings">
              <h2 id="h-findings">What stands out</h2>
              <div id="findings"><p class="empty">Loading…</p></div>
            </section>
          </div>
        </main>
        <div id="logs" role="dialog" aria-modal="true" aria-labelledby="logs-title">
          <div class="bar"><b id="logs-title">Logs</b>
            <button id="logs-out" type="button">stdout</button><button id="logs-err" type="button">stderr</button>
            <span style="flex:1"></span><button id="logs-close" type="button">Close</button></div>
          <pre id="logs-text"></pre>
        </div>
        <script>
        "use strict";
        const $ = (id) => document.getElementById(id);
        const FAILED = ["failed", "crashed", "timedOut", "lost"];
        const POINTS = 60;
        const state = { running: new Map(), pending: new Map(), failures: [], series: new Map(), lastEventId: null, reloadTimer: null, findingsTimer: null };
        let token = sessionStorage.getItem("jobrunnerToken");

        class ApiError extends Error { constructor(status, message) { super(message); this.status = status; } }

        async function api(path, options = {}) {
          const headers = Object.assign({}, options.headers || {});
          if (token) headers["Authorization"] = "Bearer " + token;
          const response = await fetch(path, Object.assign({}, options, { headers, cache: "no-store" }));
          if (!response.ok) {
            let message = response.status + " " + response.statusText;
            try { message = (await response.json()).error.message; } catch (e) {}
            throw new ApiError(response.status, message);
          }
          return response;
        }

        function problem(text) { const p = $("problem"); p.textContent = text || ""; p.classList.toggle("open", !!text); }

        function handleError(error) {
          if (error instanceof ApiError && error.status === 401) {
            token = null; sessionStorage.removeItem("jobrunnerToken");
            $("main").hidden = true; $("auth").classList.add("open"); $("token").focus();
            setConn("down", "needs a token");
            return true;
          }
          if (error instanceof ApiError && error.status === 403) {
            problem("Refused: " + error.message); setConn("down", "refused");
            return true;
          }
          return false;
        }

        $("auth").addEventListener("submit", (event) => {
          event.preventDefault();
          token = $("token").value.trim();
          sessionStorage.setItem("jobrunnerToken", token);
          $("token").value = "";
          $("auth").classList.remove("open");
          start();
        });

        function setConn(kind, text) { const c = $("conn"); c.className = kind; c.textContent = text; }

        const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
        function bytes(n) {
          if (n == null) return "–";
          const units = ["B", "KiB", "MiB", "GiB", "TiB"]; let i = 0;
          while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
          return (i === 0 ? n.toFixed(0) : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
        }
        function duration(seconds) {
          if (seconds == null || !isFinite(seconds)) return "–";
          seconds = Math.max(0, seconds);
          if (seconds < 60) return seconds.toFixed(seconds < 10 ? 1 : 0) + " s";
          if (seconds < 3600) return Math.floor(seconds / 60) + " min " + Math.floor(seconds % 60) + " s";
          return Math.floor(seconds / 3600) + " h " + Math.floor((seconds % 3600) / 60) + " min";
        }
        function time(iso) {
          if (!iso) return "–";
          const d = new Date(iso);
          return d.toLocaleString([], { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit" });
        }
        function sparkline(values, colour, label) {
          const w = 90, h = 22;
          const vs = values.filter((v) => v != null);
          const base = `<line x1="0" y1="${h - 0.5}" x2="${w}" y2="${h - 0.5}" stroke="var(--line)"/>`;
          if (vs.length < 2) return `<svg class="spark" width="${w}" height="${h}" role="img" aria-label="${esc(label)}">${base}</svg>`;
          const max = Math.max(...vs, 1e-9);
          // Since the page opened, up to the last minute: the samples fill the width.
          const step = w / (vs.length - 1), start = 0;
          const xy = vs.map((v, i) => [(start + i * step).toFixed(1), (h - 1 - (v / max) * (h - 3)).toFixed(1)]);
          const line = xy.map((p) => p.join(",")).join(" ");
          const area = `${xy[0][0]},${h} ${line} ${xy[xy.length - 1][0]},${h}`;
          return `<svg class="spark" width="${w}" height="${h}" role="img" aria-label="${esc(label)}">${base}` +
            `<polygon fill="${colour}" fill-opacity=".15" points="${area}"/><polyline fill="none" stroke="${colour}" stroke-width="1.5" points="${line}"/></svg>`;
        }

        function renderRunning() {
          const rows = [...state.running.values()].sort((a, b) => a.id - b.id);
          $("n-running").textContent = rows.length ? "(" + rows.length + ")" : "";
          if (!rows.length) { $("running").innerHTML = '<p class="empty">Nothing is running.</p>'; return; }
          const now = Date.now() / 1000;
          $("running").innerHTML = `<table><thead><tr><th>ID</th><th>Name</th><th>Queue</th><th>Started</th><th>For</th><th>CPU</th><th>Memory</th><th>Logs</th></tr></thead><tbody>` +
            rows.map((job) => {
              const s = state.series.get(job.id) || { cpu: [], rss: [] };
              const cpu = s.cpu.length ? s.cpu[s.cpu.length - 1] : null, rss = s.rss.length ? s.rss[s.rss.length - 1] : null;
              const started = job.startedAt ? Date.parse(job.startedAt) / 1000 : null;
              return `<tr><td class="num">${job.id}</td><td class="name" title="${esc(job.command.join(" "))}">${esc(job.name)}</td><td>${esc(job.queue || "default")}</td>` +
                `<td>${time(job.startedAt)}</td><td class="num">${started ? duration(now - started) : "–"}</td>` +
                `<td>${sparkline(s.cpu, "var(--cpu)", "CPU over the last samples, now " + (cpu == null ? "unknown" : cpu.toFixed(0) + " %"))} <span class="fig">${cpu == null ? "–" : cpu.toFixed(0) + " %"}</span></td>` +
                `<td>${sparkline(s.rss, "var(--rss)", "Memory over the last samples, now " + bytes(rss))} <span class="fig">${bytes(rss)}</span></td>` +
                `<td><a href="#logs-${job.id}" data-logs="${job.id}">logs</a></td></tr>`;
            }).join("") + "</tbody></table>";
        }

        function renderPending() {
          const rows = [...state.pending.values()].sort((a, b) => a.id - b.id);
          $("n-pending").textContent = rows.length ? "(" + rows.length + ")" : "";
          if (!rows.length) { $("pending").innerHTML = '<p class="empty">Nothing is waiting.</p>'; return; }
          const shown = rows.slice(0, 50);
          $("pending").innerHTML = `<table><thead><tr><th>ID</th><th>Name</th><th>Queue</th><th>Attempt</th><th>Waiting for</th></tr></thead><tbody>` +
            shown.map((job) => `<tr><td class="num">${job.id}</td><td class="name">${esc(job.name)}</td><td>${esc(job.queue || "default")}</td><td class="num">${job.attempt}</td><td class="reason">${esc(job.reason || "a free slot")}</td></tr>`).join("") +
            "</tbody></table>" + (rows.length > shown.length ? `<p class="empty">and ${rows.length - shown.length} more</p>` : "");
        }

        function renderFailures() {
          const rows = state.failures.slice(0, 20);
          if (!rows.length) { $("failures").innerHTML = '<p class="empty">No failures in the last 24 hours.</p>'; return; }
          $("failures").innerHTML = `<table><thead><tr><th>ID</th><th>Name</th><th>Status</th><th>Ended</th><th>Exit</th><th>Why</th><th>Logs</th></tr></thead><tbody>` +
            rows.map((job) => `<tr><td class="num">${job.id}</td><td class="name">${esc(job.name)}</td><td class="status ${esc(job.status)}">${esc(job.status)}</td>` +
              `<td>${time(job.endedAt)}</td><td class="num">${job.exitCode ?? (job.signal ? "sig " + job.signal : "–")}</td><td class="reason">${esc(job.reason || (job.retriedBy ? "retried as " + job.retriedBy : ""))}</td>` +
              `<td><a href="#logs-${job.id}" data-logs="${job.id}" data-stream="stderr">logs</a></td></tr>`).join("") + "</tbody></table>";
        }

        // The same sentences and choice as `jobstats report` (JobModel's FindingText):
        // significant findings a test backs, strongest evidence first, each group of jobs
        // once (of two that count the same jobs, the more precise, longer group stays).
        function pct(v) { if (v == null) return "–"; const p = v * 100; return (p > 0 && p < 1 ? p.toFixed(1) : p.toFixed(0)) + " %"; }
        function measure(f) {
          const against = f.baselineValue != null ? `, against ${pct(f.baselineValue)} overall` : "";
          const diff = f.differenceFromAverage ? ` (${f.differenceFromAverage})` : "";
          if (f.pattern === "change-point") return `${pct(f.value)} succeed since, against ${pct(f.baselineValue)} before${diff}`;
          if (f.metric === "successRate") return `${pct(f.value)} succeed${against}${diff}`;
          if (f.metric === "rescueRate") return `${pct(f.value)} of failed first attempts end in success${against}${diff}`;
          if (f.metric === "failureRate") return `${pct(f.value)} fail${against}${diff}`;
          if (f.metric === "flakyShare") return `${pct(f.value)} of its jobs failed, then passed on a retry${against}${diff}`;
          if (f.metric === "failures") return `${(f.mostFailures || []).join(", ")}, ${f.value} failures`;
          return `${pct(f.value)} of its runs${against}${diff}`;
        }
        function evidence(p) {
          return p < 0.001 ? "p < 0.001, very strong evidence" : p < 0.01 ? `p = ${p.toFixed(3)}, strong evidence`
            : p < 0.05 ? `p = ${p.toFixed(3)}, moderate evidence` : `p = ${p.toFixed(2)}, weak evidence`;
        }
        function renderFindings(report) {
          if (!report.jobCount) { $("findings").innerHTML = '<p class="empty">No jobs yet: findings appear once jobs have run.</p>'; return; }
          const b = report.baseline || {};
          const head = `<p><b>${report.jobCount}</b> jobs; ${b.decidedCount ?? 0} with an outcome, <b>${pct(b.successRate)}</b> of attempts succeeded, ${pct(b.chainSuccessRate)} in the end (after retries).</p>`;
          const covered = ["name ", "family ", "hour ", "weekday ", "duration "];
          const tested = (report.patterns || []).filter((f) => f.significant && f.pValue != null &&
            !(f.pattern === "contrast" && !f.group.includes(" AND ") && covered.some((c) => f.group.startsWith(c))));
          const repeated = (f) => tested.some((g) =>
            (g.group.length > f.group.length && g.group.includes(f.group) || g.group === f.group && g.pattern < f.pattern) &&
            g.metric === f.metric && g.matchCount === f.matchCount && g.hitCount === f.hitCount);
          let contrast = 0;
          const findings = tested.filter((f) => !repeated(f))
            .sort((x, y) => x.pValue - y.pValue || x.pattern.localeCompare(y.pattern) || x.group.localeCompare(y.group))
            .filter((f) => f.pattern !== "contrast" || ++contrast <= 2)
            .slice(0, 8);
          if (!findings.length) { $("findings").innerHTML = head + '<p class="empty">Nothing stands out: no group differs significantly from the rest.</p>'; return; }
          $("findings").innerHTML = head + "<ul class=findings>" + findings.map((f) =>
            `<li><b>${esc(f.name)}</b>: ${esc(measure(f))}. <span class="support">${f.matchCount} jobs; ${evidence(f.pValue)}.</span></li>`).join("") + "</ul>";
        }

        async function loadFindings() {
          try { renderFindings(await (await api("/v1/stats")).json()); }
          catch (error) { if (!handleError(error)) $("findings").innerHTML = `<p class="empty">Findings unavailable: ${esc(error.message)}</p>`; }
        }
        function findingsSoon() { clearTimeout(state.findingsTimer); state.findingsTimer = setTimeout(loadFindings, 5000); }

        async function listAll(query) {
          let jobs = [], cursor = null;
          do {
            const page = await (await api("/v1/jobs?" + query + "&limit=1000" + (cursor ? "&cursor=" + encodeURIComponent(cursor) : ""))).json();
            jobs = jobs.concat(page.jobs); cursor = page.nextCursor;
          } while (cursor && jobs.length < 20000);
          return jobs;
        }

        async function loadHealth() {
          const h = await (await api("/v1/health")).json();
          const problems = (h.problems || []).map((p) => `<span style="color:var(--bad)">${esc(p)}</span>`).join("");
          $("health").innerHTML = `<span><b>${h.runningJobs ?? 0}</b> running</span><span><b>${h.pendingJobs ?? 0}</b> pending</span>` +
            `<span><b>${h.jobCount ?? 0}</b> jobs in all</span><span>status <b style="color:${h.status === "ok" ? "var(--ok)" : "var(--bad)"}">${esc(h.status)}</b></span>` +
            problems + `<span>up ${duration(h.uptimeSeconds)}</span><span>v${esc(h.version)}</span>`;
        }

        async function reload() {
          const since = new Date(Date.now() - 86400e3).toISOString().replace(/\.\d+Z$/, "Z");
          const [running, pending, failed] = await Promise.all([
            listAll("status=running"), listAll("status=pending"),
            listAll(FAILED.map((s) => "status=" + s).join("&") + "&since=" + since)]);
          state.running = new Map(running.map((j) => [j.id, j]));
          state.pending = new Map(pending.map((j) => [j.id, j]));
          state.failures = failed.sort((a, b) => b.id - a.id);
          renderRunning(); renderPending(); renderFailures();
          await loadHealth();
        }

        function apply(type, data) {
          if (type === "metrics") {
            for (const f of data.jobs) {
              const s = state.series.get(f.id) || { cpu: [], rss: [] };
              if (f.cpuPercent != null) { s.cpu.push(f.cpuPercent); if (s.cpu.length > POINTS) s.cpu.shift(); }
              s.rss.push(f.rssBytes); if (s.rss.length > POINTS) s.rss.shift();
              state.series.set(f.id, s);
            }
            renderRunning();
            return;
          }
          if (type === "reset") { scheduleReload(); return; }
          if (!data || data.id == null) return;
          const job = data;
          state.running.delete(job.id); state.pending.delete(job.id);
          if (job.status === "running") state.running.set(job.id, job);
          else if (job.status === "pending") state.pending.set(job.id, job);
          else {
            state.series.delete(job.id);
            if (FAILED.includes(job.status)) { state.failures.unshift(job); state.failures.length = Math.min(state.failures.length, 200); renderFailures(); }
            findingsSoon();
          }
          renderRunning(); renderPending();
          healthSoon();
        }
        let healthTimer = null;
        function healthSoon() { if (!healthTimer) healthTimer = setTimeout(() => { healthTimer = null; loadHealth().catch(() => {}); }, 1000); }
        function scheduleReload() { clearTimeout(state.reloadTimer); state.reloadTimer = setTimeout(() => reload().catch(handleError), 200); }

        async function follow() {
          for (;;) {
            try {
              const headers = {};
              if (state.lastEventId != null) headers["Last-Event-ID"] = String(state.lastEventId);
              const response = await api("/v1/events", { headers });
              setConn("live", "live");
              const reader = response.body.getReader();
              const decoder = new TextDecoder();
              let buffer = "", loaded = state.lastEventId != null;
              for (;;) {
                const { value, done } = await reader.read();
                if (done) break;
                buffer += decoder.decode(value, { stream: true });
                // The stream's first bytes come once the service has subscribed us: load
                // then, so that no change falls between the lists and the events.
                if (!loaded) { loaded = true; await reload(); $("main").hidden = false; loadFindings(); }
                let cut;
                while ((cut = buffer.indexOf("\n\n")) >= 0) {
                  const block = buffer.slice(0, cut); buffer = buffer.slice(cut + 2);
                  let id = null, type = "message", data = "";
                  for (const line of block.split("\n")) {
                    if (line.startsWith("id: ")) id = Number(line.slice(4));
                    else if (line.startsWith("event: ")) type = line.slice(7);
                    else if (line.startsWith("data: ")) data += line.slice(6);
                  }
                  if (!data) continue;
                  if (id != null) state.lastEventId = id;
                  if (type === "dropped") break;
                  if (type === "reset") state.lastEventId = null;
                  apply(type, JSON.parse(data));
                }
              }
            } catch (error) {
              if (handleError(error)) return;
              problem(error instanceof ApiError ? error.message : "");
            }
            setConn("wait", "reconnecting…");
            await new Promise((r) => setTimeout(r, 2000));
          }
        }

        let logsJob = null;
        async function showLogs(id, stream) {
          logsJob = id;
          $("logs-title").textContent = `Job ${id} · ${stream} (last 500 lines)`;
          $("logs-text").textContent = "Loading…";
          $("logs").classList.add("open");
          try {
            const text = await (await api(`/v1/jobs/${id}/logs?stream=${stream}&tail=500`)).text();
            $("logs-text").textContent = text || "(empty)";
          } catch (error) { if (!handleError(error)) $("logs-text").textContent = "Cannot load the logs: " + error.message; }
        }
        document.addEventListener("click", (event) => {
          const link = event.target.closest("a[data-logs]");
          if (!link) return;
          event.preventDefault();
          showLogs(Number(link.dataset.logs), link.dataset.stream || "stdout");
        });
        $("logs-close").addEventListener("click", () => $("logs").classList.remove("open"));
        $("logs-out").addEventListener("click", () => showLogs(logsJob, "stdout"));
        $("logs-err").addEventListener("click", () => showLogs(logsJob, "stderr"));
        document.addEventListener("keydown", (e) => { if (e.key === "Escape") $("logs").classList.remove("open"); });
        setInterval(() => { if (state.running.size) renderRunning(); }, 5000);

        function start() { problem(""); follow(); }
        start();
        </script>
        </body>
        </html>
        """#
}
