using Labeling.Vocabulary;
using ClassVocabulary = Labeling.Vocabulary.Vocabulary;

namespace Labeling.Core.Tests.Vocabulary;

public sealed class VocabularyTests
{
    private static readonly HashBowEncoder Encoder = new();

    [Fact]
    public void Create_NormalisesAndDeduplicates_KeepingFirstSeenOrder()
    {
        var vocabulary = ClassVocabulary.Create(Encoder, ["Red_Fox", "dog", "red fox", " DOG ", "cat"]);

        Assert.Equal(["red fox", "dog", "cat"], vocabulary.Names);
        Assert.Equal("hashbow-256", vocabulary.Space);
        Assert.Equal(256, vocabulary.Dimension);
        Assert.Equal(3 * 256, vocabulary.Embeddings.Length);
        Assert.Equal(1, vocabulary.IndexOf("DOG"));
        Assert.Equal(-1, vocabulary.IndexOf("fox"));
    }

    [Fact]
    public void Create_RowsAreTheEncodersUnitVectors()
    {
        var vocabulary = ClassVocabulary.Create(Encoder, ["dog", "red fox"]);

        var row = vocabulary.Embeddings.Span.Slice(256, 256).ToArray();

        Assert.Equal(Encoder.Encode("red fox"), row, (a, b) => Math.Abs(a - b) < 1e-6f);
        Assert.Equal(1.0, Math.Sqrt(row.Sum(x => (double)x * x)), 5);
    }

    [Fact]
    public void Create_NameTheTableCannotEncode_Throws()
    {
        var table = EmbeddingTable.FromVectors("toy-2", ["dog"], [1, 0], 2);

        Assert.Throws<KeyNotFoundException>(() => ClassVocabulary.Create(table, ["dog", "cat"]));
    }

    [Fact]
    public void EnsureSpace_SameSpace_Passes()
    {
        var vocabulary = ClassVocabulary.Create(Encoder, ["dog"]);

        vocabulary.EnsureSpace("hashbow-256");

        Assert.Equal("hashbow-256", vocabulary.Space);
    }

    [Fact]
    public void EnsureSpace_OtherSpace_ThrowsNamingBoth()
    {
        var vocabulary = ClassVocabulary.Create(Encoder, ["dog"]);

        var ex = Assert.Throws<VocabularySpaceMismatchException>(() => vocabulary.EnsureSpace("clip-vit-b32"));

        Assert.Equal("hashbow-256", ex.VocabularySpace);
        Assert.Equal("clip-vit-b32", ex.ExpectedSpace);
        Assert.Contains("'hashbow-256'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'clip-vit-b32'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SimilarityMatrix_IsTheCosineBetweenClasses()
    {
        var a = ClassVocabulary.Create(Encoder, ["red fox", "blue star"]);
        var b = ClassVocabulary.Create(Encoder, ["fox", "red fox", "star"]);

        var s = a.SimilarityMatrix(b);

        Assert.Equal(2, s.GetLength(0));
        Assert.Equal(3, s.GetLength(1));
        Assert.Equal(1f, s[0, 1], 5);
        Assert.Equal(HashBowEncoderTests.Cosine(Encoder.Encode("red fox"), Encoder.Encode("fox")), s[0, 0], 5);
        Assert.Equal(HashBowEncoderTests.Cosine(Encoder.Encode("blue star"), Encoder.Encode("star")), s[1, 2], 5);
        Assert.True(s[0, 0] > s[0, 2]);
    }

    [Fact]
    public void SimilarityMatrix_AcrossSpaces_IsRefused()
    {
        var a = ClassVocabulary.Create(Encoder, ["fox"]);
        var b = ClassVocabulary.Create(new HashBowEncoder(64), ["fox"]);

        var ex = Assert.Throws<VocabularySpaceMismatchException>(() => a.SimilarityMatrix(b));
        Assert.Contains("'hashbow-64'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'hashbow-256'", ex.Message, StringComparison.Ordinal);
    }
}
