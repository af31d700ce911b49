namespace Labeling.Evaluation;

/// <summary>
/// COCO bbox evaluation, a reimplementation of pycocotools' <c>COCOeval</c> (iouType <c>bbox</c>,
/// default parameters) that gives the same twelve numbers: evaluate per image and category,
/// accumulate precision at 101 recall thresholds, summarize.
/// </summary>
public static class CocoEvaluator
{
    /// <summary>The twelve summary statistics, in pycocotools' <c>stats</c> order.</summary>
    public static IReadOnlyList<string> StatNames { get; } =
        ["AP", "AP50", "AP75", "APsmall", "APmedium", "APlarge", "AR1", "AR10", "AR100", "ARsmall", "ARmedium", "ARlarge"];

    // np.linspace(.5, 0.95, int(np.round((0.95 - .5) / .05)) + 1) and np.linspace(.0, 1.00, int(np.round((1.00 - .0) / .01)) + 1).
    internal static readonly double[] IouThresholds = Linspace(0.5, 0.95, (int)Math.Round((0.95 - 0.5) / 0.05, MidpointRounding.ToEven) + 1);
    internal static readonly double[] RecallThresholds = Linspace(0.0, 1.0, (int)Math.Round((1.00 - 0.0) / 0.01, MidpointRounding.ToEven) + 1);

    /// <summary>all, small, medium, large: <c>[0, 1e5²], [0, 32²], [32², 96²], [96², 1e5²]</c>, inclusive at both ends.</summary>
    internal static readonly (double Low, double High)[] AreaRanges = [(0, 1e5 * 1e5), (0, 32 * 32), (32 * 32, 96 * 96), (96 * 96, 1e5 * 1e5)];
    internal static readonly string[] AreaLabels = ["all", "small", "medium", "large"];
    internal static readonly int[] MaxDets = [1, 10, 100];

    // np.spacing(1): the gap from 1.0 to the next double.
    private const double Spacing1 = 2.220446049250313e-16;

    /// <summary>Evaluates <paramref name="detections"/> (from <see cref="CocoResults"/>) against <paramref name="groundTruth"/>.</summary>
    public static CocoEvaluationResult Evaluate(CocoDataset groundTruth, IReadOnlyList<CocoAnnotation> detections)
    {
        ArgumentNullException.ThrowIfNull(groundTruth);
        CocoResults.FromDetections(detections, groundTruth);

        var imageIds = groundTruth.ImageIds.Distinct().Order().ToArray();
        var categories = groundTruth.Categories.DistinctBy(c => c.Id).OrderBy(c => c.Id).ToArray();
        var imageSet = imageIds.ToHashSet();
        var categorySet = categories.Select(c => c.Id).ToHashSet();

        // Per (image, category), in file order, as _prepare builds _gts and _dts. Categories absent from the
        // ground truth's category list are not evaluated (pycocotools filters them out the same way).
        var gts = Group(groundTruth.Annotations, imageSet, categorySet);
        var dts = Group(detections, imageSet, categorySet);

        int T = IouThresholds.Length, R = RecallThresholds.Length, K = categories.Length, A = AreaRanges.Length, M = MaxDets.Length, I = imageIds.Length;
        var evalImgs = new ImageEvaluation?[K, A, I];
        for (var k = 0; k < K; k++)
        {
            for (var i = 0; i < I; i++)
            {
                var key = (imageIds[i], categories[k].Id);
                var gt = gts.GetValueOrDefault(key) ?? [];
                var dt = dts.GetValueOrDefault(key) ?? [];
                for (var a = 0; a < A; a++)
                {
                    evalImgs[k, a, i] = EvaluateImage(gt, dt, AreaRanges[a], MaxDets[^1]);
                }
            }
        }

        var precision = new double[T, R, K, A, M];
        var recall = new double[T, K, A, M];
        Fill(precision, -1);
        Fill(recall, -1);
        Accumulate(evalImgs, precision, recall);

        var stats = new double[]
        {
            Summarize(precision, recall, true, null, 0, 2),
            Summarize(precision, recall, true, 0.5, 0, 2),
            Summarize(precision, recall, true, 0.75, 0, 2),
            Summarize(precision, recall, true, null, 1, 2),
            Summarize(precision, recall, true, null, 2, 2),
            Summarize(precision, recall, true, null, 3, 2),
            Summarize(precision, recall, false, null, 0, 0),
            Summarize(precision, recall, false, null, 0, 1),
            Summarize(precision, recall, false, null, 0, 2),
            Summarize(precision, recall, false, null, 1, 2),
            Summarize(precision, recall, false, null, 2, 2),
            Summarize(precision, recall, false, null, 3, 2),
        };

        var perCategory = new CategoryAveragePrecision[K];
        for (var k = 0; k < K; k++)
        {
            double sum = 0;
            var n = 0;
            for (var t = 0; t < T; t++)
            {
                for (var r = 0; r < R; r++)
                {
                    var p = precision[t, r, k, 0, M - 1];
                    if (p > -1)
                    {
                        sum += p;
                        n++;
                    }
                }
            }

            perCategory[k] = new CategoryAveragePrecision(categories[k].Id, categories[k].Name, n == 0 ? null : sum / n);
        }

        return new CocoEvaluationResult(stats, perCategory, precision, recall);
    }

