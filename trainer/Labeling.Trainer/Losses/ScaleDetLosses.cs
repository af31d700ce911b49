using static TorchSharp.torch;

namespace Labeling.Trainer.Losses;

/// <summary>
/// ScaleDet's (Chen et al., CVPR 2023) region–text classification losses. A region embedding v [N,D] scores every
/// class text embedding t [C,D] as s = sigmoid(cos(v, t) / τ) [N,C]. The hard loss trains s towards the one-hot label;
/// the soft loss trains the cosines cos(v, t) towards the label's row of the text similarity matrix, so a region sits
/// where its label's text sits among ALL the labels: related classes keep partial similarity, and an unseen name
/// composed of seen words ("red square" after "red circle" and "blue square") lands near the right regions.
/// </summary>
/// <remarks>
/// Background regions (label −1) take part in <see cref="Hard"/> with an all-zero target (every class is a negative,
/// which is what teaches the detector to score background low) and are left out of <see cref="Soft"/>: they have no
/// class whose similarity row could serve as a target.
/// </remarks>
public static class ScaleDetLosses
{
    /// <summary>
    /// Label similarity matrix S [C,C] of text embeddings [C,D]: their cosines in [−1,1], exactly 1 on the diagonal.
    /// Detached: it is a target.
    /// </summary>
    public static Tensor SimilarityMatrix(Tensor text)
    {
        using var scope = NewDisposeScope();
        var classes = text.shape[0];
        var similarity = Cosine.Between(text, text).clamp(-1f, 1f);
        // A unit vector's product with itself rounds to 0.99999994 or 1.0000001; the diagonal is 1 by definition.
        var diagonal = eye(classes, dtype: ScalarType.Bool, device: text.device);
        return similarity.masked_fill(diagonal, 1f).detach().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Hard label loss: binary cross-entropy of s against one-hot(<paramref name="labels"/>), summed over the C classes
    /// and averaged over the N regions (Detic's reduction); labels [N] int64 in 0..C−1, or −1 for background (all-zero
    /// target). 0 when N = 0.
    /// </summary>
    /// <remarks>
    /// <paramref name="bias"/> (the model's learned logit bias, a scalar) is added to cos/τ when given: the
    /// detector scores a class as sigmoid(cos·scale + bias), and training the same expression keeps the
    /// exported scores calibrated for classes the embedding has never seen (cos ≈ 0).
    /// Summing over classes matters: a mean over N·C divides the one positive entry of a region by C, so with mostly
    /// background regions the classification signal drowned under the box losses in the shared backbone (the synthetic
    /// world's seed: AP 0.045 with the mean, 0.196 with the sum, 600 steps; docs/benchmarks.md).
    /// </remarks>
    public static Tensor Hard(Tensor regions, Tensor text, Tensor labels, float tau, Tensor? bias = null)
    {
        if (regions.shape[0] == 0)
            return regions.sum() * 0f;

        using var scope = NewDisposeScope();
        var logits = Cosine.Between(regions, text) / tau;
        if (bias is not null)
            logits = logits + bias;
        var classes = arange(text.shape[0], dtype: ScalarType.Int64, device: labels.device);
        // −1 equals no class index, so a background row comes out all zero.
        var target = labels.unsqueeze(1).eq(classes.unsqueeze(0)).to_type(logits.dtype);
        return nn.functional.binary_cross_entropy_with_logits(logits, target, reduction: nn.Reduction.Sum)
            .div(regions.shape[0]).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Soft label loss: squared error between the cosines cos(v_i, t) [C] and row S[y_i] of
    /// <paramref name="similarity"/> (<see cref="SimilarityMatrix"/>), summed over the C classes and averaged over the
    /// N_fg foreground regions (the reduction of <see cref="Hard"/>). It works on cosines, not on the sigmoid scores: a score target of S would teach the detector to give
    /// "green triangle" most of the probability of "red triangle" (their names share a word), while a cosine target
    /// keeps the embedding geometry and leaves calibration to <see cref="Hard"/>. Background regions (label −1) are
    /// left out; 0 when there is no foreground region.
    /// </summary>
    public static Tensor Soft(Tensor regions, Tensor text, Tensor labels, Tensor similarity)
    {
        using var scope = NewDisposeScope();
        var foreground = labels.ge(0).nonzero().squeeze(1);
        if (foreground.shape[0] == 0)
            return (regions.sum() * 0f).MoveToOuterDisposeScope();

        var cosines = Cosine.Between(regions.index_select(0, foreground), text);
        var target = similarity.index_select(0, labels.index_select(0, foreground));
        return (cosines - target).square().sum(1).mean().MoveToOuterDisposeScope();
    }

    /// <summary>ScaleDet's classification loss: <see cref="Hard"/> + <paramref name="softWeight"/> · <see cref="Soft"/>.</summary>
    public static Tensor Total(Tensor regions, Tensor text, Tensor labels, Tensor similarity, float tau, float softWeight)
    {
        using var scope = NewDisposeScope();
        var total = Hard(regions, text, labels, tau) + softWeight * Soft(regions, text, labels, similarity);
        return total.MoveToOuterDisposeScope();
    }
}
