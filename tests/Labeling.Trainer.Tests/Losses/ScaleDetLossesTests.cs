using Labeling.Trainer.Losses;
using static Labeling.Trainer.Tests.Losses.LossAssert;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Losses;

public sealed class ScaleDetLossesTests
{
    // Two classes with orthogonal text embeddings; region 0 lies on class 0, region 1 at (0.6, 0.8).
    // With τ = 0.5 the logits cos/τ are: region 0 → (2, 0); region 1 → (1.2, 1.6).
    private const float Tau = 0.5f;
    private static Tensor Text() => Of([1, 0, /**/ 0, 1], 2, 2);
    private static Tensor Regions() => Of([1, 0, /**/ 0.6f, 0.8f], 2, 2);
    private static Tensor Labels(params long[] labels) => tensor(labels);

    // The cosine of the orthogonal pair is 0; written out so Soft is not checked against SimilarityMatrix.
    private static Tensor OrthogonalSimilarity() => Of([1, 0, /**/ 0, 1], 2, 2);

    public ScaleDetLossesTests() => TorchRuntime.Initialise(threads: 1);

    [Fact]
    public void SimilarityMatrix_IsTheTextCosines_WithOneOnTheDiagonal()
    {
        using var scope = NewDisposeScope();
        var text = Of([1, 0, /**/ 0.6f, 0.8f, /**/ -1, 0], 3, 2);
        var s = ScaleDetLosses.SimilarityMatrix(text);

        // cos(t0,t1) = 0.6; cos(t0,t2) = −1; cos(t1,t2) = −0.6
        double[,] expected = { { 1, 0.6, -1 }, { 0.6, 1, -0.6 }, { -1, -0.6, 1 } };
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
                Close(expected[i, j], s[i, j]);
        }

        Assert.Equal(1f, s[1, 1].item<float>()); // exactly
        Assert.False(s.requires_grad);
    }

    [Fact]
    public void Hard_IsBceAgainstOneHot_SummedOverClasses_AveragedOverRegions()
    {
        using var scope = NewDisposeScope();
        var expected = (Bce(2, 1) + Bce(0, 0) + Bce(1.2, 0) + Bce(1.6, 1)) / 2; // 2 regions × 2 classes
        Close(expected, ScaleDetLosses.Hard(Regions(), Text(), Labels(0, 1), Tau));
    }

    [Fact]
    public void Hard_BackgroundRegion_HasAllZeroTarget()
    {
        using var scope = NewDisposeScope();
        // Region 1 is background: both its classes are negatives.
        var expected = (Bce(2, 1) + Bce(0, 0) + Bce(1.2, 0) + Bce(1.6, 0)) / 2;
        Close(expected, ScaleDetLosses.Hard(Regions(), Text(), Labels(0, -1), Tau));
    }

    [Fact]
    public void Soft_IsSquaredErrorOfTheCosinesAgainstTheLabelsSimilarityRow_SummedOverClasses()
    {
        using var scope = NewDisposeScope();
        // Cosines: region 0 → (1, 0) against row (1, 0); region 1 → (0.6, 0.8) against row (0, 1).
        var expected = (0 + 0 + Math.Pow(0.6, 2) + Math.Pow(0.8 - 1, 2)) / 2; // 2 foreground regions
        Close(expected, ScaleDetLosses.Soft(Regions(), Text(), Labels(0, 1), OrthogonalSimilarity()));
    }

    [Fact]
    public void Soft_DoesNotDependOnTheLogitScale()
    {
        using var scope = NewDisposeScope();
        // A region on its label's text has zero soft loss whatever τ the hard loss uses.
        Close(0, ScaleDetLosses.Soft(Of([1, 0], 1, 2), Text(), Labels(0), OrthogonalSimilarity()));
    }

    [Fact]
    public void Soft_LeavesBackgroundOut()
    {
        using var scope = NewDisposeScope();
        // Only region 1 counts, and it is the one with an error.
        var expected = Math.Pow(0.6, 2) + Math.Pow(0.8 - 1, 2);
        Close(expected, ScaleDetLosses.Soft(Regions(), Text(), Labels(-1, 1), OrthogonalSimilarity()));
    }

    [Fact]
    public void Total_IsHardPlusWeightedSoft()
    {
        using var scope = NewDisposeScope();
        var hard = (Bce(2, 1) + Bce(0, 0) + Bce(1.2, 0) + Bce(1.6, 1)) / 2;
        var soft = (Math.Pow(0.6, 2) + Math.Pow(0.8 - 1, 2)) / 2;
        Close(hard + 0.5 * soft, ScaleDetLosses.Total(Regions(), Text(), Labels(0, 1), OrthogonalSimilarity(), Tau, softWeight: 0.5f));
    }
}
