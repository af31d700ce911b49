using Labeling.Trainer.Losses;

namespace Labeling.Trainer.Tests.Losses;

public sealed class CenterNetTargetsTests
{
    private const int Stride = 4;
    private const int Size = 16;

    // σ = (2·2 + 1)/6 = 5/6 for radius 2, so 2σ² = 50/36 and a cell at squared distance k from the centre gets
    // exp(−k · 36/50) = exp(−0.72 k).
    private static float Radius2(int squaredDistance) => (float)Math.Exp(-0.72 * squaredDistance);

    private static float At(CenterNetTargets targets, int y, int x) => targets.Heatmap[y * targets.Width + x];

    [Fact]
    public void GaussianRadius_MatchesHandComputation()
    {
        // 10 × 10 cells, overlap 0.7:
        // r1 = (20 + √(20² − 4 · 100·0.3/1.7)) / 2 ≈ 19.07
        // r2 = (40 + √(40² − 16 · 0.3·100)) / 2 = (40 + √1120) / 2 ≈ 36.73
        // r3 = (−28 + √(28² + 4 · 2.8 · 30)) / 2 = (−28 + √1120) / 2 ≈ 2.733 — the smallest
        Assert.Equal((-28 + Math.Sqrt(1120)) / 2, CenterNetTargets.GaussianRadius(10, 10), 12);
        // 1 × 1: r3 = (−2.8 + √(2.8² + 4 · 2.8 · 0.3)) / 2 = (−2.8 + √11.2) / 2 ≈ 0.273
        Assert.Equal((-2.8 + Math.Sqrt(11.2)) / 2, CenterNetTargets.GaussianRadius(1, 1), 12);
    }

    [Fact]
    public void Build_OneBox_GivesCentreCellDistancesAndGaussian()
    {
        // 40 × 40 px = 10 × 10 cells → radius ⌊2.733⌋ = 2. Centre (28, 25) px → cell x ⌊7⌋ = 7, y ⌊6.25⌋ = 6,
        // whose centre is (7.5·4, 6.5·4) = (30, 26) px.
        var targets = CenterNetTargets.Build([[8, 5, 48, 45]], Size, Size, Stride);

        Assert.Equal(1, targets.Count);
        Assert.Equal(Size * Size, targets.Heatmap.Length);
        Assert.Equal([6 * 16 + 7], targets.CentreCells);
        Assert.Equal([0], targets.BoxIndices);
        // l = 30 − 8, t = 26 − 5, r = 48 − 30, b = 45 − 26
        Assert.Equal([22f, 21f, 18f, 19f], targets.Distances);

        Assert.Equal(1f, At(targets, 6, 7)); // exactly 1 at the centre
        Assert.Equal(Radius2(1), At(targets, 6, 8), 6);
        Assert.Equal(Radius2(2), At(targets, 7, 8), 6);
        Assert.Equal(Radius2(4), At(targets, 6, 9), 6);
        Assert.Equal(Radius2(8), At(targets, 8, 9), 6);
        Assert.Equal(0f, At(targets, 6, 10)); // outside the radius
        Assert.Equal(0f, At(targets, 9, 7));
        Assert.Equal(25, targets.Heatmap.Count(v => v > 0)); // the (2·2 + 1)² square
    }

    [Fact]
    public void Build_OverlappingObjects_TakeTheMaximumNotTheSum()
    {
        // Same 40 × 40 size, centres in cells (6, 7) and (6, 9): both give exp(−0.72) to cell (6, 8).
        // A 4 × 4 px box (1 × 1 cell, radius ⌊0.273⌋ = 0) on cell (2, 2) marks only that cell.
        var targets = CenterNetTargets.Build([[8, 5, 48, 45], [18, 6, 58, 46], [8, 8, 12, 12]], Size, Size, Stride);

        Assert.Equal([6 * 16 + 7, 6 * 16 + 9, 2 * 16 + 2], targets.CentreCells);
        Assert.Equal(1f, At(targets, 6, 7));
        Assert.Equal(1f, At(targets, 6, 9));
        Assert.Equal(Radius2(1), At(targets, 6, 8), 6);
        Assert.Equal(1f, At(targets, 2, 2));
        Assert.Equal(0f, At(targets, 2, 3));
        // Box 1: cell centre (9.5·4, 6.5·4) = (38, 26) → l 20, t 20, r 20, b 20; box 2: (10, 10) → 2 each.
        Assert.Equal([20f, 20f, 20f, 20f], targets.Distances[4..8]);
        Assert.Equal([2f, 2f, 2f, 2f], targets.Distances[8..12]);
    }

    [Fact]
    public void Build_SkipsBoxesWithoutArea()
    {
        var targets = CenterNetTargets.Build([[5, 5, 5, 10], [8, 5, 48, 45], [10, 10, 12, 10]], Size, Size, Stride);

        Assert.Equal([1], targets.BoxIndices);
        Assert.Equal(4, targets.Distances.Length);
    }
}
