using static TorchSharp.torch;

namespace Labeling.Trainer.Losses;

/// <summary>
/// Losses of the class-agnostic CenterNet proposal stage (heatmap and box regression) and of the box head's
/// refinement. Every loss returns a differentiable scalar tensor; empty inputs give 0, never NaN.
/// </summary>
public static class ProposalLosses
{
    /// <summary>Smooth-L1 switch point of <see cref="BoxRefinement"/> (Faster R-CNN's 1/9).</summary>
    public const float SmoothL1Beta = 1f / 9f;

    // Keeps GIoU's divisions finite for degenerate (zero-area) boxes.
    private const float Eps = 1e-7f;

    /// <summary>
    /// CenterNet's penalty-reduced pixel-wise focal loss. <paramref name="logits"/> [B,1,H,W] are heatmap logits;
    /// <paramref name="target"/> [B,1,H,W] is the gaussian heatmap in [0,1], exactly 1 at object centres. The sum
    /// over the whole batch is divided by the number of centres (at least 1).
    /// </summary>
    public static Tensor FocalHeatmap(Tensor logits, Tensor target, float alpha = 2f, float beta = 4f)
    {
        using var scope = NewDisposeScope();
        var p = logits.sigmoid();
        var positive = target.eq(1f).to_type(logits.dtype);
        var negative = target.lt(1f).to_type(logits.dtype);
        // log σ(x) and log(1 − σ(x)) = log σ(−x) straight from the logits: log(sigmoid(x)) is −inf once σ
        // rounds to 0 or 1 in float32 (|x| ≳ 17 for 1 − σ, ≳ 104 for σ).
        var positiveLoss = positive * (1f - p).pow(alpha) * nn.functional.logsigmoid(logits);
        var negativeLoss = negative * (1f - target).pow(beta) * p.pow(alpha) * nn.functional.logsigmoid(-logits);
        var centres = positive.sum().clamp_min(1f);
        return (-(positiveLoss.sum() + negativeLoss.sum()) / centres).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Mean of 1 − GIoU between <paramref name="pred"/> [N,4] and <paramref name="target"/> [N,4] boxes
    /// (x1,y1,x2,y2), pairwise by row; 0 when N = 0.
    /// </summary>
    public static Tensor GIoU(Tensor pred, Tensor target)
    {
        if (pred.shape[0] == 0)
            return pred.sum() * 0f;

        using var scope = NewDisposeScope();
        var p = pred.unbind(1);
        var t = target.unbind(1);
        var predArea = (p[2] - p[0]).clamp_min(0f) * (p[3] - p[1]).clamp_min(0f);
        var targetArea = (t[2] - t[0]).clamp_min(0f) * (t[3] - t[1]).clamp_min(0f);

        var intersection = (minimum(p[2], t[2]) - maximum(p[0], t[0])).clamp_min(0f)
            * (minimum(p[3], t[3]) - maximum(p[1], t[1])).clamp_min(0f);
        var union = predArea + targetArea - intersection;
        var enclosing = (maximum(p[2], t[2]) - minimum(p[0], t[0])).clamp_min(0f)
            * (maximum(p[3], t[3]) - minimum(p[1], t[1])).clamp_min(0f);

        var iou = intersection / (union + Eps);
        var giou = iou - (enclosing - union) / (enclosing + Eps);
        return (1f - giou).mean().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Smooth-L1 (beta <see cref="SmoothL1Beta"/>) between predicted and target box deltas [N,4], averaged over all
    /// N·4 entries; 0 when N = 0.
    /// </summary>
    public static Tensor BoxRefinement(Tensor predDeltas, Tensor targetDeltas)
    {
        if (predDeltas.shape[0] == 0)
            return predDeltas.sum() * 0f;

        using var scope = NewDisposeScope();
        var difference = (predDeltas - targetDeltas).abs();
        var loss = where(
            difference.lt(SmoothL1Beta),
            0.5f * difference.square() / SmoothL1Beta,
            difference - 0.5f * SmoothL1Beta);
        return loss.mean().MoveToOuterDisposeScope();
    }
}