    private static Dictionary<(long Image, long Category), List<CocoAnnotation>> Group(IEnumerable<CocoAnnotation> annotations, HashSet<long> images, HashSet<long> categories)
    {
        var groups = new Dictionary<(long, long), List<CocoAnnotation>>();
        foreach (var a in annotations)
        {
            if (!images.Contains(a.ImageId) || !categories.Contains(a.CategoryId))
            {
                continue;
            }

            if (!groups.TryGetValue((a.ImageId, a.CategoryId), out var list))
            {
                groups[(a.ImageId, a.CategoryId)] = list = [];
            }

            list.Add(a);
        }

        return groups;
    }

    /// <summary>pycocotools' <c>evaluateImg</c> for one image, category and area range; null when there is neither ground truth nor detection.</summary>
    internal static ImageEvaluation? EvaluateImage(List<CocoAnnotation> gtIn, List<CocoAnnotation> dtIn, (double Low, double High) range, int maxDet)
    {
        if (gtIn.Count == 0 && dtIn.Count == 0)
        {
            return null;
        }

        bool Outside(double area) => area < range.Low || area > range.High;

        // Ground truth: ignored (crowd or outside the area range) last, stable. Detections: score
        // descending, stable (numpy's mergesort of -score), cut at maxDet per image and category.
        var gt = gtIn.OrderBy(g => g.IsCrowd || Outside(g.Area) ? 1 : 0).ToArray();
        var dt = dtIn.OrderBy(d => -d.Score).Take(maxDet).ToArray();
        var gtIgnore = gt.Select(g => g.IsCrowd || Outside(g.Area)).ToArray();

        int T = IouThresholds.Length, G = gt.Length, D = dt.Length;
        var gtm = new long[T, G];
        var dtm = new long[T, D];
        var dtIgnore = new bool[T, D];
        if (G > 0 && D > 0)
        {
            var ious = new double[D, G];
            for (var d = 0; d < D; d++)
            {
                for (var g = 0; g < G; g++)
                {
                    ious[d, g] = Iou(dt[d].Box, gt[g].Box, gt[g].IsCrowd);
                }
            }

            for (var t = 0; t < T; t++)
            {
                for (var d = 0; d < D; d++)
                {
                    var iou = Math.Min(IouThresholds[t], 1 - 1e-10);
                    var m = -1;
                    for (var g = 0; g < G; g++)
                    {
                        // Already matched and not a crowd: taken. A crowd region can absorb any number of detections.
                        if (gtm[t, g] > 0 && !gt[g].IsCrowd)
                        {
                            continue;
                        }

                        // Matched to a regular ground truth and only ignored ones remain: stop.
                        if (m > -1 && !gtIgnore[m] && gtIgnore[g])
                        {
                            break;
                        }

                        if (ious[d, g] < iou)
                        {
                            continue;
                        }

                        iou = ious[d, g];
                        m = g;
                    }

                    if (m == -1)
                    {
                        continue;
                    }

                    dtIgnore[t, d] = gtIgnore[m];
                    dtm[t, d] = gt[m].Id;
                    gtm[t, m] = dt[d].Id;
                }
            }
        }

        // Unmatched detections outside the area range are ignored, not counted as false positives.
        for (var t = 0; t < T; t++)
        {
            for (var d = 0; d < D; d++)
            {
                dtIgnore[t, d] |= dtm[t, d] == 0 && Outside(dt[d].Area);
            }
        }

        return new ImageEvaluation([.. dt.Select(d => d.Score)], dtm, dtIgnore, gtIgnore);
    }

