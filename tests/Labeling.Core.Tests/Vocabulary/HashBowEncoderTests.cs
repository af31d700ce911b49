using Labeling.Vocabulary;

namespace Labeling.Core.Tests.Vocabulary;

public sealed class HashBowEncoderTests
{
    private static readonly HashBowEncoder Encoder = new();

    internal static float Cosine(float[] a, float[] b)
    {
        Assert.Equal(a.Length, b.Length);
        double dot = 0, na = 0, nb = 0;
        for (var i = 0; i < a.Length; i++)
        {
            dot += (double)a[i] * b[i];
            na += (double)a[i] * a[i];
            nb += (double)b[i] * b[i];
        }

        return (float)(dot / Math.Sqrt(na * nb));
    }

    private static double Norm(float[] v) => Math.Sqrt(v.Sum(x => (double)x * x));

    [Fact]
    public void Encode_RedFox_MatchesPinnedValues()
    {
        // Computed once (and cross-checked with an independent Python implementation of
        // FNV-1a 64 → SplitMix64 → uniform[-1,1)). The hashbow-256 space is these numbers: if this
        // test fails, the algorithm changed and every model trained in hashbow-256 is invalid.
        var v = Encoder.Encode("red fox");

        Assert.Equal(0.063755244f, v[0]);
        Assert.Equal(0.046194986f, v[1]);
        Assert.Equal(-0.039318f, v[2]);
        Assert.Equal(-0.04769048f, v[3]);
    }

    [Fact]
    public void Encode_IsDeterministicAcrossInstances()
    {
        Assert.Equal(new HashBowEncoder(256).Encode("arctic fox"), new HashBowEncoder().Encode("arctic fox"));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(256)]
    [InlineData(512)]
    public void Encode_HasDeclaredDimensionAndUnitNorm(int dimension)
    {
        var encoder = new HashBowEncoder(dimension);

        var v = encoder.Encode("traffic light");

        Assert.Equal(dimension, encoder.Dimension);
        Assert.Equal($"hashbow-{dimension}", encoder.Space);
        Assert.Equal(dimension, v.Length);
        Assert.Equal(1.0, Norm(v), 5);
    }

    [Fact]
    public void Constructor_RejectsNonPositiveDimension() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => new HashBowEncoder(0));

    [Fact]
    public void Encode_SameWord_HasCosineOne() =>
        Assert.Equal(1f, Cosine(Encoder.Encode("fox"), Encoder.Encode("fox")), 6);

    [Fact]
    public void Encode_WordOrderDoesNotMatter()
    {
        Assert.Equal(Encoder.Encode("red fox"), Encoder.Encode("fox red"));
        Assert.Equal(1f, Cosine(Encoder.Encode("big red fox"), Encoder.Encode("fox big red")), 6);
    }

    [Fact]
    public void Encode_NormalisesTheNameFirst() =>
        Assert.Equal(Encoder.Encode("red fox"), Encoder.Encode("  Red_FOX "));

    [Fact]
    public void Encode_IsCompositional()
    {
        var redFox = Encoder.Encode("red fox");
        var blueStar = Cosine(redFox, Encoder.Encode("blue star"));

        Assert.True(Cosine(redFox, Encoder.Encode("fox")) > blueStar + 0.5);
        Assert.True(Cosine(redFox, Encoder.Encode("red")) > blueStar + 0.5);
        Assert.True(Cosine(Encoder.Encode("red fox"), Encoder.Encode("arctic fox")) > Cosine(Encoder.Encode("red fox"), Encoder.Encode("arctic hare")));
    }

    [Fact]
    public void Encode_DifferentWords_AreNearlyOrthogonal()
    {
        string[] words = ["fox", "red", "blue", "star", "person", "dog", "cat", "car", "traffic", "light", "mouse", "rodent", "keyboard", "zebra", "giraffe", "umbrella", "a", "b", "ab", "ba"];
        var vectors = words.Select(Encoder.Encode).ToArray();

        for (var i = 0; i < words.Length; i++)
        {
            for (var j = i + 1; j < words.Length; j++)
            {
                var cos = Cosine(vectors[i], vectors[j]);
                Assert.True(Math.Abs(cos) < 0.3, $"cos('{words[i]}', '{words[j]}') = {cos}");
            }
        }
    }

    [Theory]
    [InlineData("")]
    [InlineData("  __ ")]
    public void Encode_EmptyName_Throws(string name) =>
        Assert.Throws<ArgumentException>(() => Encoder.Encode(name));
}
