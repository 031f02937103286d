import Foundation
import JobModel

/// `jobstats report`: one self-contained HTML file — inline CSS and SVG, no script, no font
/// or image from elsewhere — that a team lead reads in two minutes. Every chart has a
/// title, a one-sentence summary (its text alternative) and its numbers in a table
/// (`<details>`); colours are Okabe–Ito and a one-hue sequential scale (colour-blind safe),
/// and charts never rely on colour alone.
struct HTMLReport {
    let report: AnalysisReport
    let figures: ReportFigures
    let inputs: [String]
    let title: String
    /// `--fdr`.
    var falseDiscoveryRate = 0.05

    // Okabe–Ito.
    static let blue = "#0072B2"
    static let orange = "#E69F00"
    static let vermillion = "#D55E00"
    static let green = "#009E73"
    static let sky = "#56B4E9"
    static let purple = "#CC79A7"
    static let grey = "#8a8f96"
    /// Light to dark blue (ColorBrewer Blues, 9 classes): sequential by lightness.
    static let blues = [
        "#f7fbff", "#deebf7", "#c6dbef", "#9ecae1", "#6baed6", "#4292c6", "#2171b5", "#08519c", "#08306b",
    ]

    init(report: AnalysisReport, figures: ReportFigures, inputs: [String], title: String?) {
        self.report = report
        self.figures = figures
        self.inputs = inputs
        self.title = title ?? "Job history report"
    }

    // MARK: - Text

    static func esc(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for c in s {
            switch c {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(c)
            }
        }
        return out
    }

    static func pct(_ v: Double?) -> String { FindingText.percent(v) }
    static func n(_ v: Int) -> String { FindingText.grouped(v) }
    static func f1(_ v: Double) -> String { String(format: "%.1f", v) }

    /// `2026-11-20` of a local day number.
    static func date(day: Int64) -> String { LocalClock.dateText(day: day) }

