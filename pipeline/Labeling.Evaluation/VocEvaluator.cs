using System.Globalization;

namespace Labeling.Evaluation;

/// <summary>How the precision × recall curve is interpolated into one AP.</summary>
public enum VocInterpolation
{
    /// <summary>VOC 2007: the mean of the interpolated precision at recall 0, 0.1, …, 1.</summary>
    ElevenPoint,

    /// <summary>VOC 2010+: the area under the monotone precision envelope at every recall change.</summary>
    EveryPoint,
}

/// <summary>A Pascal VOC box in absolute pixels (<c>x y w h</c>); <see cref="Confidence"/> is NaN for ground truth.</summary>
public sealed record VocBox(string Image, string ClassName, double X, double Y, double Width, double Height, double Confidence = double.NaN);

/// <summary>One class's VOC result.</summary>
public sealed record VocClassResult(string ClassName, double AveragePrecision, int Positives, int TruePositives, int FalsePositives);

/// <summary>
/// Pascal VOC AP per class, as defined by Padilla et al. ("A comparative analysis of object
/// detection metrics", review_object_detection_metrics): detections by confidence (stable), each
/// matched to the unmatched-or-not ground truth of the same image with the highest IoU; a TP when
/// that IoU reaches the threshold and the ground truth is still free, else a FP. IoU counts pixels
/// inclusively (<c>x2 - x1 + 1</c>), as that implementation does.
/// </summary>
public static class VocEvaluator
{
    /// <summary>AP for every class that has ground truth, in ordinal class-name order.</summary>
    public static IReadOnlyList<VocClassResult> Evaluate(IEnumerable<VocBox> groundTruth, IEnumerable<VocBox> detections, double iouThreshold, VocInterpolation interpolation)
    {
        var gts = groundTruth.ToList();
        var dets = detections.ToList();
        var results = new List<VocClassResult>();
        foreach (var className in gts.Select(g => g.ClassName).Distinct().Order(StringComparer.Ordinal))
        {
            var byImage = gts.Where(g => g.ClassName == className).GroupBy(g => g.Image).ToDictionary(g => g.Key, g => g.ToArray());
            var used = byImage.ToDictionary(p => p.Key, p => new bool[p.Value.Length]);
            var positives = byImage.Values.Sum(v => v.Length);
            var ordered = dets.Where(d => d.ClassName == className).OrderByDescending(d => d.Confidence).ToArray();
            var tp = new double[ordered.Length];
            var fp = new double[ordered.Length];
            for (var i = 0; i < ordered.Length; i++)
            {
                var det = ordered[i];
                var best = 2.2250738585072014E-308; // sys.float_info.min in the reference: a zero IoU never matches.
                var match = -1;
                var candidates = byImage.GetValueOrDefault(det.Image) ?? [];
                for (var j = 0; j < candidates.Length; j++)
                {
                    var iou = Iou(det, candidates[j]);
                    if (iou > best)
                    {
                        best = iou;
                        match = j;
                    }
                }

                if (match >= 0 && best >= iouThreshold && !used[det.Image][match])
                {
                    tp[i] = 1;
                    used[det.Image][match] = true;
                }
                else
                {
                    fp[i] = 1;
                }
            }

            var rec = new double[ordered.Length];
            var prec = new double[ordered.Length];
            double accTp = 0, accFp = 0;
            for (var i = 0; i < ordered.Length; i++)
            {
                accTp += tp[i];
                accFp += fp[i];
                rec[i] = accTp / positives;
                prec[i] = accTp / (accFp + accTp);
            }

            var ap = interpolation == VocInterpolation.ElevenPoint ? ElevenPoint(rec, prec) : EveryPoint(rec, prec);
            results.Add(new VocClassResult(className, ap, positives, (int)accTp, (int)accFp));
        }

        return results;
    }

    /// <summary>Mean AP over the classes with ground truth; NaN when there are none.</summary>
    public static double MeanAveragePrecision(IReadOnlyList<VocClassResult> results) =>
        results.Count == 0 ? double.NaN : results.Sum(r => r.AveragePrecision) / results.Count;

