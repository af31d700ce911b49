using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Ops;

/// <summary>Weights that scale the Faster R-CNN box deltas (dx, dy, dw, dh).</summary>
public readonly record struct DeltaWeights(float X, float Y, float W, float H)
{
    /// <summary>The Faster R-CNN second-stage weights (10, 10, 5, 5).</summary>
    public static DeltaWeights Default { get; } = new(10, 10, 5, 5);
}

/// <summary>
/// Box arithmetic on [..,4] tensors of x1,y1,x2,y2 (x1 ≤ x2, y1 ≤ y2). Everything is built from
/// differentiable tensor ops.
/// </summary>
public static class Boxes
{
    /// <summary>exp(dw) and exp(dh) are capped at 1000/16 when decoding, so a wild delta cannot overflow.</summary>
    public static readonly float MaxLogScale = MathF.Log(1000f / 16);

    // Keeps 0/0 (two empty boxes) at 0 instead of NaN; far below any real area.
    private const float MinArea = 1e-12f;

    /// <summary>(x2 − x1)(y2 − y1) of each box: [..,4] → [..].</summary>
    public static Tensor Area(Tensor boxes)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        using var scope = NewDisposeScope();
        var (x1, y1, x2, y2) = Corners(boxes);
        return ((x2 - x1) * (y2 - y1)).MoveToOuterDisposeScope();
    }

    /// <summary>Intersection over union of every pair: a [N,4], b [M,4] → [N,M]. Two empty boxes give 0.</summary>
    public static Tensor Iou(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        using var scope = NewDisposeScope();
        var (inter, union) = Overlap(a.unsqueeze(1), b.unsqueeze(0));
        return (inter / union.clamp_min(MinArea)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Generalised IoU (Rezatofighi et al. 2019) of matching pairs: a [N,4], b [N,4] → [N], in (−1, 1]:
    /// IoU − (enclosing area − union) / enclosing area.
    /// </summary>
    public static Tensor GeneralizedIou(Tensor a, Tensor b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        using var scope = NewDisposeScope();
        var (inter, union) = Overlap(a, b);
        var (ax1, ay1, ax2, ay2) = Corners(a);
        var (bx1, by1, bx2, by2) = Corners(b);
        var enclosing = (maximum(ax2, bx2) - minimum(ax1, bx1)) * (maximum(ay2, by2) - minimum(ay1, by1));
        var iou = inter / union.clamp_min(MinArea);
        enclosing = enclosing.clamp_min(MinArea);
        return (iou - (enclosing - union) / enclosing).MoveToOuterDisposeScope();
    }

    /// <summary>Clamps x to [0, width] and y to [0, height].</summary>
    public static Tensor Clip(Tensor boxes, float width, float height)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        using var scope = NewDisposeScope();
        var (x1, y1, x2, y2) = Corners(boxes);
        return stack([x1.clamp(0, width), y1.clamp(0, height), x2.clamp(0, width), y2.clamp(0, height)], -1)
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Regression targets that move <paramref name="proposals"/> onto <paramref name="targets"/> (both [N,4]) →
    /// [N,4] dx, dy, dw, dh: centre shift in proposal sizes and log size ratio, times the weights.
    /// </summary>
    public static Tensor EncodeDeltas(Tensor proposals, Tensor targets, DeltaWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(proposals);
        ArgumentNullException.ThrowIfNull(targets);
        var w = weights ?? DeltaWeights.Default;
        using var scope = NewDisposeScope();
        var (px, py, pw, ph) = CentreSize(proposals);
        var (tx, ty, tw, th) = CentreSize(targets);
        return stack([w.X * (tx - px) / pw, w.Y * (ty - py) / ph, w.W * log(tw / pw), w.H * log(th / ph)], -1)
            .MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The boxes that <paramref name="deltas"/> ([N,4], as <see cref="EncodeDeltas"/> writes them) make of
    /// <paramref name="proposals"/> ([N,4]); dw and dh are capped at <see cref="MaxLogScale"/>.
    /// </summary>
    public static Tensor DecodeDeltas(Tensor proposals, Tensor deltas, DeltaWeights? weights = null)
    {
        ArgumentNullException.ThrowIfNull(proposals);
        ArgumentNullException.ThrowIfNull(deltas);
        var w = weights ?? DeltaWeights.Default;
        using var scope = NewDisposeScope();
        var (px, py, pw, ph) = CentreSize(proposals);
        var (dx, dy, dw, dh) = Corners(deltas);
        var cx = dx / w.X * pw + px;
        var cy = dy / w.Y * ph + py;
        var halfWidth = 0.5f * exp((dw / w.W).clamp_max(MaxLogScale)) * pw;
        var halfHeight = 0.5f * exp((dh / w.H).clamp_max(MaxLogScale)) * ph;
        return stack([cx - halfWidth, cy - halfHeight, cx + halfWidth, cy + halfHeight], -1).MoveToOuterDisposeScope();
    }

    /// <summary>Intersection and union areas of a and b, broadcast against each other.</summary>
    private static (Tensor Inter, Tensor Union) Overlap(Tensor a, Tensor b)
    {
        var (ax1, ay1, ax2, ay2) = Corners(a);
        var (bx1, by1, bx2, by2) = Corners(b);
        var width = (minimum(ax2, bx2) - maximum(ax1, bx1)).clamp_min(0);
        var height = (minimum(ay2, by2) - maximum(ay1, by1)).clamp_min(0);
        var inter = width * height;
        return (inter, Area(a) + Area(b) - inter);
    }

    private static (Tensor, Tensor, Tensor, Tensor) Corners(Tensor boxes)
    {
        if (boxes.shape.Length == 0 || boxes.shape[^1] != 4)
        {
            throw new ArgumentException($"boxes must be [..,4], got [{string.Join(",", boxes.shape)}]", nameof(boxes));
        }
        var c = boxes.unbind(-1);
        return (c[0], c[1], c[2], c[3]);
    }

    private static (Tensor X, Tensor Y, Tensor W, Tensor H) CentreSize(Tensor boxes)
    {
        var (x1, y1, x2, y2) = Corners(boxes);
        var (w, h) = (x2 - x1, y2 - y1);
        return (x1 + 0.5f * w, y1 + 0.5f * h, w, h);
    }
}
