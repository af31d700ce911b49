using static TorchSharp.torch;

namespace Labeling.Trainer.Losses;

/// <summary>
/// Detic's (Zhou et al., ECCV 2022) image-label loss for images that carry tags but no boxes: the largest of an
/// image's top proposals stands for the image, and only its classification is trained (no box loss) towards the
/// image's tags.
/// </summary>
public static class DeticLoss
{
    /// <summary>
    /// Index of the largest-area box among <paramref name="boxes"/> [K,4] (x1,y1,x2,y2); inverted boxes count as
    /// area 0, ties go to the first. Throws for K = 0: an image without proposals has no region to train.
    /// </summary>
    public static int MaxSizeProposal(Tensor boxes)
    {
        if (boxes.shape[0] == 0)
            throw new ArgumentException("No proposals to choose the largest from.", nameof(boxes));

        using var scope = NewDisposeScope();
        var b = boxes.detach().unbind(1);
        var area = (b[2] - b[0]).clamp_min(0f) * (b[3] - b[1]).clamp_min(0f);
        return (int)area.argmax().item<long>();
    }

    /// <summary>
    /// Image-label loss: <paramref name="weight"/> × binary cross-entropy of the logits
    /// cos(embedding, text)·<paramref name="logitScale"/> + <paramref name="logitBias"/> against
    /// <paramref name="multiHot"/> [M,C] (1 for every tag of the image, 0 for the rest of the vocabulary).
    /// <paramref name="embedding"/> [M,D] is the max-size proposal's region embedding, one per image;
    /// <paramref name="text"/> [C,D] the vocabulary's text embeddings. 0 when M = 0.
    /// </summary>
    /// <remarks>
    /// Summed over the C classes and averaged over the M images, the same reduction as <see cref="ScaleDetLosses.Hard"/>,
    /// so the weight keeps Detic's meaning of "0.1 of the box classification loss" (Detic sums over classes in both).
    /// </remarks>
    public static Tensor ImageLabel(Tensor embedding, Tensor text, Tensor multiHot, float logitScale, float logitBias, float weight = 0.1f)
    {
        using var bias = tensor(logitBias, device: embedding.device);
        return ImageLabel(embedding, text, multiHot, logitScale, bias, weight);
    }

    /// <summary>As above with the model's learned bias (a scalar tensor), which then gets its gradient too.</summary>
    public static Tensor ImageLabel(Tensor embedding, Tensor text, Tensor multiHot, float logitScale, Tensor logitBias, float weight = 0.1f)
    {
        if (embedding.shape[0] == 0)
            return embedding.sum() * 0f;

        using var scope = NewDisposeScope();
        var logits = Cosine.Between(embedding, text) * logitScale + logitBias;
        var loss = nn.functional.binary_cross_entropy_with_logits(logits, multiHot.to_type(logits.dtype), reduction: nn.Reduction.Sum)
            .div(embedding.shape[0]);
        return (weight * loss).MoveToOuterDisposeScope();
    }
}
