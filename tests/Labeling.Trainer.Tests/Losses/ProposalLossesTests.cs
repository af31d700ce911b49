using Labeling.Trainer.Losses;
using static Labeling.Trainer.Tests.Losses.LossAssert;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Losses;

public sealed class ProposalLossesTests
{
    public ProposalLossesTests() => TorchRuntime.Initialise(threads: 1);

    [Fact]
    public void FocalHeatmap_MatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        // 2×2 map: logits 0, ln 3, −ln 3, ln 3 → p = 0.5, 0.75, 0.25, 0.75; two centres (target 1).
        var ln3 = (float)Math.Log(3);
        var logits = Of([0f, ln3, -ln3, ln3], 1, 1, 2, 2);
        var target = Of([1f, 0.5f, 0f, 1f], 1, 1, 2, 2);

        // positive: −(1 − p)^2 · ln p; negative: −(1 − y)^4 · p^2 · ln(1 − p)
        var a = -(0.5 * 0.5) * Math.Log(0.5);                    // centre, p = 0.5
        var b = -Math.Pow(1 - 0.5, 4) * (0.75 * 0.75) * Math.Log(0.25); // y = 0.5, p = 0.75
        var c = -1 * (0.25 * 0.25) * Math.Log(0.75);            // y = 0, p = 0.25
        var d = -(0.25 * 0.25) * Math.Log(0.75);                 // centre, p = 0.75
        Close((a + b + c + d) / 2, ProposalLosses.FocalHeatmap(logits, target)); // two centres
    }

    [Fact]
    public void FocalHeatmap_WithoutCentres_DividesByOne()
    {
        using var scope = NewDisposeScope();
        var logits = Of([0f, 0f], 1, 1, 1, 2);
        var target = Of([0f, 0.5f], 1, 1, 1, 2);
        // p = 0.5: −1 · 0.25 · ln 0.5 and −0.5^4 · 0.25 · ln 0.5, divided by max(0, 1) = 1
        var expected = -0.25 * Math.Log(0.5) - 0.0625 * 0.25 * Math.Log(0.5);
        Close(expected, ProposalLosses.FocalHeatmap(logits, target));
    }

    [Fact]
    public void FocalHeatmap_StaysFiniteForSaturatedLogits()
    {
        using var scope = NewDisposeScope();
        // σ(−200) and 1 − σ(200) are 0 in float32, so ln of them would be −inf.
        var logits = Of([-200f, 200f], 1, 1, 1, 2);
        var target = Of([1f, 0f], 1, 1, 1, 2);
        // centre: (1 − 0)^2 · −ln σ(−200) = 200; background: 1 · 1^2 · −ln σ(−200) = 200; one centre
        Close(400, ProposalLosses.FocalHeatmap(logits, target));
    }

    [Fact]
    public void GIoU_MatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        var pred = Of([0, 0, 2, 2, /**/ 0, 0, 1, 1, /**/ 1, 1, 4, 3], 3, 4);
        var target = Of([1, 1, 3, 3, /**/ 2, 0, 3, 1, /**/ 1, 1, 4, 3], 3, 4);

        // Overlapping: intersection 1, union 4 + 4 − 1 = 7, enclosing 3 × 3 = 9.
        var overlapping = 1 - (1.0 / 7 - (9.0 - 7) / 9);
        // Disjoint: intersection 0, union 1 + 1 = 2, enclosing 3 × 1 = 3.
        var disjoint = 1 - (0 - (3.0 - 2) / 3);
        // Identical: GIoU 1.
        var identical = 1 - 1.0;
        Close((overlapping + disjoint + identical) / 3, ProposalLosses.GIoU(pred, target));
    }

    [Fact]
    public void BoxRefinement_MatchesHandComputation()
    {
        using var scope = NewDisposeScope();
        var pred = Of([0.05f, 1f, -0.5f, 0f, /**/ 2f, 2f, 2f, 2f], 2, 4);
        var target = Of([0f, 0f, 0f, 0f, /**/ 2f, 2f, 2f, 2.1f], 2, 4);

        const double beta = 1.0 / 9;
        var small = 0.5 * 0.05 * 0.05 / beta; // |d| = 0.05 < β: 0.5 d² / β
        var one = 1 - 0.5 * beta;             // |d| = 1 ≥ β: |d| − β/2
        var half = 0.5 - 0.5 * beta;
        var tenth = 0.5 * 0.1 * 0.1 / beta;   // |d| = 0.1 < β
        Close((small + one + half + 0 + 0 + 0 + 0 + tenth) / 8, ProposalLosses.BoxRefinement(pred, target));
    }
}
