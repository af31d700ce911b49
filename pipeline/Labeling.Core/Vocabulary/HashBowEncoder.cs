using System.Globalization;
using System.Text;
using Labeling.Labels;

namespace Labeling.Vocabulary;

/// <summary>
/// The <c>hashbow-D</c> space: a deterministic bag of words that needs no weights. The normalised
/// name is split into words on spaces; each word's UTF-8 bytes are hashed with FNV-1a (64-bit)
/// into the seed of a SplitMix64 generator whose outputs give the word's D components, uniform on
/// [-1, 1); the word vector is scaled to unit length, the word vectors of a name are summed and the
/// sum is scaled to unit length. Compositional ("red fox" is near "red" and near "fox"), order-blind
/// ("fox red" equals "red fox"), and two different words are nearly orthogonal for large D
/// (cosine ≈ N(0, 1/D)).
/// </summary>
/// <remarks>
/// The algorithm is part of the space: models trained against <c>hashbow-256</c> rely on every
/// vector staying the same, so it uses only integer arithmetic and IEEE-754 +, ×, ÷ and √ (which
/// are correctly rounded everywhere) — no <see cref="Random"/>, no <see cref="string.GetHashCode()"/>,
/// no transcendental functions whose last bit may differ between runtimes. Vectors are therefore
/// bit-identical on every machine and .NET version.
/// </remarks>
public sealed class HashBowEncoder : ITextEncoder
{
    /// <summary>Creates the <c>hashbow-<paramref name="dimension"/></c> encoder.</summary>
    public HashBowEncoder(int dimension = 256)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        Dimension = dimension;
        Space = string.Create(CultureInfo.InvariantCulture, $"hashbow-{dimension}");
    }

    /// <summary>The encoder of a space named <c>hashbow-D</c> (D of 1–999999); false for any other name.</summary>
    public static bool TryForSpace(string space, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out HashBowEncoder? encoder)
    {
        ArgumentNullException.ThrowIfNull(space);
        encoder = null;
        const string Prefix = "hashbow-";
        var digits = space.StartsWith(Prefix, StringComparison.Ordinal) ? space[Prefix.Length..] : "";
        if (digits.Length is < 1 or > 6 || !digits.All(char.IsAsciiDigit)
            || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var dimension) || dimension < 1)
        {
            return false;
        }

        encoder = new HashBowEncoder(dimension);
        return true;
    }

    /// <inheritdoc />
    public string Space { get; }

    /// <inheritdoc />
    public int Dimension { get; }

    /// <inheritdoc />
    public float[] Encode(string name)
    {
        var normalised = TagName.Normalise(name);
        var sum = new double[Dimension];
        var word = new double[Dimension];
        foreach (var token in normalised.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var state = Fnv1a64(token);
            double norm2 = 0;
            for (var i = 0; i < word.Length; i++)
            {
                // 53 random bits → an exact double in [-1, 1).
                var x = ((long)(SplitMix64(ref state) >> 11) * (1.0 / (1L << 52))) - 1.0;
                word[i] = x;
                norm2 += x * x;
            }

            // A zero vector needs all D draws to be exactly -1 + 1; treat it as a word without direction.
            if (norm2 == 0)
            {
                continue;
            }

            var inverse = 1.0 / Math.Sqrt(norm2);
            for (var i = 0; i < sum.Length; i++)
            {
                sum[i] += word[i] * inverse;
            }
        }

        double total2 = 0;
        foreach (var x in sum)
        {
            total2 += x * x;
        }

        var result = new float[Dimension];
        if (total2 == 0)
        {
            // Only possible when word vectors cancel exactly (never in practice); fall back to the first axis rather than NaN.
            result[0] = 1;
            return result;
        }

        var scale = 1.0 / Math.Sqrt(total2);
        for (var i = 0; i < result.Length; i++)
        {
            result[i] = (float)(sum[i] * scale);
        }

        return result;
    }

    internal static ulong Fnv1a64(string word)
    {
        const ulong offsetBasis = 14695981039346656037;
        const ulong prime = 1099511628211;
        var hash = offsetBasis;
        foreach (var b in Encoding.UTF8.GetBytes(word))
        {
            hash ^= b;
            hash *= prime;
        }

        return hash;
    }

    internal static ulong SplitMix64(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15;
        var z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
        return z ^ (z >> 31);
    }
}
