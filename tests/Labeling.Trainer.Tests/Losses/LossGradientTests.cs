using Labeling.Trainer.Losses;
using static Labeling.Trainer.Tests.Losses.LossAssert;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Losses;

/// <summary>Every loss on random inputs is finite and trains its input; empty inputs give 0, not NaN.</summary>
public sealed class LossGradientTests
{
    private const float Tau = 0.07f;

    public LossGradientTests()
    {
        TorchRuntime.Initialise(threads: 1);
        manual_seed(7);
    }

    private static Tensor RandomBoxes(int n)
    {
        var corner = rand(n, 2) * 10;
        return cat([corner, corner + rand(n, 2) * 10 + 1], 1);
    }

    private static Tensor UnitRows(int n, int d) => nn.functional.normalize(randn(n, d), p: 2, dim: 1);

    [Fact]
    public void FocalHeatmap_OnRandomLogits_HasGradients()
    {
        using var scope = NewDisposeScope();
        var logits = randn(2, 1, 4, 4, requires_grad: true);
        var target = rand(2, 1, 4, 4) * 0.9f;
        target[0, 0, 1, 1] = tensor(1f);
        target[1, 0, 2, 3] = tensor(1f);
        FiniteWithGradient(ProposalLosses.FocalHeatmap(logits, target), logits);
    }

    [Fact]
    public void GIoU_OnRandomBoxes_HasGradients()
    {
        using var scope = NewDisposeScope();
        var pred = RandomBoxes(5).requires_grad_(true);
        FiniteWithGradient(ProposalLosses.GIoU(pred, RandomBoxes(5)), pred);
    }

    [Fact]
    public void BoxRefinement_OnRandomDeltas_HasGradients()
    {
        using var scope = NewDisposeScope();
        var pred = randn(5, 4, requires_grad: true);
        FiniteWithGradient(ProposalLosses.BoxRefinement(pred, randn(5, 4)), pred);
    }

    [Fact]
    public void ScaleDetLosses_OnRandomEmbeddings_HaveGradients()
    {
        using var scope = NewDisposeScope();
        var text = UnitRows(4, 8);
        var labels = tensor(new long[] { 0, 1, 2, 3, -1, 1 });
        var similarity = ScaleDetLosses.SimilarityMatrix(text);

        var forHard = randn(6, 8, requires_grad: true);
        FiniteWithGradient(ScaleDetLosses.Hard(forHard, text, labels, Tau), forHard);
        var forSoft = randn(6, 8, requires_grad: true);
        FiniteWithGradient(ScaleDetLosses.Soft(forSoft, text, labels, similarity), forSoft);
        var forTotal = randn(6, 8, requires_grad: true);
        FiniteWithGradient(ScaleDetLosses.Total(forTotal, text, labels, similarity, Tau, softWeight: 0.5f), forTotal);
    }

    [Fact]
    public void ImageLabel_OnRandomEmbeddings_HasGradients()
    {
        using var scope = NewDisposeScope();
        var embedding = randn(3, 8, requires_grad: true);
        var multiHot = Of([1, 0, 0, 1, 0, /**/ 0, 1, 0, 0, 0, /**/ 0, 0, 1, 1, 1], 3, 5);
        FiniteWithGradient(DeticLoss.ImageLabel(embedding, UnitRows(5, 8), multiHot, logitScale: 10, logitBias: -2), embedding);
    }

    [Fact]
    public void EmptyInputs_GiveZero_AndBackpropagate()
    {
        using var scope = NewDisposeScope();
        var text = UnitRows(4, 8);
        var noLabels = zeros(0, dtype: ScalarType.Int64);
        var similarity = ScaleDetLosses.SimilarityMatrix(text);

        AssertZero(x => ProposalLosses.FocalHeatmap(x, zeros(0, 1, 4, 4)), 0, 1, 4, 4);
        AssertZero(x => ProposalLosses.GIoU(x, zeros(0, 4)), 0, 4);
        AssertZero(x => ProposalLosses.BoxRefinement(x, zeros(0, 4)), 0, 4);
        AssertZero(x => ScaleDetLosses.Hard(x, text, noLabels, Tau), 0, 8);
        AssertZero(x => ScaleDetLosses.Soft(x, text, noLabels, similarity), 0, 8);
        AssertZero(x => ScaleDetLosses.Total(x, text, noLabels, similarity, Tau, 0.5f), 0, 8);
        // Only background regions: no row of S to aim at.
        AssertZero(x => ScaleDetLosses.Soft(x, text, tensor(new long[] { -1, -1 }), similarity), 2, 8);
        AssertZero(x => DeticLoss.ImageLabel(x, text, zeros(0, 4), logitScale: 10, logitBias: -2), 0, 8);
    }

    private static void AssertZero(Func<Tensor, Tensor> loss, params long[] shape)
    {
        var input = zeros(shape, requires_grad: true);
        var value = loss(input);
        Assert.Empty(value.shape);
        Assert.Equal(0f, value.item<float>());
        value.backward();
        Assert.NotNull(input.grad);
        Assert.Equal(0f, input.grad.abs().sum().item<float>());
    }
}
