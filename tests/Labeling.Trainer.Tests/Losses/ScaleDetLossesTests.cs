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

    // (cos + 1) / 2 of the orthogonal pair is 0.5; written out so Soft is not checked against SimilarityMatrix.
    private static Tensor OrthogonalSimilarity() => Of([1, 0.5f, /**/ 0.5f, 1], 2, 2);

    public ScaleDetLossesTests() => TorchRuntime.Initialise(threads: 1);

    [Fact]
    public void SimilarityMatrix_IsHalfCosinePlusOne_WithOneOnTheDiagonal()
    {
        using var scope = NewDisposeScope();
        var text = Of([1, 0, /**/ 0.6f, 0.8f, /**/ -1, 0], 3, 2);
        var s = ScaleDetLosses.SimilarityMatrix(text);

        // cos(t0,t1) = 0.6 → 0.8; cos(t0,t2) = −1 → 0; cos(t1,t2) = −0.6 → 0.2
        double[,] expected = { { 1, 0.8, 0 }, { 0.8, 1, 0.2 }, { 0, 0.2, 1 } };
        for (var i = 0; i < 3; i++)
        {
            for (var j = 0; j < 3; j++)
                Close(expected[i, j], s[i, j]);
        }

        Assert.Equal(1f, s[1, 1].item<float>()); // exactly
        Assert.False(s.requires_grad);
    }

    [Fact]
    public void Hard_IsMeanBceAgainstOneHot()
    {
        using var scope = NewDisposeScope();
        var expected = (Bce(2, 1) + Bce(0, 0) + Bce(1.2, 0) + Bce(1.6, 1)) / 4;
        Close(expected, ScaleDetLosses.Hard(Regions(), Text(), Labels(0, 1), Tau));
    }

    [Fact]
    public void Hard_BackgroundRegion_HasAllZeroTarget()
    {
        using var scope = NewDisposeScope();
        // Region 1 is background: both its classes are negatives.
        var expected = (Bce(2, 1) + Bce(0, 0) + Bce(1.2, 0) + Bce(1.6, 0)) / 4;
        Close(expected, ScaleDetLosses.Hard(Regions(), Text(), Labels(0, -1), Tau));
    }

    [Fact]
    public void Soft_IsMeanSquaredErrorAgainstTheLabelsSimilarityRow()
    {
        using var scope = NewDisposeScope();
        // Region 0 (label 0) against row (1, 0.5); region 1 (label 1) against row (0.5, 1).
        var expected = (Math.Pow(Sigmoid(2) - 1, 2) + Math.Pow(Sigmoid(0) - 0.5, 2)
            + Math.Pow(Sigmoid(1.2) - 0.5, 2) + Math.Pow(Sigmoid(1.6) - 1, 2)) / 4;
        Close(expected, ScaleDetLosses.Soft(Regions(), Text(), Labels(0, 1), OrthogonalSimilarity(), Tau));
    }

    [Fact]
    public void Soft_LeavesBackgroundOut()
    {
        using var scope = NewDisposeScope();
        // Only region 0 counts: 2 entries.
        var expected = (Math.Pow(Sigmoid(2) - 1, 2) + Math.Pow(Sigmoid(0) - 0.5, 2)) / 2;
        Close(expected, ScaleDetLosses.Soft(Regions(), Text(), Labels(0, -1), OrthogonalSimilarity(), Tau));
    }

    [Fact]
    public void Total_IsHardPlusWeightedSoft()
    {
        using var scope = NewDisposeScope();
        var hard = (Bce(2, 1) + Bce(0, 0) + Bce(1.2, 0) + Bce(1.6, 1)) / 4;
        var soft = (Math.Pow(Sigmoid(2) - 1, 2) + Math.Pow(Sigmoid(0) - 0.5, 2)
            + Math.Pow(Sigmoid(1.2) - 0.5, 2) + Math.Pow(Sigmoid(1.6) - 1, 2)) / 4;
        Close(hard + 0.5 * soft, ScaleDetLosses.Total(Regions(), Text(), Labels(0, 1), OrthogonalSimilarity(), Tau, softWeight: 0.5f));
    }
}
