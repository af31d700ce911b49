using Labeling.Trainer.Losses;
using static Labeling.Trainer.Tests.Losses.LossAssert;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Losses;

public sealed class DeticLossTests
{
    public DeticLossTests() => TorchRuntime.Initialise(threads: 1);

    [Fact]
    public void MaxSizeProposal_PicksTheLargestArea_InvertedBoxesCountAsZero()
    {
        using var scope = NewDisposeScope();
        // Areas 2·2 = 4, 5·1 = 5, 2·3 = 6; the inverted box's −10·−10 = 100 must not win.
        var boxes = Of([0, 0, 2, 2, /**/ 0, 0, 5, 1, /**/ 1, 1, 3, 4, /**/ 10, 10, 0, 0], 4, 4);
        Assert.Equal(2, DeticLoss.MaxSizeProposal(boxes));
    }

    [Fact]
    public void MaxSizeProposal_WithoutProposals_Throws()
    {
        using var scope = NewDisposeScope();
        Assert.Throws<ArgumentException>(() => DeticLoss.MaxSizeProposal(zeros(0, 4)));
    }

    [Fact]
    public void ImageLabel_IsWeightedBceAgainstTheTags_SummedOverClasses_AveragedOverImages()
    {
        using var scope = NewDisposeScope();
        var text = Of([1, 0, /**/ 0, 1, /**/ -1, 0], 3, 2);
        var embedding = Of([1, 0, /**/ 0, 1], 2, 2);
        var multiHot = Of([1, 1, 0, /**/ 0, 0, 1], 2, 3);

        // logits = cos · 2 − 1. Image 0: cos (1, 0, −1) → (1, −1, −3), tags {0, 1}.
        var image0 = Bce(1, 1) + Bce(-1, 1) + Bce(-3, 0);
        // Image 1: cos (0, 1, 0) → (−1, 1, −1), tag {2}.
        var image1 = Bce(-1, 0) + Bce(1, 0) + Bce(-1, 1);
        var expected = 0.1 * (image0 + image1) / 2;
        Close(expected, DeticLoss.ImageLabel(embedding, text, multiHot, logitScale: 2, logitBias: -1));
    }
}
