namespace Labeling.Detection;

/// <summary>Greedy non-maximum suppression, per class, as torchvision's batched_nms and ONNX NonMaxSuppression do it.</summary>
public static class Nms
{
    /// <summary>Intersection over union of two boxes (0 when either is empty).</summary>
    public static float IoU(float ax1, float ay1, float ax2, float ay2, float bx1, float by1, float bx2, float by2)
    {
        var iw = Math.Min(ax2, bx2) - Math.Max(ax1, bx1);
        var ih = Math.Min(ay2, by2) - Math.Max(ay1, by1);
        if (iw <= 0 || ih <= 0)
        {
            return 0;
        }

        var inter = iw * ih;
        var union = (ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter;
        return union <= 0 ? 0 : inter / union;
    }

    /// <summary>
    /// Keeps, class by class, the best-scored boxes and drops any box whose IoU with a kept box of
    /// the same class exceeds <paramref name="iouThreshold"/>; returns at most <paramref name="max"/>
    /// boxes, best first. Ties keep the earlier box (stable), as torchvision does.
    /// </summary>
    public static List<Detection> PerClass(IReadOnlyList<Detection> candidates, float iouThreshold, int max)
    {
        ArgumentNullException.ThrowIfNull(candidates);
        var order = Enumerable.Range(0, candidates.Count)
            .OrderByDescending(i => candidates[i].Score)
            .ThenBy(i => i)
            .ToArray();
        var suppressed = new bool[candidates.Count];
        var kept = new List<Detection>();
        for (var a = 0; a < order.Length && kept.Count < max; a++)
        {
            var i = order[a];
            if (suppressed[i])
            {
                continue;
            }

            var box = candidates[i];
            kept.Add(box);
            for (var b = a + 1; b < order.Length; b++)
            {
                var j = order[b];
                var other = candidates[j];
                if (!suppressed[j] && other.ClassIndex == box.ClassIndex
                    && IoU(box.X1, box.Y1, box.X2, box.Y2, other.X1, other.Y1, other.X2, other.Y2) > iouThreshold)
                {
                    suppressed[j] = true;
                }
            }
        }

        return kept;
    }
}
