using Labeling.Labels;

namespace Labeling.Core.Tests;

public sealed class TagNameTests
{
    [Theory]
    [InlineData("Red_Fox", "red fox")]
    [InlineData("  red   fox\t", "red fox")]
    [InlineData("__dog__", "dog")]
    [InlineData("Caf\u0065\u0301", "caf\u00e9")]
    [InlineData("\u00c9T\u00c9", "\u00e9t\u00e9")]
    [InlineData("it's", "it's")]
    public void Normalise_TrimsLowersAndTurnsUnderscoresIntoSpaces(string raw, string expected) =>
        Assert.Equal(expected, TagName.Normalise(raw));

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    [InlineData("___")]
    [InlineData("a\u0000b")]
    public void Normalise_RefusesEmptyAndControlCharacters(string raw) =>
        Assert.Throws<ArgumentException>(() => TagName.Normalise(raw));

    [Fact]
    public void Normalise_RefusesOverlongNames() =>
        Assert.Contains("limit", Assert.Throws<ArgumentException>(() => TagName.Normalise(new string('a', 257))).Message, StringComparison.Ordinal);
}
