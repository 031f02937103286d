import JobModel
import Testing

struct MetricsTests {
    @Test func cpuPercentFromTicks() {
        #expect(CPUUsage.percent(deltaTicks: 100, ticksPerSecond: 100, elapsedSeconds: 1) == 100)
        #expect(CPUUsage.percent(deltaTicks: 50, ticksPerSecond: 100, elapsedSeconds: 2) == 25)
        #expect(CPUUsage.percent(deltaTicks: 400, ticksPerSecond: 100, elapsedSeconds: 2) == 200)
        #expect(CPUUsage.percent(deltaTicks: 10, ticksPerSecond: 100, elapsedSeconds: 0) == 0)
    }

    @Test func runningAverageAndMax() {
        var s = RunningStatistic()
        for v in [10.0, 30, 20, 0] { s.add(v) }
        #expect(s.count == 4)
        #expect(s.mean == 15)
        #expect(s.max == 30)
    }

    @Test func leastSquaresSlopeAndFit() {
        var t = LinearTrend()
        for x in 0..<10 { t.add(x: Double(x), y: 1_000_000 + 100_000 * Double(x)) }
        #expect(abs(t.slope - 100_000) < 1e-6)
        #expect(abs(t.rSquared - 1) < 1e-12)
        #expect(LeakVerdict.isSuspected(t))

        var noisy = LinearTrend()
        // Hand-computed: points (0,1) (1,3) (2,2) (3,5): Sxx 5, Sxy 5.5, Syy 8.75: slope 1.1, R² 30.25/43.75
        for (x, y) in [(0.0, 1.0), (1, 3), (2, 2), (3, 5)] { noisy.add(x: x, y: y) }
        #expect(abs(noisy.slope - 1.1) < 1e-12)
        #expect(abs(noisy.rSquared - 30.25 / 43.75) < 1e-12)
    }

    @Test func flatAndShrinkingMemoryAreNotLeaks() {
        var flat = LinearTrend()
        for x in 0..<30 { flat.add(x: Double(x), y: 300_000_000) }
        #expect(flat.slope == 0)
        #expect(!LeakVerdict.isSuspected(flat))
        var shrinking = LinearTrend()
        for x in 0..<30 { shrinking.add(x: Double(x), y: 300_000_000 - 1_000_000 * Double(x)) }
        #expect(!LeakVerdict.isSuspected(shrinking))
        var fewSamples = LinearTrend()
        for x in 0..<3 { fewSamples.add(x: Double(x), y: 1e9 * Double(x)) }
        #expect(!LeakVerdict.isSuspected(fewSamples))
        var sawtooth = LinearTrend()
        for x in 0..<40 { sawtooth.add(x: Double(x), y: x % 2 == 0 ? 0 : 1e9 + Double(x) * 70_000) }
        #expect(!LeakVerdict.isSuspected(sawtooth), "R² too low")
    }

    @Test func rollingWindowFindsTheBurst() {
        // 10 ops/s for 30 s, then 1,000 ops in one second, then 10 ops/s again.
        var r = RollingRate(window: 5)
        var count = 0.0
        for second in 0...60 {
            count += second == 31 ? 1000 : 10
            r.add(time: Double(second), count: count)
        }
        #expect(abs(r.peak - (1000 + 4 * 10) / 5) < 1e-9)
        #expect(abs(r.average - 1590.0 / 60) < 1e-9)
        #expect(r.total == 1590)
    }

    @Test func rollingWindowOfASteadyRateIsThatRate() {
        var r = RollingRate(window: 10)
        for second in 0...100 { r.add(time: Double(second), count: Double(second) * 7) }
        #expect(abs(r.peak - 7) < 1e-9)
        #expect(abs(r.average - 7) < 1e-9)
    }

    @Test func stallClockCountsIntervalsWithoutProgress() {
        var c = StallClock()
        c.add(.init(time: 0, cpuTicks: 0, ioOps: 0, connections: 0))
        c.add(.init(time: 1, cpuTicks: 5, ioOps: 0, connections: 0))  // CPU moved
        c.add(.init(time: 2, cpuTicks: 5, ioOps: 0, connections: 0))  // stalled 1 s
        c.add(.init(time: 4, cpuTicks: 5, ioOps: 0, connections: 0))  // stalled 2 s
        c.add(.init(time: 5, cpuTicks: 5, ioOps: 1, connections: 0))  // I/O moved
        c.add(.init(time: 6, cpuTicks: 5, ioOps: 1, connections: 1))  // network moved
        #expect(c.stalledSeconds == 3)
    }
}
