using System.Globalization;
using System.Text;
using Labeling.Detection;
using Labeling.Labels;

namespace Labeling.Bootstrap;

/// <summary>What changed for one class between two model generations.</summary>
/// <param name="ClassName">The class (or "(all)" for the total).</param>
/// <param name="Added">Boxes the newer model has and the older one has no match for.</param>
/// <param name="Removed">Boxes the older model had that the newer one has no match for.</param>
/// <param name="Changed">Matched boxes (IoU ≥ the match threshold) that moved (IoU below the same-box threshold).</param>
/// <param name="Unchanged">Matched boxes that stayed in place.</param>
/// <param name="Grounded">Tags that went from weak (only the largest-proposal fallback) to grounded (a box above threshold).</param>
/// <param name="Weakened">Tags that went the other way.</param>
public sealed record ClassDiff(string ClassName, int Added, int Removed, int Changed, int Unchanged, int Grounded, int Weakened);

/// <summary>
/// The diff of two generations over the images that carry boxes of both (<see cref="ImagesCompared"/>); images with
/// boxes of only one of them (a relabel still under way) are counted, not compared.
/// </summary>
public sealed record ModelDiffReport(string From, string To, int ImagesCompared, int ImagesOnlyFrom, int ImagesOnlyTo, IReadOnlyList<ClassDiff> Classes)
{
    public ClassDiff Total => new("(all)", Classes.Sum(c => c.Added), Classes.Sum(c => c.Removed), Classes.Sum(c => c.Changed),
        Classes.Sum(c => c.Unchanged), Classes.Sum(c => c.Grounded), Classes.Sum(c => c.Weakened));

    public string ToMarkdown()
    {
        var text = new StringBuilder()
            .Append(CultureInfo.InvariantCulture, $"{From} → {To}: {ImagesCompared} image(s) with boxes of both ({ImagesOnlyFrom} only of {From}, {ImagesOnlyTo} only of {To})\n\n")
            .Append("| class | added | removed | changed | unchanged | weak → grounded | grounded → weak |\n| --- | --- | --- | --- | --- | --- | --- |\n");
        foreach (var c in Classes.Append(Total))
        {
            text.Append(CultureInfo.InvariantCulture, $"| {c.ClassName} | {c.Added} | {c.Removed} | {c.Changed} | {c.Unchanged} | {c.Grounded} | {c.Weakened} |\n");
        }

        return text.ToString();
    }
}

/// <summary>
/// <c>labeling diff --from V1 --to V2</c>: per class, the boxes a newer model added, removed and moved relative to an
/// older one, and the tags it grounded. Every generation keeps its boxes (they carry their model), so any two can be
/// compared. Boxes of one class on one image are matched greedily by IoU, best pair first.
/// </summary>
public static class ModelDiff
{
    /// <summary>IoU from which two boxes of a class are the same object (default 0.5).</summary>
    public const float MatchIou = 0.5f;

    /// <summary>IoU from which a matched box counts as unchanged (default 0.9).</summary>
    public const float SameIou = 0.9f;

    /// <exception cref="InvalidOperationException">Either version is not registered.</exception>
    public static async Task<ModelDiffReport> CompareAsync(ILabelStore store, string from, string to, string? dataset, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        foreach (var version in new[] { from, to })
        {
            if (await store.GetModelAsync(version, cancellationToken).ConfigureAwait(false) is null)
            {
                throw new InvalidOperationException($"No model version '{version}' is registered.");
            }
        }

        var older = await BoxesByImageAsync(store, from, dataset, cancellationToken).ConfigureAwait(false);
        var newer = await BoxesByImageAsync(store, to, dataset, cancellationToken).ConfigureAwait(false);
        var counts = new SortedDictionary<string, int[]>(StringComparer.Ordinal);
        int[] Of(string name) => counts.TryGetValue(name, out var c) ? c : counts[name] = new int[6];

        var compared = 0;
        foreach (var (image, oldBoxes) in older)
        {
            if (!newer.TryGetValue(image, out var newBoxes))
            {
                continue;
            }

            compared++;
            foreach (var name in oldBoxes.Concat(newBoxes).Select(b => b.ClassName).Distinct(StringComparer.Ordinal))
            {
                var a = oldBoxes.Where(b => b.ClassName == name && b.Source != BoxSource.Weak).ToList();
                var b = newBoxes.Where(x => x.ClassName == name && x.Source != BoxSource.Weak).ToList();
                var c = Of(name);
                var matched = Match(a, b);
                c[0] += b.Count - matched.Count;
                c[1] += a.Count - matched.Count;
                c[2] += matched.Count(iou => iou < SameIou);
                c[3] += matched.Count(iou => iou >= SameIou);
                bool Weak(List<BoxRow> boxes, List<BoxRow> model) => boxes.Count == 0 && model.Any(x => x.ClassName == name && x.Source == BoxSource.Weak);
                if (Weak(a, oldBoxes) && b.Count > 0)
                {
                    c[4]++;
                }

                if (a.Count > 0 && Weak(b, newBoxes))
                {
                    c[5]++;
                }
            }
        }

        return new ModelDiffReport(from, to, compared, older.Keys.Count(k => !newer.ContainsKey(k)), newer.Keys.Count(k => !older.ContainsKey(k)),
            [.. counts.Select(p => new ClassDiff(p.Key, p.Value[0], p.Value[1], p.Value[2], p.Value[3], p.Value[4], p.Value[5]))]);
    }

    /// <summary>Greedy matching, best IoU first; returns the IoU of every matched pair.</summary>
    private static List<float> Match(List<BoxRow> a, List<BoxRow> b)
    {
        var pairs = new List<(float Iou, int I, int J)>();
        for (var i = 0; i < a.Count; i++)
        {
            for (var j = 0; j < b.Count; j++)
            {
                var iou = Iou(a[i], b[j]);
                if (iou >= MatchIou)
                {
                    pairs.Add((iou, i, j));
                }
            }
        }

        var usedA = new HashSet<int>();
        var usedB = new HashSet<int>();
        var matched = new List<float>();
        foreach (var (iou, i, j) in pairs.OrderByDescending(p => p.Iou))
        {
            if (!usedA.Contains(i) && !usedB.Contains(j))
            {
                usedA.Add(i);
                usedB.Add(j);
                matched.Add(iou);
            }
        }

        return matched;
    }

    private static float Iou(BoxRow a, BoxRow b) => Nms.IoU(a.X1, a.Y1, a.X2, a.Y2, b.X1, b.Y1, b.X2, b.Y2);

    private static async Task<Dictionary<long, List<BoxRow>>> BoxesByImageAsync(ILabelStore store, string version, string? dataset, CancellationToken cancellationToken)
    {
        var byImage = new Dictionary<long, List<BoxRow>>();
        long after = 0;
        while (true)
        {
            var page = await store.QueryBoxesAsync(new BoxQuery { ModelVersion = version, Dataset = dataset, AfterId = after, Limit = 10_000 }, cancellationToken).ConfigureAwait(false);
            foreach (var box in page.Boxes)
            {
                if (!byImage.TryGetValue(box.ImageId, out var list))
                {
                    byImage[box.ImageId] = list = [];
                }

                list.Add(box);
            }

            if (page.NextAfterId is not { } next)
            {
                return byImage;
            }

            after = next;
        }
    }
}