    /// <summary>pycocotools' <c>bbIou</c> (maskApi.c): for a crowd ground truth the union is the detection's area.</summary>
    internal static double Iou(CocoBox d, CocoBox g, bool crowd)
    {
        var w = Math.Min(d.Width + d.X, g.Width + g.X) - Math.Max(d.X, g.X);
        if (w <= 0)
        {
            return 0;
        }

        var h = Math.Min(d.Height + d.Y, g.Height + g.Y) - Math.Max(d.Y, g.Y);
        if (h <= 0)
        {
            return 0;
        }

        var da = d.Width * d.Height;
        var ga = g.Width * g.Height;
        var i = w * h;
        var u = crowd ? da : da + ga - i;
        return i / u;
    }

    private static void Accumulate(ImageEvaluation?[,,] evalImgs, double[,,,,] precision, double[,,,] recall)
    {
        int T = IouThresholds.Length, R = RecallThresholds.Length, K = evalImgs.GetLength(0), A = evalImgs.GetLength(1), I = evalImgs.GetLength(2);
        for (var k = 0; k < K; k++)
        {
            for (var a = 0; a < A; a++)
            {
                var images = new List<ImageEvaluation>();
                for (var i = 0; i < I; i++)
                {
                    if (evalImgs[k, a, i] is { } e)
                    {
                        images.Add(e);
                    }
                }

                if (images.Count == 0)
                {
                    continue;
                }

                var npig = images.Sum(e => e.GtIgnore.Count(ignore => !ignore));
                for (var m = 0; m < MaxDets.Length; m++)
                {
                    var maxDet = MaxDets[m];

                    // Concatenate each image's first maxDet detections in image order, then a stable sort by score.
                    var rows = new List<(double Score, ImageEvaluation Image, int Index)>();
                    foreach (var e in images)
                    {
                        for (var d = 0; d < Math.Min(maxDet, e.DtScores.Length); d++)
                        {
                            rows.Add((e.DtScores[d], e, d));
                        }
                    }

                    if (npig == 0)
                    {
                        continue;
                    }

                    var sorted = rows.OrderBy(row => -row.Score).ToArray();
                    var nd = sorted.Length;
                    for (var t = 0; t < T; t++)
                    {
                        var rc = new double[nd];
                        var pr = new double[nd];
                        double tp = 0, fp = 0;
                        for (var j = 0; j < nd; j++)
                        {
                            var (_, e, d) = sorted[j];
                            if (!e.DtIgnore[t, d])
                            {
                                if (e.DtMatches[t, d] != 0)
                                {
                                    tp++;
                                }
                                else
                                {
                                    fp++;
                                }
                            }

                            rc[j] = tp / npig;
                            pr[j] = tp / (fp + tp + Spacing1);
                        }

                        recall[t, k, a, m] = nd > 0 ? rc[nd - 1] : 0;

                        for (var j = nd - 1; j > 0; j--)
                        {
                            if (pr[j] > pr[j - 1])
                            {
                                pr[j - 1] = pr[j];
                            }
                        }

                        // np.searchsorted(rc, recThrs, side='left'); past the end the rest stay 0.
                        var index = 0;
                        for (var r = 0; r < R; r++)
                        {
                            while (index < nd && rc[index] < RecallThresholds[r])
                            {
                                index++;
                            }

                            precision[t, r, k, a, m] = index < nd ? pr[index] : 0;
                        }
                    }
                }
            }
        }
    }

    private static double Summarize(double[,,,,] precision, double[,,,] recall, bool ap, double? iouThreshold, int area, int maxDets)
    {
        int T = precision.GetLength(0), R = precision.GetLength(1), K = precision.GetLength(2);
        double sum = 0;
        var n = 0;
        for (var t = 0; t < T; t++)
        {
            // np.where(iouThr == p.iouThrs): exact equality, as pycocotools.
            if (iouThreshold is { } thr && IouThresholds[t] != thr)
            {
                continue;
            }

            for (var k = 0; k < K; k++)
            {
                if (ap)
                {
                    for (var r = 0; r < R; r++)
                    {
                        var p = precision[t, r, k, area, maxDets];
                        if (p > -1)
                        {
                            sum += p;
                            n++;
                        }
                    }
                }
                else if (recall[t, k, area, maxDets] is var v && v > -1)
                {
                    sum += v;
                    n++;
                }
            }
        }

        return n == 0 ? -1 : sum / n;
    }

    /// <summary>numpy's <c>linspace</c> with <c>endpoint=True</c>: <c>start + i*step</c>, the last value exactly <paramref name="stop"/>.</summary>
    internal static double[] Linspace(double start, double stop, int num)
    {
        var values = new double[num];
        var step = (stop - start) / (num - 1);
        for (var i = 0; i < num; i++)
        {
            values[i] = (i * step) + start;
        }

        values[^1] = stop;
        return values;
    }

