using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Labeling.Server.Tests;

/// <summary>The HTTP API on the real host over the embedded stack, after a real ingest and labelling run.</summary>
public sealed class ApiTests : IAsyncLifetime
{
    private const string Long257 = "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx";

    private readonly Workspace _workspace = new();
    private HttpClient _http = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        await _workspace.AddModelAsync();
        await _workspace.IngestAndLabelAsync("pets");
        var (_, address) = await _workspace.StartHostAsync();
        _http = new HttpClient { BaseAddress = address };
    }

    public async ValueTask DisposeAsync()
    {
        _http.Dispose();
        await _workspace.DisposeAsync();
    }

    private async Task<JsonElement> GetJsonAsync(string path)
    {
        using var response = await _http.GetAsync(path, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, $"GET {path}: {(int)response.StatusCode} {body}");
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    [Fact]
    public async Task Progress_CountsTheLabelledImagesAndNamesTheActiveModel()
    {
        var progress = await GetJsonAsync("/api/progress");
        Assert.Equal(4, progress.GetProperty("images").GetInt64());
        Assert.Equal(4, progress.GetProperty("labelled").GetInt64());
        Assert.Equal(0, progress.GetProperty("pending").GetInt64());
        Assert.Equal("v1", progress.GetProperty("activeModel").GetString());
        Assert.Equal(0, progress.GetProperty("queueDepth").GetInt64());
        var pets = Assert.Single(progress.GetProperty("datasets").EnumerateArray());
        Assert.Equal("pets", pets.GetProperty("dataset").GetString());
        Assert.True(pets.GetProperty("boxes").GetInt64() >= 4);

        var datasets = await GetJsonAsync("/api/datasets");
        Assert.Equal("pets", Assert.Single(datasets.EnumerateArray()).GetProperty("dataset").GetString());
        Assert.Equal(4, (await GetJsonAsync("/api/datasets/pets")).GetProperty("labelled").GetInt64());
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/datasets/nope", Ct)).StatusCode);
    }

    [Fact]
    public async Task Boxes_FilterLikeTheCli_AndPageByBoxId()
    {
        var persons = (await GetJsonAsync("/api/boxes?class=person&source=pseudo&model=v1&dataset=pets")).GetProperty("boxes").EnumerateArray().ToList();
        Assert.NotEmpty(persons);
        Assert.All(persons, b =>
        {
            Assert.Equal("person", b.GetProperty("className").GetString());
            Assert.Equal("pseudo", b.GetProperty("source").GetString());
            Assert.Equal("v1", b.GetProperty("modelVersion").GetString());
            Assert.StartsWith("inbox/pets/person/", b.GetProperty("imagePath").GetString());
        });

        var all = (await GetJsonAsync("/api/boxes?limit=10000")).GetProperty("boxes").EnumerateArray().Select(b => b.GetProperty("boxId").GetInt64()).ToList();
        var paged = new List<long>();
        long? after = 0;
        while (after is { } a)
        {
            var page = await GetJsonAsync($"/api/boxes?limit=1&after={a}");
            paged.AddRange(page.GetProperty("boxes").EnumerateArray().Select(b => b.GetProperty("boxId").GetInt64()));
            after = page.GetProperty("nextAfterId").ValueKind == JsonValueKind.Null ? null : page.GetProperty("nextAfterId").GetInt64();
        }

        Assert.Equal(all, paged);
        var high = (await GetJsonAsync("/api/boxes?minScore=0.999999")).GetProperty("boxes").EnumerateArray()
            .Select(b => b.GetProperty("score").GetDouble()).ToList();
        Assert.All(high, s => Assert.True(s >= 0.999999 - 1e-6));
        Assert.Empty((await GetJsonAsync("/api/boxes?source=human")).GetProperty("boxes").EnumerateArray());
    }

    [Theory]
    [InlineData("/api/boxes?source=bogus", "source must be")]
    [InlineData("/api/boxes?source=1", "source must be")]
    [InlineData("/api/boxes?minScore=2", "minScore must be")]
    [InlineData("/api/boxes?limit=0", "limit must be")]
    [InlineData("/api/boxes?limit=10001", "limit must be")]
    [InlineData("/api/review?limit=501", "limit must be")]
    [InlineData("/api/images?status=lost", "status must be")]
    [InlineData("/api/boxes?class=%00cat", "control character")]
    [InlineData("/api/boxes?class=" + Long257, "the limit is 256")]
    public async Task BadFilters_Get400_WithWhatIsWrong(string path, string expected)
    {
        using var response = await _http.GetAsync(path, Ct);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>(Ct);
        Assert.Contains(expected, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task HostileFilterText_IsAValue_NotSql()
    {
        foreach (var text in new[] { "'; DROP TABLE boxes; --", "person' OR '1'='1", "猫 🐈", new string('x', 256) })
        {
            var boxes = await GetJsonAsync("/api/boxes?class=" + Uri.EscapeDataString(text) + "&dataset=" + Uri.EscapeDataString(text));
            Assert.Empty(boxes.GetProperty("boxes").EnumerateArray());
        }

        Assert.NotEmpty((await GetJsonAsync("/api/boxes")).GetProperty("boxes").EnumerateArray());
    }

    [Fact]
    public async Task Image_HasItsTagsAndBoxes_AndItsBytesAsStored()
    {
        var labelled = await GetJsonAsync("/api/images?status=labelled&dataset=pets");
        var images = labelled.GetProperty("images").EnumerateArray().ToList();
        Assert.Equal(4, images.Count);
        var astronaut = images.Single(i => i.GetProperty("blobPath").GetString()!.EndsWith("astronaut.png", StringComparison.Ordinal));
        var id = astronaut.GetProperty("id").GetInt64();

        var details = await GetJsonAsync($"/api/images/{id}");
        Assert.Equal(512, details.GetProperty("image").GetProperty("width").GetInt32());
        var tag = Assert.Single(details.GetProperty("tags").EnumerateArray());
        Assert.Equal("person", tag.GetProperty("className").GetString());
        Assert.Equal("grounded", tag.GetProperty("state").GetString());
        Assert.Contains(details.GetProperty("boxes").EnumerateArray(), b => b.GetProperty("className").GetString() == "person");

        using var content = await _http.GetAsync($"/api/images/{id}/content", Ct);
        Assert.Equal(HttpStatusCode.OK, content.StatusCode);
        Assert.Equal("image/png", content.Content.Headers.ContentType!.MediaType);
        Assert.Equal("nosniff", content.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal(await File.ReadAllBytesAsync(RepoPaths.SharedData("images", "astronaut.png"), Ct), await content.Content.ReadAsByteArrayAsync(Ct));

        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/images/999999", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/images/999999/content", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/images/abc", Ct)).StatusCode);
    }

    [Fact]
    public async Task ImageWhoseBlobIsGone_Gets404_NotAServerError()
    {
        var images = (await GetJsonAsync("/api/images?status=labelled")).GetProperty("images").EnumerateArray().ToList();
        var victim = images[0];
        File.Delete(Path.Combine(_workspace.Folder, "data", "blobs", "labeling", victim.GetProperty("blobPath").GetString()!));
        using var response = await _http.GetAsync($"/api/images/{victim.GetProperty("id").GetInt64()}/content", Ct);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("is gone", await response.Content.ReadAsStringAsync(Ct));
    }

    [Fact]
    public async Task Review_GroupsMatchingBoxesByImage_AndPages()
    {
        var review = await GetJsonAsync("/api/review?class=cat&limit=1");
        var first = Assert.Single(review.GetProperty("images").EnumerateArray());
        Assert.All(first.GetProperty("boxes").EnumerateArray(), b => Assert.Equal("cat", b.GetProperty("className").GetString()));
        Assert.Equal("pets", first.GetProperty("dataset").GetString());
        var next = review.GetProperty("nextAfterImageId").GetInt64();
        var second = await GetJsonAsync($"/api/review?class=cat&limit=1&after={next}");
        var other = Assert.Single(second.GetProperty("images").EnumerateArray());
        Assert.NotEqual(first.GetProperty("image").GetProperty("id").GetInt64(), other.GetProperty("image").GetProperty("id").GetInt64());
        Assert.Empty((await GetJsonAsync("/api/review?source=human")).GetProperty("images").EnumerateArray());
    }

    [Fact]
    public async Task Thumbnail_IsASmallJpegOfTheImage_CachedOnDiskByContentHash_WithAnETag()
    {
        var images = (await GetJsonAsync("/api/images")).GetProperty("images").EnumerateArray().ToList();
        var astronaut = images.Single(i => i.GetProperty("blobPath").GetString()!.EndsWith("astronaut.png", StringComparison.Ordinal));
        var id = astronaut.GetProperty("id").GetInt64();
        var original = await File.ReadAllBytesAsync(RepoPaths.SharedData("images", "astronaut.png"), Ct);

        using var thumbnail = await _http.GetAsync($"/api/images/{id}/thumbnail?size=128", Ct);
        var bytes = await thumbnail.Content.ReadAsByteArrayAsync(Ct);

        Assert.Equal(HttpStatusCode.OK, thumbnail.StatusCode);
        Assert.Equal("image/jpeg", thumbnail.Content.Headers.ContentType!.MediaType);
        Assert.True(bytes.Length < original.Length / 10, $"a 128 px thumbnail of {original.Length} bytes is {bytes.Length} bytes");
        var decoded = Labeling.Imaging.ImageDecoder.Decode(bytes, new Labeling.Imaging.ImageDecodeOptions());
        Assert.True(decoded.Success, decoded.Message);
        Assert.Equal(("jpeg", 128, 128), (decoded.Image.Format, decoded.Image.Width, decoded.Image.Height)); // astronaut.png is 512 × 512
        var etag = thumbnail.Headers.ETag;
        Assert.NotNull(etag);
        Assert.Contains("max-age", thumbnail.Headers.CacheControl!.ToString(), StringComparison.Ordinal);
        var hash = astronaut.GetProperty("contentHash").GetString()!;
        var cached = Directory.GetFiles(Path.Combine(_workspace.Folder, "data", "thumbnails"), "*", SearchOption.AllDirectories);
        Assert.Contains(cached, f => Path.GetFileName(f).Contains(hash, StringComparison.Ordinal) && Path.GetFileName(f).Contains("128", StringComparison.Ordinal));

        using var again = new HttpRequestMessage(HttpMethod.Get, $"/api/images/{id}/thumbnail?size=128");
        again.Headers.IfNoneMatch.Add(etag);
        using var notModified = await _http.SendAsync(again, Ct);
        Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        using var defaultSize = await _http.GetAsync($"/api/images/{id}/thumbnail", Ct);
        var defaultDecoded = Labeling.Imaging.ImageDecoder.Decode(await defaultSize.Content.ReadAsByteArrayAsync(Ct), new Labeling.Imaging.ImageDecodeOptions());
        Assert.Equal(256, defaultDecoded.Image!.Width);
        Assert.Equal(HttpStatusCode.BadRequest, (await _http.GetAsync($"/api/images/{id}/thumbnail?size=100000", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await _http.GetAsync("/api/images/999999/thumbnail", Ct)).StatusCode);
    }

    [Fact]
    public async Task OpenApiDocument_DescribesTheApi()
    {
        var document = await GetJsonAsync("/openapi/v1.json");
        var paths = document.GetProperty("paths").EnumerateObject().Select(p => p.Name).ToList();
        foreach (var path in new[] { "/api/progress", "/api/datasets", "/api/models", "/api/boxes", "/api/images", "/api/images/{id}", "/api/images/{id}/content", "/api/images/{id}/thumbnail", "/api/review" })
        {
            Assert.Contains(path, paths);
        }

        var parameters = document.GetProperty("paths").GetProperty("/api/boxes").GetProperty("get").GetProperty("parameters")
            .EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToList();
        Assert.Superset(new HashSet<string?> { "class", "minScore", "source", "model", "dataset", "after", "limit" }, parameters.ToHashSet());
    }
}
