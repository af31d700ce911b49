namespace Labeling.Trainer.Losses;

/// <summary>
/// CenterNet training targets of one image at one feature stride: the class-agnostic centre heatmap and, per object,
/// its centre cell and regression target. Plain arrays, so the caller stacks a batch into tensors.
/// </summary>
/// <param name="Heatmap">[1,H,W] row-major: a gaussian per object, the maximum where they overlap, exactly 1 at centres.</param>
/// <param name="Height">Feature map height H.</param>
/// <param name="Width">Feature map width W.</param>
/// <param name="CentreCells">Per object, its centre cell as a flat index y·W + x.</param>
/// <param name="Distances">Per object, 4 values l,t,r,b: distances in input pixels from the centre cell's centre
/// ((x + 0.5)·stride, (y + 0.5)·stride) to the box's left, top, right and bottom edges.</param>
/// <param name="BoxIndices">Per object, the index of its box in the input; boxes without area are skipped. Objects
/// sharing a centre cell are all listed; the caller decides which one the cell regresses.</param>
public sealed record CenterNetTargets(float[] Heatmap, int Height, int Width, int[] CentreCells, float[] Distances, int[] BoxIndices)
{
    /// <summary>Minimum IoU a box displaced within the gaussian radius keeps with the original (CenterNet's 0.7).</summary>
    public const double MinOverlap = 0.7;

    /// <summary>Number of objects (length of <see cref="CentreCells"/>).</summary>
    public int Count => CentreCells.Length;

    /// <summary>
    /// Targets for <paramref name="boxes"/> (x1,y1,x2,y2 in input pixels) on a
    /// <paramref name="featureHeight"/>×<paramref name="featureWidth"/> map of stride <paramref name="stride"/>.
    /// </summary>
    public static CenterNetTargets Build(float[][] boxes, int featureHeight, int featureWidth, int stride)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureHeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(featureWidth, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(stride, 1);

        var heatmap = new float[featureHeight * featureWidth];
        var cells = new List<int>();
        var distances = new List<float>();
        var indices = new List<int>();
        for (var i = 0; i < boxes.Length; i++)
        {
            float x1 = boxes[i][0], y1 = boxes[i][1], x2 = boxes[i][2], y2 = boxes[i][3];
            if (x2 <= x1 || y2 <= y1)
                continue;

            var cx = Math.Clamp((int)Math.Floor((x1 + x2) / 2.0 / stride), 0, featureWidth - 1);
            var cy = Math.Clamp((int)Math.Floor((y1 + y2) / 2.0 / stride), 0, featureHeight - 1);
            // As CenterNet: the radius from the box size in feature cells, rounded up, then truncated to whole cells.
            var radius = Math.Max(0, (int)GaussianRadius(Math.Ceiling((y2 - y1) / (double)stride), Math.Ceiling((x2 - x1) / (double)stride)));
            DrawGaussian(heatmap, featureHeight, featureWidth, cx, cy, radius);

            float px = (cx + 0.5f) * stride, py = (cy + 0.5f) * stride;
            cells.Add(cy * featureWidth + cx);
            distances.AddRange([px - x1, py - y1, x2 - px, y2 - py]);
            indices.Add(i);
        }

        return new CenterNetTargets(heatmap, featureHeight, featureWidth, [.. cells], [.. distances], [.. indices]);
    }

    /// <summary>
    /// CenterNet's gaussian_radius: the smallest of the radii from its three corner-displacement cases for a box of
    /// <paramref name="height"/>×<paramref name="width"/> cells.
    /// </summary>
    /// <remarks>
    /// Reproduces the published code, including its (b + √(b² − 4ac)) / 2 where the quadratic formula has /(2a):
    /// every CenterNet-family model was trained with these radii, and the heatmap focal loss was tuned on them.
    /// </remarks>
    public static double GaussianRadius(double height, double width, double minOverlap = MinOverlap)
    {
        var b1 = height + width;
        var c1 = width * height * (1 - minOverlap) / (1 + minOverlap);
        var r1 = (b1 + Math.Sqrt(b1 * b1 - 4 * c1)) / 2;

        var b2 = 2 * (height + width);
        var c2 = (1 - minOverlap) * width * height;
        var r2 = (b2 + Math.Sqrt(b2 * b2 - 4 * 4 * c2)) / 2;

        var a3 = 4 * minOverlap;
        var b3 = -2 * minOverlap * (height + width);
        var c3 = (minOverlap - 1) * width * height;
        var r3 = (b3 + Math.Sqrt(b3 * b3 - 4 * a3 * c3)) / 2;

        return Math.Min(r1, Math.Min(r2, r3));
    }

    // CenterNet's draw_umich_gaussian: a (2r+1)² gaussian with σ = (2r+1)/6, merged by maximum. Its cut-off of values
    // below machine epsilon never applies at this σ (the smallest value, at a corner, is above e^−9), so it is left out.
    private static void DrawGaussian(float[] heatmap, int height, int width, int cx, int cy, int radius)
    {
        var sigma = (2 * radius + 1) / 6.0;
        for (var y = Math.Max(0, cy - radius); y <= Math.Min(height - 1, cy + radius); y++)
        {
            for (var x = Math.Max(0, cx - radius); x <= Math.Min(width - 1, cx + radius); x++)
            {
                int dx = x - cx, dy = y - cy;
                var value = (float)Math.Exp(-(dx * dx + dy * dy) / (2 * sigma * sigma));
                heatmap[y * width + x] = Math.Max(heatmap[y * width + x], value);
            }
        }
    }
}