    private static void Fill(Array array, double value)
    {
        if (array is double[,,,,] five)
        {
            System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref five[0, 0, 0, 0, 0], five.Length).Fill(value);
        }
        else if (array is double[,,,] four)
        {
            System.Runtime.InteropServices.MemoryMarshal.CreateSpan(ref four[0, 0, 0, 0], four.Length).Fill(value);
        }
    }
}

/// <summary>One image × category × area range: the sorted detections' scores, matches and ignore flags at each IoU threshold.</summary>
internal sealed record ImageEvaluation(double[] DtScores, long[,] DtMatches, bool[,] DtIgnore, bool[] GtIgnore);

/// <summary>A category's AP at IoU .50:.95, all areas, 100 detections; null when the category has no ground truth.</summary>
public sealed record CategoryAveragePrecision(long CategoryId, string Name, double? AveragePrecision);

/// <summary>The twelve COCO statistics (−1 where pycocotools gives −1: no ground truth in that setting) and the per-category AP.</summary>
public sealed class CocoEvaluationResult
{
    internal CocoEvaluationResult(double[] stats, CategoryAveragePrecision[] perCategory, double[,,,,] precision, double[,,,] recall)
    {
        Stats = stats;
        PerCategory = perCategory;
        Precision = precision;
        Recall = recall;
    }

    /// <summary>The twelve values in <see cref="CocoEvaluator.StatNames"/> order (pycocotools' <c>stats</c>).</summary>
    public IReadOnlyList<double> Stats { get; }

    /// <summary>AP per category, in category id order.</summary>
    public IReadOnlyList<CategoryAveragePrecision> PerCategory { get; }

    /// <summary>
    /// AP per category at one IoU threshold (0.50, 0.55, …, 0.95), all areas, 100 detections: the mean of
    /// the precision over the 101 recall points, as pycocotools averages it; null without ground truth.
    /// </summary>
    public IReadOnlyList<CategoryAveragePrecision> PerCategoryAt(double iouThreshold)
    {
        var t = Array.FindIndex(CocoEvaluator.IouThresholds, v => Math.Abs(v - iouThreshold) < 1e-9);
        if (t < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(iouThreshold), iouThreshold, "COCO evaluates IoU 0.50, 0.55, …, 0.95.");
        }

        return [.. PerCategory.Select((category, k) =>
        {
            var values = Enumerable.Range(0, Precision.GetLength(1)).Select(r => Precision[t, r, k, 0, Precision.GetLength(4) - 1]).Where(p => p > -1).ToList();
            return category with { AveragePrecision = values.Count == 0 ? null : values.Average() };
        })];
    }

    /// <summary>pycocotools' <c>eval['precision']</c>: [T, R, K, A, M].</summary>
    internal double[,,,,] Precision { get; }

    /// <summary>pycocotools' <c>eval['recall']</c>: [T, K, A, M].</summary>
    internal double[,,,] Recall { get; }

    public double AP => Stats[0];
    public double AP50 => Stats[1];
    public double AP75 => Stats[2];
    public double APsmall => Stats[3];
    public double APmedium => Stats[4];
    public double APlarge => Stats[5];
    public double AR1 => Stats[6];
    public double AR10 => Stats[7];
    public double AR100 => Stats[8];
    public double ARsmall => Stats[9];
    public double ARmedium => Stats[10];
    public double ARlarge => Stats[11];

    /// <summary>The stat called <paramref name="name"/> (one of <see cref="CocoEvaluator.StatNames"/>).</summary>
    public double this[string name] => Stats[CocoEvaluator.StatNames.ToList().IndexOf(name) is var i and >= 0 ? i : throw new ArgumentException($"Unknown COCO stat '{name}'.", nameof(name))];

    /// <summary>pycocotools' <c>summarize()</c> lines, one per stat.</summary>
    public IEnumerable<string> SummaryLines()
    {
        string[] iou = ["0.50:0.95", "0.50", "0.75", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95", "0.50:0.95"];
        string[] area = ["all", "all", "all", "small", "medium", "large", "all", "all", "all", "small", "medium", "large"];
        int[] maxDets = [100, 100, 100, 100, 100, 100, 1, 10, 100, 100, 100, 100];
        for (var i = 0; i < 12; i++)
        {
            var title = i < 6 ? "Average Precision  (AP)" : "Average Recall     (AR)";
            yield return string.Create(System.Globalization.CultureInfo.InvariantCulture, $" {title} @[ IoU={iou[i],-9} | area={area[i],6} | maxDets={maxDets[i],3} ] = {Stats[i]:0.000}");
        }
    }
}
