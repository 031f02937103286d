import Foundation

/// The significance tests patterns share.
public enum Statistics {
    /// Two-sided p-value that two proportions `x1/n1` and `x2/n2` differ.
    ///
    /// Fisher's exact test when any expected cell count is below 5 (small groups), else
    /// the pooled two-proportion z-test. Returns `nil` when either group is empty.
    /// Wilson score interval of a proportion (95 % by default): `(low, high)`; `(0, 1)`
    /// without trials.
    public static func wilsonInterval(successes: Int, trials: Int, z: Double = 1.959964) -> (Double, Double) {
        guard trials > 0 else { return (0, 1) }
        let n = Double(trials)
        let p = Double(successes) / n
        let z2 = z * z
        let centre = (p + z2 / (2 * n)) / (1 + z2 / n)
        let half = z * ((p * (1 - p) / n + z2 / (4 * n * n)).squareRoot()) / (1 + z2 / n)
        return (max(0, centre - half), min(1, centre + half))
    }

    public static func proportionPValue(_ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int) -> Double? {
        guard n1 > 0, n2 > 0, x1 >= 0, x2 >= 0, x1 <= n1, x2 <= n2 else { return nil }
        let n = n1 + n2
        let x = x1 + x2
        let minExpected = min(
            Double(min(n1, n2)) * Double(x) / Double(n),
            Double(min(n1, n2)) * Double(n - x) / Double(n)
        )
        if minExpected < 5 {
            return fisherExact(a: x1, b: n1 - x1, c: x2, d: n2 - x2)
        }
        return twoProportionZ(x1, n1, x2, n2)
    }

    /// Pooled two-proportion z-test, two-sided.
    public static func twoProportionZ(_ x1: Int, _ n1: Int, _ x2: Int, _ n2: Int) -> Double {
        let p1 = Double(x1) / Double(n1)
        let p2 = Double(x2) / Double(n2)
        let p = Double(x1 + x2) / Double(n1 + n2)
        let se = (p * (1 - p) * (1 / Double(n1) + 1 / Double(n2))).squareRoot()
        guard se > 0 else { return p1 == p2 ? 1 : 0 }
        let z = abs(p1 - p2) / se
        return min(1, erfc(z / 2.0.squareRoot()))
    }

    private static func logChoose(_ n: Int, _ k: Int) -> Double {
        lgamma(Double(n + 1)) - lgamma(Double(k + 1)) - lgamma(Double(n - k + 1))
    }

    /// Fisher's exact test of the 2×2 table [[a, b], [c, d]], two-sided: the total
    /// probability of every table with the same margins that is no more likely than this one.
    public static func fisherExact(a: Int, b: Int, c: Int, d: Int) -> Double {
        let row1 = a + b
        let col1 = a + c
        let n = a + b + c + d
        guard n > 0 else { return 1 }
        let logDenominator = logChoose(n, col1)
        func logP(_ x: Int) -> Double { logChoose(row1, x) + logChoose(n - row1, col1 - x) - logDenominator }
        let observed = logP(a)
        let lo = max(0, col1 - (n - row1))
        let hi = min(row1, col1)
        var total = 0.0
        for x in lo...hi {
            let lp = logP(x)
            if lp <= observed + 1e-7 { total += exp(lp) }
        }
        return min(1, total)
    }

    /// Benjamini–Hochberg: which of `pValues` are discoveries at false discovery rate `q`.
    /// `nil` p-values are never discoveries and do not count as tests.
    public static func benjaminiHochberg(_ pValues: [Double?], q: Double) -> [Bool] {
        let tested = pValues.enumerated().compactMap { i, p in p.map { (i, $0) } }.sorted { $0.1 < $1.1 }
        let m = Double(tested.count)
        var cutoff = -1
        for (rank, (_, p)) in tested.enumerated() where p <= Double(rank + 1) / m * q {
            cutoff = rank
        }
        var result = [Bool](repeating: false, count: pValues.count)
        if cutoff >= 0 {
            for k in 0...cutoff { result[tested[k].0] = true }
        }
        return result
    }

    /// p-value of Pearson's chi-square test that the failure share is the same in every
    /// group (groups with no decided job are left out). `nil` with fewer than two groups.
    public static func homogeneityPValue(failures: [Int], decided: [Int]) -> Double? {
        var f: [Double] = []
        var n: [Double] = []
        for (x, m) in zip(failures, decided) where m > 0 {
            f.append(Double(x))
            n.append(Double(m))
        }
        guard f.count >= 2 else { return nil }
        let total = n.reduce(0, +)
        let p = f.reduce(0, +) / total
        guard p > 0, p < 1 else { return 1 }
        var chi2 = 0.0
        for (x, m) in zip(f, n) {
            let e1 = m * p
            let e0 = m * (1 - p)
            chi2 += (x - e1) * (x - e1) / e1 + ((m - x) - e0) * ((m - x) - e0) / e0
        }
        return chiSquareSurvival(chi2, degreesOfFreedom: Double(f.count - 1))
    }

    /// P(X ≥ x) for a chi-square variable with `k` degrees of freedom.
    public static func chiSquareSurvival(_ x: Double, degreesOfFreedom k: Double) -> Double {
        guard x > 0 else { return 1 }
        return regularizedGammaQ(k / 2, x / 2)
    }

    /// Regularized upper incomplete gamma Q(a, x) (series or continued fraction).
    static func regularizedGammaQ(_ a: Double, _ x: Double) -> Double {
        let gln: Double = Foundation.lgamma(a)
        if x < a + 1 {
            var sum = 1 / a
            var del = sum
            var ap = a
            for _ in 0..<1000 {
                ap += 1
                del *= x / ap
                sum += del
                if abs(del) < abs(sum) * 1e-15 { break }
            }
            return max(0, 1 - sum * exp(-x + a * log(x) - gln))
        }
        let tiny = 1e-300
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var h = d
        for i in 1...1000 {
            let an = -Double(i) * (Double(i) - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let del = d * c
            h *= del
            if abs(del - 1) < 1e-15 { break }
        }
        return min(1, exp(-x + a * log(x) - gln) * h)
    }

    /// Relative difference as the seed prints it: `"-35%"`, `"+12%"`, `"0%"`.
    public static func percentText(_ relative: Double) -> String {
        guard relative.isFinite else { return relative > 0 ? "+∞%" : "n/a" }
        let rounded = Int((relative * 100).rounded())
        return rounded > 0 ? "+\(rounded)%" : "\(rounded)%"
    }
}