    internal static double EveryPoint(double[] rec, double[] prec)
    {
        var mrec = new double[rec.Length + 2];
        var mpre = new double[prec.Length + 2];
        rec.CopyTo(mrec, 1);
        prec.CopyTo(mpre, 1);
        mrec[^1] = 1;
        for (var i = mpre.Length - 1; i > 0; i--)
        {
            mpre[i - 1] = Math.Max(mpre[i - 1], mpre[i]);
        }

        double ap = 0;
        for (var i = 1; i < mrec.Length; i++)
        {
            if (mrec[i] != mrec[i - 1])
            {
                ap += (mrec[i] - mrec[i - 1]) * mpre[i];
            }
        }

        return ap;
    }

    internal static double ElevenPoint(double[] rec, double[] prec)
    {
        // np.linspace(0, 1, 11) taken from 1 down to 0; the sum runs in that order.
        var recallValues = CocoEvaluator.Linspace(0, 1, 11).Reverse();
        double sum = 0;
        foreach (var r in recallValues)
        {
            var first = Array.FindIndex(rec, x => x >= r);
            var pmax = 0.0;
            if (first >= 0)
            {
                for (var i = first; i < prec.Length; i++)
                {
                    pmax = Math.Max(pmax, prec[i]);
                }
            }

            sum += pmax;
        }

        return sum / 11;
    }

    /// <summary>IoU with inclusive pixel coordinates: areas and intersection count <c>x2 - x1 + 1</c>.</summary>
    internal static double Iou(VocBox a, VocBox b)
    {
        double ax2 = a.X + a.Width, ay2 = a.Y + a.Height, bx2 = b.X + b.Width, by2 = b.Y + b.Height;
        if (a.X > bx2 || b.X > ax2 || ay2 < b.Y || a.Y > by2)
        {
            return 0;
        }

        var inter = (Math.Min(ax2, bx2) - Math.Max(a.X, b.X) + 1) * (Math.Min(ay2, by2) - Math.Max(a.Y, b.Y) + 1);
        var areaA = (ax2 - a.X + 1) * (ay2 - a.Y + 1);
        var areaB = (bx2 - b.X + 1) * (by2 - b.Y + 1);
        return inter / (areaA + areaB - inter);
    }
}

/// <summary>The text format of Padilla's tools: one file per image, <c>class x y w h</c> (ground truth) or <c>class confidence x y w h</c> (detections).</summary>
public static class VocTextFormat
{
    /// <summary>Reads every <c>*.txt</c> in <paramref name="folder"/>; the image is the file name without extension.</summary>
    public static IReadOnlyList<VocBox> ReadFolder(string folder, bool detections)
    {
        if (!Directory.Exists(folder))
        {
            throw new EvaluationInputException($"VOC folder not found: {folder}");
        }

        var boxes = new List<VocBox>();
        foreach (var file in Directory.GetFiles(folder, "*.txt").Order(StringComparer.Ordinal))
        {
            boxes.AddRange(Parse(File.ReadAllText(file), Path.GetFileNameWithoutExtension(file), detections, file));
        }

        return boxes;
    }

    /// <summary>Parses one image's lines; blank lines are skipped; a bad line throws with its number.</summary>
    public static IEnumerable<VocBox> Parse(string text, string image, bool detections, string source = "VOC file")
    {
        ArgumentNullException.ThrowIfNull(text);
        var lines = text.Split('\n');
        var expected = detections ? 6 : 5;
        for (var n = 0; n < lines.Length; n++)
        {
            var parts = lines[n].Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            if (parts.Length == 0)
            {
                continue;
            }

            if (parts.Length != expected)
            {
                throw new EvaluationInputException($"{source}:{n + 1}: expected {(detections ? "'class confidence x y w h'" : "'class x y w h'")}, found '{lines[n].Trim()}'.");
            }

            var numbers = parts.Skip(1).Select(p => double.TryParse(p, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) ? v : double.NaN).ToArray();
            if (numbers.Any(v => !double.IsFinite(v)))
            {
                throw new EvaluationInputException($"{source}:{n + 1}: not a number in '{lines[n].Trim()}'.");
            }

            var o = detections ? 1 : 0;
            if (numbers[o + 2] < 0 || numbers[o + 3] < 0)
            {
                throw new EvaluationInputException($"{source}:{n + 1}: negative width or height in '{lines[n].Trim()}'.");
            }

            yield return new VocBox(image, parts[0], numbers[o], numbers[o + 1], numbers[o + 2], numbers[o + 3], detections ? numbers[0] : double.NaN);
        }
    }
}