    static func bytes(_ v: Double) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = v
        var i = 0
        while v >= 1024, i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return (i == 0 ? String(format: "%.0f", v) : String(format: v < 10 ? "%.1f" : "%.0f", v)) + " " + units[i]
    }

    static func seconds(_ s: Double) -> String {
        switch s {
        case ..<1: return String(format: "%g s", s)
        case ..<100: return String(format: "%.0f s", s)
        case ..<3_600: return String(format: "%.0f min", s / 60)
        default: return String(format: "%.0f h", s / 3_600)
        }
    }

    /// Duration band `b` of ``ReportFigures/durationEdges`` in words: `"10 s to 30 s"`.
    static func band(_ b: Int) -> String {
        let edges = ReportFigures.durationEdges
        if b == 0 { return "under \(seconds(edges[0]))" }
        if b == edges.count { return "\(seconds(edges[b - 1])) or more" }
        return "\(seconds(edges[b - 1])) to \(seconds(edges[b]))"
    }

    static let signalNames = [
        1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL",
        11: "SIGSEGV", 13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 24: "SIGXCPU", 25: "SIGXFSZ",
    ]

    /// The zone as people write it (Foundation calls UTC "GMT").
    var zoneName: String { figures.timeZone == "GMT" ? "UTC" : figures.timeZone }

    // MARK: - The page

    func render() -> String {
        let zone = TimeZone(identifier: figures.timeZone) ?? .gmt
        let b = report.baseline
        var period = "no start times"
        var days = 0
        if let first = figures.firstStartMicros, let last = figures.lastStartMicros {
            var clock = LocalClock(timeZone: zone)
            period = "\(clock.minuteText(micros: first)) to \(clock.minuteText(micros: last))"
            days = figures.days.count
        }
        var html = """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="generator" content="jobstats \(ProductVersion.current)">
            <title>\(Self.esc(title))</title>
            <style>\(Self.css)</style>
            </head>
            <body>
            <header>
            <h1>\(Self.esc(title))</h1>
            <p class="sub">\(Self.esc(inputs.joined(separator: ", "))) · \(Self.esc(period)) (\(Self.esc(zoneName))) · generated \(Self.esc(Timestamp.format(report.generatedAt)))</p>
            </header>
            <main>
            <section class="cards" aria-label="Headline">
            <div class="card"><span class="big">\(Self.n(report.jobCount))</span><span>jobs, \(Self.n(b.decidedCount)) with an outcome</span></div>
            <div class="card"><span class="big">\(Self.pct(b.successRate))</span><span>of attempts succeeded</span></div>
            <div class="card"><span class="big">\(Self.pct(b.chainSuccessRate))</span><span>of jobs succeeded in the end (after retries)</span></div>
            <div class="card"><span class="big">\(days)</span><span>days · \(Self.n(figures.names)) job names · \(Self.n(max(1, figures.instances))) \(figures.instances == 1 ? "host" : "hosts")</span></div>
            </section>

            """
        html += findingsSection()
        html += heatMap()
        html += dailySuccess()
        html += nameRates()
        html += durations()
        html += leaks()
        html += shares()
        html += retries()
        html += exits()
        html += """
            </main>
            <footer>Made by jobstats \(ProductVersion.current) from \(Self.n(report.jobCount)) jobs. Success rates count jobs with an outcome (succeeded, failed, crashed, timed out); a finding is significant at a false discovery rate of \(Self.pct(falseDiscoveryRate)) across each pattern's groups (Benjamini–Hochberg). Times are start times in \(Self.esc(zoneName)).</footer>
            </body>
            </html>

            """
        return html
    }

    static let css = """
        :root { --fg:#1b1f24; --muted:#59636e; --line:#d0d7de; --panel:#f6f8fa; }
        * { box-sizing: border-box; }
        body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: var(--fg); background: #fff; }
        header { padding: 20px 32px 8px; border-bottom: 1px solid var(--line); }
        h1 { margin: 0; font-size: 24px; }
        .sub { margin: 4px 0 8px; color: var(--muted); font-size: 13px; }
        main { max-width: 1000px; padding: 8px 32px 32px; }
        h2 { font-size: 18px; margin: 28px 0 4px; }
        .lead { margin: 0 0 10px; color: var(--muted); }
        .cards { display: grid; grid-template-columns: repeat(4, 1fr); gap: 12px; margin-top: 16px; }
        .card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; background: var(--panel); display: flex; flex-direction: column; }
        .card .big { font-size: 26px; font-weight: 700; }
        .card span:last-child { color: var(--muted); font-size: 13px; }
        ol.findings { padding-left: 22px; } ol.findings li { margin: 6px 0; }
        ol.findings .support { color: var(--muted); font-size: 13px; }
        figure { margin: 8px 0 0; }
        figcaption { color: var(--muted); font-size: 13px; margin-top: 2px; }
        svg { display: block; max-width: 100%; height: auto; font-family: inherit; }
        svg text { font-size: 11px; fill: var(--fg); }
        svg .muted { fill: var(--muted); }
        details { margin: 4px 0 0; font-size: 13px; }
        details summary { cursor: pointer; color: var(--muted); }
        table { border-collapse: collapse; margin: 6px 0; }
        th, td { padding: 2px 10px 2px 0; text-align: left; border-bottom: 1px solid var(--line); }
        td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
        .none { color: var(--muted); font-style: italic; }
        footer { max-width: 1000px; padding: 16px 32px 32px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); }
        @media (max-width: 760px) { .cards { grid-template-columns: 1fr 1fr; } }
        @media print {
          body { font-size: 10pt; } header, main, footer { padding-left: 0; padding-right: 0; }
          section { break-inside: avoid; } .cards { grid-template-columns: repeat(4, 1fr); }
          * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
          details { display: none; }
        }
        """

    // MARK: - Sections

    func findingsSection() -> String {
        let top = FindingText.top(report.patterns, limit: 8)
        var out = "<section aria-labelledby=\"h-findings\"><h2 id=\"h-findings\">What stands out</h2>\n"
        guard !top.isEmpty else {
            return out
                + "<p class=\"none\">Nothing stands out: no group of jobs differs significantly from the rest.</p></section>\n"
        }
        out +=
            "<p class=\"lead\">The groups of jobs that differ most clearly from the rest, strongest evidence first.</p><ol class=\"findings\">\n"
        for f in top {
            out +=
                "<li><b>\(Self.esc(f.name))</b>: \(Self.esc(FindingText.measure(f))). <span class=\"support\">\(Self.esc(FindingText.support(f))).</span></li>\n"
        }
        return out + "</ol></section>\n"
    }

    /// `<figure>` with an SVG whose title and description are its text alternative, the
    /// caption, and the numbers as a table.
    func figure(
        id: String,
        title: String,
        summary: String,
        width: Int,
        height: Int,
        svg: String,
        table: (head: [String], rows: [[String]])
    ) -> String {
        var out = """
            <figure>
            <svg viewBox="0 0 \(width) \(height)" width="\(width)" height="\(height)" role="img" aria-labelledby="\(id)-t \(id)-d"><title id="\(id)-t">\(Self.esc(title))</title><desc id="\(id)-d">\(Self.esc(summary))</desc>
            \(svg)</svg>
            <figcaption>\(Self.esc(summary))</figcaption>
            <details><summary>The numbers</summary><table><thead><tr>
            """
        for (i, h) in table.head.enumerated() { out += "<th\(i > 0 ? " class=\"num\"" : "")>\(Self.esc(h))</th>" }
        out += "</tr></thead><tbody>\n"
        for row in table.rows {
            out += "<tr>"
            for (i, cell) in row.enumerated() { out += "<td\(i > 0 ? " class=\"num\"" : "")>\(Self.esc(cell))</td>" }
            out += "</tr>\n"
        }
        return out + "</tbody></table></details></figure>\n"
    }

    static func text(
        _ x: Double,
        _ y: Double,
        _ s: String,
        anchor: String = "start",
        cls: String? = nil,
        extra: String = ""
    )
        -> String
    {
        "<text x=\"\(f1(x))\" y=\"\(f1(y))\" text-anchor=\"\(anchor)\"\(cls.map { " class=\"\($0)\"" } ?? "")\(extra)>\(esc(s))</text>"
    }

    /// A rectangle; with `title`, a tooltip.
    static func rect(
        _ x: Double,
        _ y: Double,
        _ w: Double,
        _ h: Double,
        fill: String,
        extra: String = "",
        title: String? = nil
    ) -> String {
        let head =
            "<rect x=\"\(f1(x))\" y=\"\(f1(y))\" width=\"\(f1(max(0, w)))\" height=\"\(f1(max(0, h)))\" fill=\"\(fill)\"\(extra)"
        guard let title else { return head + "/>" }
        return head + "><title>\(esc(title))</title></rect>"
    }

    func heatMap() -> String {
        let weekdays = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
        var out = "<section aria-labelledby=\"h-heat\"><h2 id=\"h-heat\">When jobs fail</h2>\n"
        let cells = figures.heat.flatMap { $0 }
        let decided = cells.reduce(0) { $0 + $1.decided }
        guard decided > 0 else {
            return out + "<p class=\"none\">No job with an outcome has a start time.</p></section>\n"
        }
        let rates = cells.map { $0.decided > 0 ? Double($0.failures) / Double($0.decided) : 0 }
        let maxRate = max(rates.max() ?? 0, 0.0001)
        // The worst hours (at least 5 jobs with an outcome).
        var worst: (weekday: Int, hour: Int, rate: Double)?
        for w in 0..<7 {
            for h in 0..<24 where figures.heat[w][h].decided >= 5 {
                let rate = Double(figures.heat[w][h].failures) / Double(figures.heat[w][h].decided)
                if rate > (worst?.rate ?? -1) { worst = (w, h, rate) }
            }
        }
        let left = 78.0
        let top = 18.0
        let cw = 34.0
        let ch = 26.0
        var svg = ""
        for h in 0..<24 {
            svg += Self.text(
                left + Double(h) * cw + cw / 2,
                top - 5,
                String(format: "%02d", h),
                anchor: "middle",
                cls: "muted"
            )
        }
        for w in 0..<7 {
            let y = top + Double(w) * ch
            svg += Self.text(left - 8, y + ch / 2 + 4, weekdays[w], anchor: "end")
            for h in 0..<24 {
                let cell = figures.heat[w][h]
                let x = left + Double(h) * cw
                guard cell.decided > 0 else {
                    svg += Self.rect(
                        x + 1,
                        y + 1,
                        cw - 2,
                        ch - 2,
                        fill: "#eceef1",
                        title: "\(weekdays[w]) \(String(format: "%02d", h)):00: no jobs"
                    )
                    continue
                }
                let rate = Double(cell.failures) / Double(cell.decided)
                let level = min(Self.blues.count - 1, Int((rate / maxRate) * Double(Self.blues.count - 1) + 0.5))
                let tip =
                    "\(weekdays[w]) \(String(format: "%02d", h)):00: \(cell.failures) of \(cell.decided) failed (\(Self.pct(rate)))"
                svg += Self.rect(
                    x + 1,
                    y + 1,
                    cw - 2,
                    ch - 2,
                    fill: Self.blues[level],
                    extra: " stroke=\"#dfe3e8\"",
                    title: tip
                )
                svg += Self.text(
                    x + cw / 2,
                    y + ch / 2 + 4,
                    Self.n(cell.failures),
                    anchor: "middle",
                    cls: cell.failures == 0 ? "muted" : nil,
                    extra: level >= 5 ? " style=\"fill:#fff\"" : ""
                )
            }
        }
        // Legend.
        let ly = top + 7 * ch + 22
        svg += Self.text(left, ly + 10, "failure rate:", cls: "muted")
        for (i, colour) in Self.blues.enumerated() {
            svg += Self.rect(left + 80 + Double(i) * 28, ly, 28, 12, fill: colour, extra: " stroke=\"#d0d7de\"")
        }
        svg += Self.text(left + 80, ly + 26, "0 %", anchor: "start", cls: "muted")
        svg += Self.text(left + 80 + 9 * 28, ly + 26, Self.pct(maxRate), anchor: "end", cls: "muted")
        svg += Self.rect(left + 80 + 9 * 28 + 16, ly, 28, 12, fill: "#eceef1")
        svg += Self.text(left + 80 + 10 * 28 + 22, ly + 10, "no jobs · the number in a cell: failures", cls: "muted")
        var summary = "Failure rate by weekday and hour the jobs started."
        if let worst {
            summary +=
                " The worst is \(weekdays[worst.weekday]) \(String(format: "%02d", worst.hour)):00–\(String(format: "%02d", worst.hour)):59 with \(Self.pct(worst.rate)) failing (of \(Self.n(figures.heat[worst.weekday][worst.hour].decided)) jobs)."
        }
        var rows: [[String]] = []
        for w in 0..<7 {
            for h in 0..<24 where figures.heat[w][h].decided > 0 {
                let c = figures.heat[w][h]
                rows.append([
                    "\(weekdays[w]) \(String(format: "%02d", h)):00", Self.n(c.decided), Self.n(c.failures),
                    Self.pct(Double(c.failures) / Double(c.decided)),
                ])
            }
        }
        out += figure(
            id: "heat",
            title: "Failures by hour and weekday",
            summary: summary,
            width: Int(left + 24 * cw + 4),
            height: Int(ly + 34),
            svg: svg,
            table: (["When", "Jobs with an outcome", "Failed", "Failure rate"], rows)
        )
        return out + "</section>\n"
    }

    func dailySuccess() -> String {
        var out = "<section aria-labelledby=\"h-daily\"><h2 id=\"h-daily\">Success rate per day</h2>\n"
        let days = figures.days.filter { $0.decided > 0 }
        guard !days.isEmpty else {
            return out + "<p class=\"none\">No job with an outcome has a start time.</p></section>\n"
        }
        let w = 900.0
        let left = 46.0
        let right = 80.0
        let top = 10.0
        let plotH = 170.0
        let barTop = top + plotH + 34
        let barH = 50.0
        let first = days.first!.day
        let slots = Double(days.last!.day - first + 1)
        let slotW = (w - left - right) / slots
        /// The middle of a day's slot.
        func x(_ day: Int64) -> Double { left + slotW * (Double(day - first) + 0.5) }
        // From 0 % when rates fall that low, else from just below the worst day (a dip shows).
        let rates = days.map { Double($0.succeeded) / Double($0.decided) }
        let floor = max(0, ((rates.min() ?? 0) * 10).rounded(.down) / 10 - 0.1)
        let step = 1 - floor <= 0.3 ? 0.05 : 1 - floor <= 0.6 ? 0.1 : 0.25
        func y(_ rate: Double) -> Double { top + plotH * (1 - (rate - floor) / (1 - floor)) }
        var svg = ""
        for tick in stride(from: floor, through: 1.0001, by: step) {
            svg +=
                "<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(Self.f1(y(tick)))\" y2=\"\(Self.f1(y(tick)))\" stroke=\"#e6e9ed\"/>"
            svg += Self.text(left - 6, y(tick) + 4, Self.pct(tick), anchor: "end", cls: "muted")
        }
        let overall = report.baseline.successRate
        svg +=
            "<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(Self.f1(y(overall)))\" y2=\"\(Self.f1(y(overall)))\" stroke=\"\(Self.grey)\" stroke-dasharray=\"5 4\"/>"
        svg += Self.text(w - right + 6, y(overall) + 4, "overall \(Self.pct(overall))", cls: "muted")
        let points = days.map { "\(Self.f1(x($0.day))),\(Self.f1(y(Double($0.succeeded) / Double($0.decided))))" }
        svg +=
            "<polyline fill=\"none\" stroke=\"\(Self.blue)\" stroke-width=\"2\" points=\"\(points.joined(separator: " "))\"/>"
        if days.count <= 120 {
            for d in days {
                let rate = Double(d.succeeded) / Double(d.decided)
                svg +=
                    "<circle cx=\"\(Self.f1(x(d.day)))\" cy=\"\(Self.f1(y(rate)))\" r=\"2.5\" fill=\"\(Self.blue)\"><title>\(Self.date(day: d.day)): \(Self.pct(rate)) of \(Self.n(d.decided))</title></circle>"
            }
        }
        // Jobs per day, below.
        let most = Double(days.map(\.decided).max() ?? 1)
        let bw = max(1, slotW - (slotW > 4 ? 2 : 0))
        for d in days {
            let h = barH * Double(d.decided) / most
            svg += Self.rect(
                x(d.day) - bw / 2,
                barTop + barH - h,
                bw,
                h,
                fill: "#c9d1d9",
                title: "\(Self.date(day: d.day)): \(Self.n(d.decided)) jobs"
            )
        }
        svg += Self.text(left - 6, barTop + 10, Self.n(Int(most)), anchor: "end", cls: "muted")
        svg += Self.text(left - 6, barTop + barH, "0", anchor: "end", cls: "muted")
        svg += Self.text(left, barTop - 6, "jobs with an outcome per day", cls: "muted")
        let labels = Swift.min(8, Int(slots))
        for i in 0..<labels {
            let day = first + Int64(((slots - 1) * Double(i) / Double(Swift.max(1, labels - 1))).rounded())
            svg += Self.text(x(day), barTop + barH + 16, Self.date(day: day), anchor: "middle", cls: "muted")
        }
        let worst = days.filter { $0.decided >= 5 }.min {
            Double($0.succeeded) / Double($0.decided) < Double($1.succeeded) / Double($1.decided)
        }
        var summary =
            "Share of jobs with an outcome that succeeded, per day (\(days.count) days; dashed: overall \(Self.pct(overall)))."
        if let worst {
            summary +=
                " The worst day is \(Self.date(day: worst.day)) with \(Self.pct(Double(worst.succeeded) / Double(worst.decided))) of \(Self.n(worst.decided))."
        }
        out += figure(
            id: "daily",
            title: "Success rate per day",
            summary: summary,
            width: Int(w),
            height: Int(barTop + barH + 22),
            svg: svg,
            table: (
                ["Day", "Jobs", "With an outcome", "Succeeded", "Success rate"],
                figures.days.map {
                    [
                        Self.date(day: $0.day), Self.n($0.jobs), Self.n($0.decided), Self.n($0.succeeded),
                        $0.decided > 0 ? Self.pct(Double($0.succeeded) / Double($0.decided)) : "–",
                    ]
                }
            )
        )
        return out + "</section>\n"
    }

    func nameRates() -> String {
        var out = "<section aria-labelledby=\"h-names\"><h2 id=\"h-names\">Success per job name</h2>\n"
        let names = figures.nameRates
        guard !names.isEmpty else { return out + "<p class=\"none\">No job with an outcome.</p></section>\n" }
        out +=
            "<p class=\"lead\">The \(names.count) most run names, worst first: the dot is the success rate, the bar its 95 % confidence interval; the dashed line is the rate over all jobs.</p>\n"
        let overall = report.baseline.successRate
        let left = 210.0
        let plotW = 520.0
        let rowH = 24.0
        let top = 22.0
        func x(_ v: Double) -> Double { left + plotW * v }
        var svg = ""
        for tick in stride(from: 0.0, through: 1.0, by: 0.25) {
            svg +=
                "<line x1=\"\(Self.f1(x(tick)))\" x2=\"\(Self.f1(x(tick)))\" y1=\"\(top - 4)\" y2=\"\(Self.f1(top + rowH * Double(names.count)))\" stroke=\"#e6e9ed\"/>"
            svg += Self.text(x(tick), top - 8, Self.pct(tick), anchor: "middle", cls: "muted")
        }
        svg +=
            "<line x1=\"\(Self.f1(x(overall)))\" x2=\"\(Self.f1(x(overall)))\" y1=\"\(top - 4)\" y2=\"\(Self.f1(top + rowH * Double(names.count)))\" stroke=\"\(Self.grey)\" stroke-dasharray=\"5 4\"/>"
        var worse: [String] = []
        var better: [String] = []
        for (i, r) in names.enumerated() {
            let y = top + rowH * Double(i) + rowH / 2
            let shown = r.name.count > 30 ? String(r.name.prefix(29)) + "…" : r.name
            svg += Self.text(left - 10, y + 4, shown, anchor: "end")
            let verdict: String
            let colour: String
            if r.high < overall {
                verdict = "worse"
                colour = Self.vermillion
                worse.append(r.name)
            } else if r.low > overall {
                verdict = "better"
                colour = Self.blue
                better.append(r.name)
            } else {
                verdict = ""
                colour = Self.grey
            }
            svg +=
                "<line x1=\"\(Self.f1(x(r.low)))\" x2=\"\(Self.f1(x(r.high)))\" y1=\"\(Self.f1(y))\" y2=\"\(Self.f1(y))\" stroke=\"\(colour)\" stroke-width=\"3\" stroke-linecap=\"round\" opacity=\".55\"/>"
            // Shape as well as colour: a square for worse, a diamond for better, a circle otherwise.
            switch verdict {
            case "worse":
                svg += Self.rect(x(r.rate) - 5, y - 5, 10, 10, fill: colour)
            case "better":
                svg += "<path d=\"M\(Self.f1(x(r.rate))) \(Self.f1(y - 6))l6 6-6 6-6-6z\" fill=\"\(colour)\"/>"
            default:
                svg += "<circle cx=\"\(Self.f1(x(r.rate)))\" cy=\"\(Self.f1(y))\" r=\"4.5\" fill=\"\(colour)\"/>"
            }
            svg += Self.text(
                left + plotW + 12,
                y + 4,
                "\(Self.pct(r.rate)) of \(Self.n(r.decided))\(verdict.isEmpty ? "" : " · " + verdict)"
            )
        }
        var summary =
            "Success rate of the \(names.count) most run job names with 95 % intervals, against \(Self.pct(overall)) overall."
        if !worse.isEmpty { summary += " Clearly worse: \(worse.joined(separator: ", "))." }
        if !better.isEmpty { summary += " Clearly better: \(better.joined(separator: ", "))." }
        out += figure(
            id: "names",
            title: "Success per job name",
            summary: summary,
            width: Int(left + plotW + 150),
            height: Int(top + rowH * Double(names.count) + 6),
            svg: svg,
            table: (
                ["Name", "Jobs", "With an outcome", "Succeeded", "Success rate", "95 % interval"],
                names.map {
                    [
                        $0.name, Self.n($0.jobs), Self.n($0.decided), Self.n($0.succeeded), Self.pct($0.rate),
                        "\(Self.pct($0.low)) – \(Self.pct($0.high))",
                    ]
                }
            )
        )
        return out + "</section>\n"
    }

    func durations() -> String {
        var out = "<section aria-labelledby=\"h-durations\"><h2 id=\"h-durations\">How long jobs run</h2>\n"
        let statuses = ReportFigures.durationStatuses.filter { (figures.durationBins[$0]?.reduce(0, +) ?? 0) > 0 }
        guard !statuses.isEmpty else { return out + "<p class=\"none\">No job with an outcome.</p></section>\n" }
        let edges = ReportFigures.durationEdges
        let labels = ["< 0.1 s"] + edges.map { "≥ " + Self.seconds($0) }
        let colours: [JobStatus: String] = [
            .succeeded: Self.blue, .failed: Self.vermillion, .crashed: Self.purple, .timedOut: Self.orange,
        ]
        let left = 100.0
        let bw = 56.0
        let rowH = 62.0
        let top = 8.0
        var svg = ""
        var medians: [String] = []
        for (i, status) in statuses.enumerated() {
            let bins = figures.durationBins[status]!
            let total = bins.reduce(0, +)
            let most = Double(bins.max() ?? 1)
            let y0 = top + rowH * Double(i)
            svg += Self.text(left - 10, y0 + rowH / 2, status.rawValue, anchor: "end")
            svg += Self.text(left - 10, y0 + rowH / 2 + 14, Self.n(total), anchor: "end", cls: "muted")
            var cumulative = 0
            var medianBin: Int?
            for (b, count) in bins.enumerated() {
                cumulative += count
                if medianBin == nil, cumulative * 2 >= total { medianBin = b }
                let h = (rowH - 14) * Double(count) / most
                if count > 0 {
                    svg += Self.rect(
                        left + Double(b) * bw + 2,
                        y0 + rowH - 10 - h,
                        bw - 4,
                        h,
                        fill: colours[status] ?? Self.grey,
                        title: "\(status.rawValue), \(labels[b]): \(Self.n(count))"
                    )
                }
            }
            svg +=
                "<line x1=\"\(left)\" x2=\"\(Self.f1(left + bw * Double(bins.count)))\" y1=\"\(Self.f1(y0 + rowH - 10))\" y2=\"\(Self.f1(y0 + rowH - 10))\" stroke=\"#c9d1d9\"/>"
            if let m = medianBin {
                medians.append("\(status.rawValue) \(m == 0 ? "under 0.1 s" : "from \(labels[m].dropFirst(2))")")
            }
        }
        let axisY = top + rowH * Double(statuses.count) + 4
        for (b, label) in labels.enumerated() {
            svg += Self.text(left + Double(b) * bw + bw / 2, axisY + 8, label, anchor: "middle", cls: "muted")
        }
        let summary =
            "How long jobs ran, by how they ended (bars: jobs per duration band, each status on its own scale). Typical (median) durations: \(medians.joined(separator: "; "))."
        out += figure(
            id: "durations",
            title: "Duration by status",
            summary: summary,
            width: Int(left + bw * Double(labels.count) + 4),
            height: Int(axisY + 16),
            svg: svg,
            table: (
                ["Duration"] + statuses.map(\.rawValue),
                labels.enumerated().map { b, label in [label] + statuses.map { Self.n(figures.durationBins[$0]![b]) } }
            )
        )
        return out + "</section>\n"
    }

    func leaks() -> String {
        var out = "<section aria-labelledby=\"h-leaks\"><h2 id=\"h-leaks\">Memory leak suspects</h2>\n"
        guard !figures.leakTrends.isEmpty else {
            return out
                + "<p class=\"none\">No leak suspects: no job name's runs grow steadily in memory often enough to stand out.</p></section>\n"
        }
        out +=
            "<p class=\"lead\">Runs whose memory grew steadily while they ran are leak suspects. Per suspect name: its runs' mean peak memory per day.</p>\n"
        for (index, trend) in figures.leakTrends.enumerated() {
            let w = 440.0
            let h = 150.0
            let left = 64.0
            let top = 10.0
            let plotH = h - 34
            let points = trend.points
            var svg = ""
            var summary = "\(trend.name): \(Self.n(trend.suspects)) of \(Self.n(trend.runs)) runs are suspects."
            if let first = points.first, let last = points.last {
                let most = max(1, points.map(\.meanPeakBytes).max() ?? 1)
                let span = max(1, Double(last.day - first.day))
                func x(_ d: Int64) -> Double { left + (w - left - 10) * Double(d - first.day) / span }
                func y(_ v: Double) -> Double { top + plotH * (1 - v / most) }
                svg +=
                    "<line x1=\"\(left)\" x2=\"\(w - 10)\" y1=\"\(Self.f1(top + plotH))\" y2=\"\(Self.f1(top + plotH))\" stroke=\"#c9d1d9\"/>"
                svg += Self.text(left - 6, top + 8, Self.bytes(most), anchor: "end", cls: "muted")
                svg += Self.text(left - 6, top + plotH, "0", anchor: "end", cls: "muted")
                svg +=
                    "<polyline fill=\"none\" stroke=\"\(Self.vermillion)\" stroke-width=\"2\" points=\"\(points.map { "\(Self.f1(x($0.day))),\(Self.f1(y($0.meanPeakBytes)))" }.joined(separator: " "))\"/>"
                for p in points where points.count <= 90 {
                    svg +=
                        "<circle cx=\"\(Self.f1(x(p.day)))\" cy=\"\(Self.f1(y(p.meanPeakBytes)))\" r=\"2.5\" fill=\"\(Self.vermillion)\"><title>\(Self.date(day: p.day)): \(Self.bytes(p.meanPeakBytes)) over \(p.runs) runs</title></circle>"
                }
                svg += Self.text(left, h - 4, Self.date(day: first.day), cls: "muted")
                svg += Self.text(w - 10, h - 4, Self.date(day: last.day), anchor: "end", cls: "muted")
                summary +=
                    " Mean peak memory per day from \(Self.bytes(first.meanPeakBytes)) (\(Self.date(day: first.day))) to \(Self.bytes(last.meanPeakBytes)) (\(Self.date(day: last.day))), highest \(Self.bytes(most))."
            }
            out += "<h3 style=\"font-size:15px;margin:14px 0 0\">\(Self.esc(trend.name))</h3>\n"
            out += figure(
                id: "leak\(index)",
                title: "Peak memory of \(trend.name) per day",
                summary: summary,
                width: Int(w),
                height: Int(h),
                svg: svg,
                table: (
                    ["Day", "Runs", "Mean peak memory", "Suspects"],
                    points.map {
                        [Self.date(day: $0.day), Self.n($0.runs), Self.bytes($0.meanPeakBytes), Self.n($0.suspects)]
                    }
                )
            )
        }
        return out + "</section>\n"
    }

    func bars(
        id: String,
        title: String,
        summary: String,
        items: [(label: String, value: Double, text: String)],
        colour: String,
        maxValue: Double? = nil,
        table: (head: [String], rows: [[String]])
    ) -> String {
        let left = 220.0
        let plotW = 460.0
        let rowH = 24.0
        let most = max(maxValue ?? items.map(\.value).max() ?? 1, 1e-12)
        var svg = ""
        for (i, item) in items.enumerated() {
            let y = 4 + rowH * Double(i)
            svg += Self.text(left - 10, y + rowH / 2 + 4, item.label, anchor: "end")
            svg += Self.rect(left, y + 4, plotW * item.value / most, rowH - 8, fill: colour)
            svg += Self.text(left + plotW * item.value / most + 6, y + rowH / 2 + 4, item.text)
        }
        return figure(
            id: id,
            title: title,
            summary: summary,
            width: Int(left + plotW + 150),
            height: Int(8 + rowH * Double(items.count)),
            svg: svg,
            table: table
        )
    }

    func shares() -> String {
        var out = "<section aria-labelledby=\"h-shares\"><h2 id=\"h-shares\">Bursts, stalls and leaks</h2>\n"
        let of = figures.sampledJobs
        guard of > 0 else { return out + "<p class=\"none\">No job was sampled by the monitor.</p></section>\n" }
        let items: [(String, Int)] = [
            ("I/O bursts", figures.ioBursts), ("connection bursts", figures.netBursts),
            ("stalls", figures.stalls), ("memory leak suspects", figures.leaks),
        ]
        let shareItems = items.map {
            (
                label: $0.0, value: Double($0.1) / Double(of),
                text: "\(Self.pct(Double($0.1) / Double(of))) (\(Self.n($0.1)))"
            )
        }
        let summary =
            "Share of the \(Self.n(of)) monitored jobs with each behaviour: "
            + shareItems.map { "\($0.label) \(Self.pct($0.value))" }.joined(separator: ", ") + "."
        out += bars(
            id: "shares",
            title: "Bursts, stalls and leak suspects",
            summary: summary,
            items: shareItems,
            colour: Self.sky,
            maxValue: max(0.05, shareItems.map(\.value).max() ?? 0),
            table: (
                ["Behaviour", "Jobs", "Share"], items.map { [$0.0, Self.n($0.1), Self.pct(Double($0.1) / Double(of))] }
            )
        )
        let named = report.patterns.filter {
            ["io-burst", "net-burst", "stalled", "memory-leak"].contains($0.pattern) && $0.significant
        }
        if !named.isEmpty {
            out +=
                "<p>Names that stand out: "
                + named.map { "<b>\(Self.esc($0.name))</b> (\(Self.pct($0.value)) of \(Self.n($0.matchCount)) runs)" }
                .joined(separator: "; ") + ".</p>\n"
        }
        return out + "</section>\n"
    }

    func retries() -> String {
        var out = "<section aria-labelledby=\"h-retries\"><h2 id=\"h-retries\">Retries</h2>\n"
        guard figures.chains > 0 else { return out + "<p class=\"none\">No job with an outcome.</p></section>\n" }
        let rescued =
            figures.chainsFirstFailed > 0 ? Double(figures.chainsRescued) / Double(figures.chainsFirstFailed) : 0
        out +=
            "<p>Of \(Self.n(figures.chains)) jobs (retry chains), \(Self.n(figures.chainsFirstFailed)) failed at the first attempt; retries rescued <b>\(Self.n(figures.chainsRescued))</b> of them (\(Self.pct(rescued))).</p>\n"
        let labels = ["1st attempt", "2nd attempt", "3rd attempt", "4th attempt", "5th or later"]
        let items = figures.attempts.enumerated().filter { $0.element.decided > 0 }.map { i, c in
            let rate = Double(c.decided - c.failures) / Double(c.decided)
            return (label: labels[i], value: rate, text: "\(Self.pct(rate)) of \(Self.n(c.decided))")
        }
        out += bars(
            id: "attempts",
            title: "Success rate by attempt",
            summary: "Success rate by attempt number: " + items.map { "\($0.label) \($0.text)" }.joined(separator: ", ")
                + ".",
            items: items,
            colour: Self.green,
            maxValue: 1,
            table: (
                ["Attempt", "With an outcome", "Succeeded"],
                figures.attempts.enumerated().filter { $0.element.decided > 0 }.map {
                    [labels[$0.offset], Self.n($0.element.decided), Self.n($0.element.decided - $0.element.failures)]
                }
            )
        )
        return out + "</section>\n"
    }

    func exits() -> String {
        var out = "<section aria-labelledby=\"h-exits\"><h2 id=\"h-exits\">Exit codes and signals</h2>\n"
        var items: [(label: String, value: Double, text: String)] = []
        for (code, count) in figures.exitCodes { items.append(("exit code \(code)", Double(count), Self.n(count))) }
        for (signal, count) in figures.signals {
            items.append(
                (
                    "killed by \(Self.signalNames[signal] ?? "signal \(signal)") (\(signal))", Double(count),
                    Self.n(count)
                )
            )
        }
        items.sort { $0.value > $1.value }
        guard !items.isEmpty else { return out + "<p class=\"none\">No failed or crashed job.</p></section>\n" }
        out += bars(
            id: "exits",
            title: "Most frequent exit codes and signals",
            summary: "How failed jobs exited and what killed crashed ones: "
                + items.prefix(5).map { "\($0.label) \($0.text)" }.joined(separator: ", ") + ".",
            items: items,
            colour: Self.orange,
            table: (["Exit", "Jobs"], items.map { [$0.label, $0.text] })
        )
        return out + "</section>\n"
    }
}
