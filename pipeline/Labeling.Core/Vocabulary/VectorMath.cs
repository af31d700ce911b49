using System.Numerics;

namespace Labeling.Vocabulary;

internal static class VectorMath
{
    /// <summary>Scales <paramref name="row"/> to unit L2 norm in place; false when it has zero or non-finite norm.</summary>
    public static bool TryNormalise(Span<float> row)
    {
        double sum = 0;
        foreach (var x in row)
        {
            sum += (double)x * x;
        }

        var norm = Math.Sqrt(sum);
        if (!(norm > 0) || !double.IsFinite(norm))
        {
            return false;
        }

        for (var i = 0; i < row.Length; i++)
        {
            row[i] = (float)(row[i] / norm);
        }

        return true;
    }

    /// <summary>
    /// Dot product of two equal-length spans. Exactly symmetric (Dot(a, b) == Dot(b, a) bit for bit),
    /// because products commute and the summation order depends only on the index.
    /// </summary>
    public static float Dot(ReadOnlySpan<float> a, ReadOnlySpan<float> b)
    {
        var width = Vector<float>.Count;
        var acc = Vector<float>.Zero;
        var i = 0;
        for (; i <= a.Length - width; i += width)
        {
            acc += new Vector<float>(a[i..]) * new Vector<float>(b[i..]);
        }

        var sum = Vector.Sum(acc);
        for (; i < a.Length; i++)
        {
            sum += a[i] * b[i];
        }

        return sum;
    }
}
