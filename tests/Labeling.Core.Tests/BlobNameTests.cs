using Labeling.Blobs;

namespace Labeling.Core.Tests;

public sealed class BlobNameTests
{
    [Theory]
    [InlineData("inbox/pets/fox/001.jpg")]
    [InlineData("a")]
    [InlineData("inbox/.hidden/x.jpg")]
    [InlineData("inbox/it's; -- 1.jpg")]
    [InlineData("inbox/\u72d0\u72f8/\U0001F98A.png")]
    public void Validate_AcceptsOrdinaryAndOddButSafeNames(string name) => BlobName.Validate(name);

    [Theory]
    [InlineData("../x", "'..' path segments")]
    [InlineData("/abs", "absolute")]
    [InlineData("a\\b", "backslash")]
    [InlineData("a//b", "empty path segments")]
    [InlineData("a/", "ends with '/'")]
    [InlineData("a/b.", "end with '.'")]
    [InlineData("a/\u0001", "control character U+0001")]
    [InlineData("", "empty")]
    public void Validate_RefusesHostileNames_SayingWhy(string name, string reason)
    {
        var error = Assert.Throws<InvalidBlobNameException>(() => BlobName.Validate(name));

        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Validate_RefusesOverlongNamesAndSegments()
    {
        Assert.Throws<InvalidBlobNameException>(() => BlobName.Validate(new string('a', 1025)));
        Assert.Throws<InvalidBlobNameException>(() => BlobName.Validate("x/" + new string('\u00e9', 128)));
        BlobName.Validate("x/" + new string('\u00e9', 127));
    }

    [Fact]
    public void ValidatePrefix_AllowsEmptyTrailingSlashAndPartialSegments()
    {
        BlobName.ValidatePrefix("");
        BlobName.ValidatePrefix("inbox/");
        BlobName.ValidatePrefix("inbox/da");
        Assert.Throws<InvalidBlobNameException>(() => BlobName.ValidatePrefix("../"));
    }

    [Fact]
    public void CompareOrdinalUtf8_OrdersByUtf8Bytes_NotUtf16Units()
    {
        // U+FF21 is one UTF-16 unit above a surrogate pair in UTF-16, but below U+1F98A in UTF-8.
        Assert.True(string.CompareOrdinal("\uFF21", "\U0001F98A") > 0);
        Assert.True(BlobName.CompareOrdinalUtf8("\uFF21", "\U0001F98A") < 0);
        Assert.True(BlobName.CompareOrdinalUtf8("a-b", "a/b") < 0);
        Assert.True(BlobName.CompareOrdinalUtf8("ab", "a") > 0);
        Assert.Equal(0, BlobName.CompareOrdinalUtf8("x", "x"));
    }

    [Fact]
    public void Printable_EscapesControlCharactersAndCutsLongNames()
    {
        Assert.Equal("a\\u0000b", BlobName.Printable("a\0b"));
        Assert.EndsWith("…", BlobName.Printable(new string('x', 500)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("labeling", true)]
    [InlineData("a1-b2", true)]
    [InlineData("ab", false)]
    [InlineData("Upper", false)]
    [InlineData("a--b", false)]
    [InlineData("-ab", false)]
    [InlineData("ab-", false)]
    public void ContainerName_FollowsAzureRules(string name, bool valid)
    {
        if (valid)
        {
            ContainerName.Validate(name);
        }
        else
        {
            Assert.Throws<ArgumentException>(() => ContainerName.Validate(name));
        }
    }
}
