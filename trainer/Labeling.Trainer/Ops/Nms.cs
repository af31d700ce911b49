using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Ops;

/// <summary>Greedy non-maximum suppression over x1,y1,x2,y2 boxes. Not differentiable: it returns indices.</summary>
public static class Nms
{
    /// <summary>
    /// Indices (int64, on the boxes' device) of the boxes ([N,4]) that survive greedy NMS, best score first:
    /// the best remaining box is kept and every box whose IoU with it exceeds <paramref name="iouThreshold"/>
    /// is dropped. Equal scores keep index order. At most <paramref name="maxOutput"/> indices.
    /// </summary>
    public static Tensor Forward(Tensor boxes, Tensor scores, float iouThreshold, int maxOutput = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentOutOfRangeException.ThrowIfNegative(maxOutput);
        if (boxes.dim() != 2 || boxes.shape[1] != 4)
        {
            throw new ArgumentException($"boxes must be [N,4], got [{string.Join(",", boxes.shape)}]", nameof(boxes));
        }
        if (scores.dim() != 1 || scores.shape[0] != boxes.shape[0])
        {
            throw new ArgumentException($"scores must be [{boxes.shape[0]}], got [{string.Join(",", scores.shape)}]", nameof(scores));
        }

        if (boxes.shape[0] == 0)
        {
            return empty(0, ScalarType.Int64, boxes.device);
        }

        // A sequential loop over plain arrays: per-box tensor ops would cost far more in dispatch than
        // the O(N²) arithmetic. Double precision keeps BatchedNms's large class offsets exact enough.
        double[] b;
        float[] s;
        using (var scope = NewDisposeScope())
        {
            b = boxes.detach().cpu().to(ScalarType.Float64).contiguous().data<double>().ToArray();
            s = scores.detach().cpu().to(ScalarType.Float32).contiguous().data<float>().ToArray();
        }

        var order = Enumerable.Range(0, s.Length).OrderByDescending(i => s[i]).ToArray();
        var suppressed = new bool[s.Length];
        var kept = new List<long>();
        for (var o = 0; o < order.Length && kept.Count < maxOutput; o++)
        {
            var i = order[o];
            if (suppressed[i])
            {
                continue;
            }
            kept.Add(i);
            for (var p = o + 1; p < order.Length; p++)
            {
                var j = order[p];
                if (!suppressed[j] && Iou(b, i, j) > iouThreshold)
                {
                    suppressed[j] = true;
                }
            }
        }
        return tensor(kept.ToArray(), ScalarType.Int64, boxes.device);
    }

    /// <summary>
    /// NMS within each class (<paramref name="classIds"/>, [N] integers): boxes of different classes never
    /// suppress each other. Indices best score first across all classes.
    /// </summary>
    public static Tensor BatchedNms(Tensor boxes, Tensor scores, Tensor classIds, float iouThreshold, int maxOutput = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(scores);
        ArgumentNullException.ThrowIfNull(classIds);
        if (boxes.numel() == 0)
        {
            return Forward(boxes, scores, iouThreshold, maxOutput);
        }

        using var scope = NewDisposeScope();
        // Shift each class by more than the extent of all boxes, so boxes of different classes cannot overlap.
        var b = boxes.detach().to(ScalarType.Float64);
        var span = b.max() - b.min() + 1;
        var shifted = b + (classIds.to(ScalarType.Float64) * span).unsqueeze(1);
        return Forward(shifted, scores, iouThreshold, maxOutput).MoveToOuterDisposeScope();
    }

    private static double Iou(double[] b, int i, int j)
    {
        var (i4, j4) = (4 * i, 4 * j);
        var width = Math.Min(b[i4 + 2], b[j4 + 2]) - Math.Max(b[i4], b[j4]);
        var height = Math.Min(b[i4 + 3], b[j4 + 3]) - Math.Max(b[i4 + 1], b[j4 + 1]);
        if (width <= 0 || height <= 0)
        {
            return 0;
        }
        var inter = width * height;
        var union = (b[i4 + 2] - b[i4]) * (b[i4 + 3] - b[i4 + 1]) + (b[j4 + 2] - b[j4]) * (b[j4 + 3] - b[j4 + 1]) - inter;
        return inter / union;
    }
}
