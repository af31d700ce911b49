using Labeling.Vocabulary;

namespace Labeling.Core.Tests.Vocabulary;

public sealed class EmbeddingTableTests : IDisposable
{
    private readonly string _dir = Directory.CreateTempSubdirectory("labeling-vocab-").FullName;

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    private string WriteFile(string name, string text)
    {
        var path = Path.Combine(_dir, name);
        File.WriteAllText(path, text);
        return path;
    }

    [Fact]
    public void FromVectors_NormalisesNamesAndRows_KeepsFirstRowOfDuplicates()
    {
        var table = EmbeddingTable.FromVectors("toy-2", ["Red_Fox", "dog", "red fox"], [3, 4, 0, -2, 1, 0], 2);

        Assert.Equal(["red fox", "dog"], table.Names);
        Assert.Equal(2, table.Dimension);
        Assert.Equal("toy-2", table.Space);
        Assert.Equal([0.6f, 0.8f], table.Encode("RED FOX"));
        Assert.Equal([0f, -1f], table.Encode("dog"));
        Assert.True(table.Contains("Dog"));
        Assert.False(table.Contains("cat"));
    }

    [Fact]
    public void FromVectors_RowCountMismatch_IsRefusedWithCounts()
    {
        var ex = Assert.Throws<ArgumentException>(() => EmbeddingTable.FromVectors("toy-2", ["a", "b", "c"], [1, 0, 0, 1], 2));
        Assert.Contains("3 names need 6 values", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromVectors_ZeroRow_IsRefused()
    {
        var ex = Assert.Throws<ArgumentException>(() => EmbeddingTable.FromVectors("toy-2", ["a", "b"], [1, 0, 0, 0], 2));
        Assert.Contains("'b'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_UnknownName_ThrowsKeyNotFoundNamingNameAndSpace()
    {
        var table = EmbeddingTable.FromVectors("toy-2", ["dog"], [1, 0], 2);

        var ex = Assert.Throws<KeyNotFoundException>(() => table.Encode("Arctic_Fox"));
        Assert.Contains("'arctic fox'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'toy-2'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Encode_ReturnsACopy()
    {
        var table = EmbeddingTable.FromVectors("toy-2", ["dog"], [1, 0], 2);

        table.Encode("dog")[0] = 42;

        Assert.Equal([1f, 0f], table.Encode("dog"));
    }

    [Fact]
    public void FromJson_ReadsDocumentedFormat()
    {
        var path = WriteFile("table.json", """{"space": "toy-3", "names": ["Person", "traffic_light"], "vectors": [[0, 2, 0], [1, 1, 1]]}""");

        var table = EmbeddingTable.FromJson(path);

        Assert.Equal("toy-3", table.Space);
        Assert.Equal(3, table.Dimension);
        Assert.Equal(["person", "traffic light"], table.Names);
        Assert.Equal([0f, 1f, 0f], table.Encode("person"));
        Assert.Equal(1f / MathF.Sqrt(3), table.Encode("traffic light")[2], 6);
    }

    [Theory]
    [InlineData("""{"space": "toy", "names": ["a", "b"], "vectors": [[1, 0]]}""", "2 names but 1 vectors")]
    [InlineData("""{"space": "toy", "names": ["a", "b"], "vectors": [[1, 0], [1]]}""", "Vector 1")]
    [InlineData("""{"names": ["a"], "vectors": [[1]]}""", "'space'")]
    [InlineData("""{"space": "toy", "names": ["a"], "vectors": [["x"]]}""", "non-number")]
    public void FromJson_BadFile_IsRefusedClearly(string json, string expected)
    {
        var path = WriteFile("bad.json", json);

        var ex = Assert.Throws<InvalidDataException>(() => EmbeddingTable.FromJson(path));
        Assert.Contains(expected, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromNpy_RowsMustMatchNames()
    {
        var path = Path.Combine(_dir, "two.npy");
        File.WriteAllBytes(path, NpyTests.NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 2), }", NpyTests.Float32Bytes(1, 0, 0, 1)));

        var table = EmbeddingTable.FromNpy(path, ["x", "y"], "toy-2");
        var ex = Assert.Throws<InvalidDataException>(() => EmbeddingTable.FromNpy(path, ["x", "y", "z"], "toy-2"));

        Assert.Equal([0f, 1f], table.Encode("y"));
        Assert.Contains("2 rows but 3 names", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void FromNpy_OneDimensionalArray_IsRefused()
    {
        var path = Path.Combine(_dir, "flat.npy");
        File.WriteAllBytes(path, NpyTests.NpyFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }", NpyTests.Float32Bytes(1, 0)));

        Assert.Throws<InvalidDataException>(() => EmbeddingTable.FromNpy(path, ["x", "y"], "toy-1"));
    }

    [Fact]
    public void Union_KeepsFirstTablesRow_AndRefusesOtherSpaces()
    {
        var a = EmbeddingTable.FromVectors("toy-2", ["dog", "cat"], [1, 0, 0, 1], 2);
        var b = EmbeddingTable.FromVectors("toy-2", ["Dog", "fox"], [-1, 0, 1, 1], 2);
        var other = EmbeddingTable.FromVectors("other-2", ["dog"], [1, 0], 2);

        var union = EmbeddingTable.Union([a, b]);
        var ex = Assert.Throws<VocabularySpaceMismatchException>(() => EmbeddingTable.Union([a, other]));

        Assert.Equal(["dog", "cat", "fox"], union.Names);
        Assert.Equal([1f, 0f], union.Encode("dog"));
        Assert.Contains("'other-2'", ex.Message, StringComparison.Ordinal);
        Assert.Contains("'toy-2'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void NameLists_ReadTheThreeFormats()
    {
        var lines = WriteFile("coco.txt", "person\nbicycle\n\ntraffic light\n");
        var lvis = WriteFile("lvis.json", """[{"id": 1, "name": "aerosol_can", "synonyms": []}, {"id": 2, "name": "air_conditioner"}]""");
        var o365 = WriteFile("o365.csv", "1,Person,Person\n2,Other Shoes,Other Shoes\n");

        Assert.Equal(["person", "bicycle", "traffic light"], NameLists.ReadLines(lines));
        Assert.Equal(["aerosol_can", "air_conditioner"], NameLists.ReadLvisCategoryNames(lvis));
        Assert.Equal(["Person", "Other Shoes"], NameLists.ReadObjects365Names(o365));
    }

    [Fact]
    public void NameLists_RefuseMalformedInput()
    {
        var unsorted = WriteFile("lvis.json", """[{"id": 2, "name": "b"}, {"id": 1, "name": "a"}]""");
        var csv = WriteFile("o365.csv", "1,Person,Person\nSneakers\n");

        Assert.Contains("not sorted by id", Assert.Throws<InvalidDataException>(() => NameLists.ReadLvisCategoryNames(unsorted)).Message, StringComparison.Ordinal);
        Assert.Contains("Line 2", Assert.Throws<InvalidDataException>(() => NameLists.ReadObjects365Names(csv)).Message, StringComparison.Ordinal);
    }
}
