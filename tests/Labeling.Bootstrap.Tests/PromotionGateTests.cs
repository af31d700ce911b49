namespace Labeling.Bootstrap.Tests;

/// <summary>The promotion rule on hand-made metrics.</summary>
public sealed class PromotionGateTests
{
    private static GoldMetrics Metrics(double ap, double? novel) => new(ap, ap, ap, novel, ap, novel, 100, 1000);

    private static readonly GateOptions Tolerances = new() { APTolerance = 0.01, APNovelTolerance = 0.02 };

    [Fact]
    public void WithoutAnActiveModel_TheCandidateIsPromoted()
    {
        var decision = PromotionGate.Decide(Metrics(0.1, 0.05), null, null, Tolerances);

        Assert.True(decision.Promote);
        Assert.Contains("no active model", decision.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0.50, 0.30, true)]   // better on both
    [InlineData(0.491, 0.281, true)] // within both tolerances (0.5 − 0.01, 0.3 − 0.02)
    [InlineData(0.489, 0.35, false)] // AP beyond its tolerance, however good AP-novel is
    [InlineData(0.60, 0.279, false)] // AP-novel beyond its tolerance, however good AP is
    public void Candidate_IsPromotedOnlyWithinBothTolerances(double ap, double novel, bool promote)
    {
        var decision = PromotionGate.Decide(Metrics(ap, novel), Metrics(0.5, 0.3), "v3", Tolerances);

        Assert.Equal(promote, decision.Promote);
        Assert.Contains("v3", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Rejection_NamesEveryFailedMetric_WithTheNumbers()
    {
        var decision = PromotionGate.Decide(Metrics(0.4, 0.1), Metrics(0.5, 0.3), "v3", Tolerances);

        Assert.False(decision.Promote);
        Assert.Equal("AP 0.400 < 0.500 of v3 − 0.010; AP-novel 0.100 < 0.300 of v3 − 0.020", decision.Reason);
    }

    [Fact]
    public void WithoutNovelClasses_OnlyAPCounts_ButLosingAPNovelTheActiveHadIsARegression()
    {
        Assert.True(PromotionGate.Decide(Metrics(0.5, null), Metrics(0.5, null), null, Tolerances).Promote);
        var lost = PromotionGate.Decide(Metrics(0.5, null), Metrics(0.5, 0.3), null, Tolerances);
        Assert.False(lost.Promote);
        Assert.Contains("no AP-novel", lost.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Tolerances_OutOfRange_AreRefused() =>
        Assert.Throws<ArgumentException>(() => PromotionGate.Decide(Metrics(0.5, 0.3), null, null, new GateOptions { APTolerance = -0.1 }));
}
