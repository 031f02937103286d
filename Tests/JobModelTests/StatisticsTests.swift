import JobModel
import Testing

struct StatisticsTests {
    @Test func fisherExactMatchesTheLadyTastingTea() {
        // Fisher's own example: [[3, 1], [1, 3]], two-sided p = 34/70.
        #expect(abs(Statistics.fisherExact(a: 3, b: 1, c: 1, d: 3) - 34.0 / 70) < 1e-12)
        #expect(abs(Statistics.fisherExact(a: 4, b: 0, c: 0, d: 4) - 2.0 / 70) < 1e-12)
    }

    @Test func twoProportionZ() {
        // 45/100 vs 60/100: pooled 0.525, se 0.070622, z = 2.12398, p = 0.033676.
        #expect(abs(Statistics.twoProportionZ(45, 100, 60, 100) - 0.033_676) < 1e-5)
        #expect(Statistics.twoProportionZ(50, 100, 50, 100) == 1)
    }

    @Test func smallGroupsUseFisher() {
        let p = Statistics.proportionPValue(2, 10, 27, 30)
        #expect(p == Statistics.fisherExact(a: 2, b: 8, c: 27, d: 3))
        #expect(Statistics.proportionPValue(1, 0, 1, 10) == nil)
    }

    @Test func chiSquareSurvival() {
        #expect(abs(Statistics.chiSquareSurvival(3.841_458_820_694_124, degreesOfFreedom: 1) - 0.05) < 1e-9)
        #expect(abs(Statistics.chiSquareSurvival(35.172_461_626_908_3, degreesOfFreedom: 23) - 0.05) < 1e-7)
        #expect(Statistics.chiSquareSurvival(0, degreesOfFreedom: 5) == 1)
    }

    @Test func benjaminiHochberg() {
        // m = 5, q = 0.05: thresholds 0.01 0.02 0.03 0.04 0.05; sorted p 0.001 0.019 0.028 0.04 0.5:
        // the largest k with p(k) <= k/m q is 4.
        let p: [Double?] = [0.001, 0.04, 0.019, 0.5, 0.028, nil]
        #expect(Statistics.benjaminiHochberg(p, q: 0.05) == [true, true, true, false, true, false])
        // Only the first passes its own threshold once 0.04 moves to 0.041.
        #expect(
            Statistics.benjaminiHochberg([0.001, 0.041, 0.031, 0.5, 0.029], q: 0.05) == [
                true, false, false, false, false,
            ]
        )
        #expect(Statistics.benjaminiHochberg([0.04, 0.045], q: 0.05) == [true, true])
        #expect(Statistics.benjaminiHochberg([0.2, 0.3], q: 0.05) == [false, false])
    }

    @Test func percentText() {
        #expect(Statistics.percentText(-0.35) == "-35%")
        #expect(Statistics.percentText(0.124) == "+12%")
        #expect(Statistics.percentText(0.001) == "0%")
    }
}
