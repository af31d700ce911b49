using Labeling.Trainer.Ops;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Tests.Ops;

public sealed class NmsTests
{
    public NmsTests() => TorchRuntime.Initialise(threads: 1);

    // Scores order: 5 (0.99), 3, 0, 1, 2, 4.
    // IoU(3,0) = 100/200 = 0.5; IoU(3,1) = 90/210 ≈ 0.43; IoU(0,1) = 81/119 ≈ 0.68; IoU(2,4) = 81/119.
    private static readonly float[] HandBoxes =
    [
        0, 0, 10, 10,
        1, 1, 11, 11,
        20, 20, 30, 30,
        0, 0, 20, 10,
        21, 21, 31, 31,
        50, 50, 60, 60,
    ];

    private static readonly float[] HandScores = [0.9f, 0.8f, 0.7f, 0.95f, 0.6f, 0.99f];

    private static long[] Run(Func<Tensor, Tensor, Tensor> nms, float[] boxes, float[] scores)
    {
        using var scope = NewDisposeScope();
        var kept = nms(tensor(boxes).view(-1, 4), tensor(scores));
        Assert.Equal(ScalarType.Int64, kept.dtype);
        Assert.Equal(1, kept.dim());
        return kept.numel() == 0 ? [] : kept.data<long>().ToArray();
    }

    [Fact]
    public void Forward_OnAHandWorkedExample_KeepsWhatGreedyNmsKeeps()
    {
        // 0.5: IoU exactly 0.5 does not suppress, so 0 survives 3 and then suppresses 1; 2 suppresses 4.
        Assert.Equal([5L, 3, 0, 2], Run((b, s) => Nms.Forward(b, s, 0.5f), HandBoxes, HandScores));
        // 0.45: 3 suppresses 0, and a suppressed box suppresses nothing, so 1 survives.
        Assert.Equal([5L, 3, 1, 2], Run((b, s) => Nms.Forward(b, s, 0.45f), HandBoxes, HandScores));
        Assert.Equal([5L, 3], Run((b, s) => Nms.Forward(b, s, 0.5f, maxOutput: 2), HandBoxes, HandScores));
    }

    [Fact]
    public void BatchedNms_SuppressesOnlyWithinAClass()
    {
        // Box 1 in its own class escapes box 0; box 4 in its own class escapes box 2.
        using var scope = NewDisposeScope();
        Assert.Equal([5L, 3, 0, 1, 2], Run((b, s) => Nms.BatchedNms(b, s, tensor(new long[] { 0, 1, 0, 0, 0, 0 }), 0.5f), HandBoxes, HandScores));
        Assert.Equal([5L, 3, 0, 1, 2, 4], Run((b, s) => Nms.BatchedNms(b, s, tensor(new long[] { 0, 1, 0, 0, 2, 0 }), 0.5f), HandBoxes, HandScores));
    }

    [Fact]
    public void Forward_OfNoBoxes_IsEmpty()
    {
        Assert.Empty(Run((b, s) => Nms.Forward(b, s, 0.5f), [], []));
        Assert.Empty(Run((b, s) => Nms.BatchedNms(b, s, zeros(0, dtype: ScalarType.Int64), 0.5f), [], []));
    }

    [Theory]
    [InlineData(1, 0.3f)]
    [InlineData(2, 0.5f)]
    [InlineData(3, 0.7f)]
    public void Forward_MatchesAPlainReference_OnRandomBoxes(int seed, float threshold)
    {
        var (boxes, scores, classes) = RandomDetections(new Random(seed), 300);
        var sameClass = new int[classes.Length];

        Assert.Equal(Reference(boxes, scores, sameClass, threshold), Run((b, s) => Nms.Forward(b, s, threshold), boxes, scores));
    }

    [Theory]
    [InlineData(4, 0.3f)]
    [InlineData(5, 0.5f)]
    public void BatchedNms_MatchesAPlainPerClassReference_OnRandomBoxes(int seed, float threshold)
    {
        var (boxes, scores, classes) = RandomDetections(new Random(seed), 300);
        var classIds = classes.Select(c => (long)c).ToArray();

        var kept = Run((b, s) => Nms.BatchedNms(b, s, tensor(classIds), threshold), boxes, scores);

        Assert.Equal(Reference(boxes, scores, classes, threshold), kept);
    }

    /// <summary>
    /// Clustered boxes (so that many overlap) with scores from a small set (so that ties occur), and
    /// classes 0..3; some boxes have negative coordinates.
    /// </summary>
    private static (float[] Boxes, float[] Scores, int[] Classes) RandomDetections(Random random, int n)
    {
        var boxes = new float[n * 4];
        for (var i = 0; i < n; i++)
        {
            var cx = random.Next(5) * 40 - 20 + (float)random.NextDouble() * 20;
            var cy = random.Next(5) * 40 - 20 + (float)random.NextDouble() * 20;
            var w = 5 + (float)random.NextDouble() * 40;
            var h = 5 + (float)random.NextDouble() * 40;
            (boxes[4 * i], boxes[4 * i + 1], boxes[4 * i + 2], boxes[4 * i + 3]) = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2);
        }
        var scores = Enumerable.Range(0, n).Select(_ => random.Next(50) / 50f).ToArray();
        var classes = Enumerable.Range(0, n).Select(_ => random.Next(4)).ToArray();
        return (boxes, scores, classes);
    }

    /// <summary>
    /// Textbook greedy NMS: take the best remaining box (lowest index among equal scores), then drop the
    /// remaining boxes of its class that overlap it by more than the threshold; repeat.
    /// </summary>
    private static long[] Reference(float[] boxes, float[] scores, int[] classes, float threshold)
    {
        double Area(int i) => ((double)boxes[4 * i + 2] - boxes[4 * i]) * ((double)boxes[4 * i + 3] - boxes[4 * i + 1]);
        double Overlap(int i, int j)
        {
            var w = Math.Max(0, Math.Min((double)boxes[4 * i + 2], boxes[4 * j + 2]) - Math.Max((double)boxes[4 * i], boxes[4 * j]));
            var h = Math.Max(0, Math.Min((double)boxes[4 * i + 3], boxes[4 * j + 3]) - Math.Max((double)boxes[4 * i + 1], boxes[4 * j + 1]));
            return w * h / (Area(i) + Area(j) - w * h);
        }

        var remaining = Enumerable.Range(0, scores.Length).ToList();
        var kept = new List<long>();
        while (remaining.Count > 0)
        {
            var best = remaining[0];
            foreach (var i in remaining)
            {
                if (scores[i] > scores[best] || (scores[i] == scores[best] && i < best))
                {
                    best = i;
                }
            }
            kept.Add(best);
            remaining.RemoveAll(i => i == best || (classes[i] == classes[best] && Overlap(best, i) > threshold));
        }
        return kept.ToArray();
    }
}
