using System.Text.Json;
using Labeling.Cli;
using Labeling.Labels;
using Labeling.Schema;
using Labeling.Sql;

namespace Labeling.Integration.Tests.Cli;

/// <summary>
/// <c>labeling export --format lvis</c> on a seeded database (SQLite and PostgreSQL): the tag policy
/// of neg_category_ids and not_exhaustive_category_ids, the category counts and the filters.
/// </summary>
public sealed class ExportLvisCommandTests(PostgresFixture postgres) : IDisposable
{
    private readonly TempFolder _folder = new();
    private string _config = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Providers => new("sqlite", "postgres");

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ExportLvis_FillsNegativeAndNotExhaustiveCategoriesFromTheTagsAndHumanBoxes(string provider)
    {
        await SeedAsync(provider);

        var (summary, lvis) = await ExportAsync("zoo", "--dataset", "zoo");

        var file = lvis.RootElement;
        Assert.Equal(JsonValueKind.Object, file.GetProperty("info").ValueKind);
        Assert.Equal(JsonValueKind.Array, file.GetProperty("licenses").ValueKind);
        var categories = Categories(file);
        Assert.Equal(["bird", "cat", "dog", "fox", "person"], categories.Values.Select(c => c.Name).Order());
        Assert.Equal(categories.Count, summary.GetProperty("categories").GetInt32());
        var images = Images(file, categories);
        Assert.Equal(["a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg", "f.jpg"], images.Keys.Order()); // e and f have no boxes: kept

        // a: COCO-annotated (human cat, dog), also tagged bird (a crowd region) and a discovered person box.
        Assert.Equal(("fox", "bird,person"), images["a.jpg"]);
        // b: COCO-annotated (human fox): the rest of the dataset's COCO vocabulary is verified absent.
        Assert.Equal(("cat,dog", ""), images["b.jpg"]);
        // c: tag cat, weak (only the fallback box); d: tag dog grounded by pseudo boxes; e: tag fox, not labelled yet.
        Assert.Equal(("", "cat"), images["c.jpg"]);
        Assert.Equal(("", "dog"), images["d.jpg"]);
        Assert.Equal(("", "fox"), images["e.jpg"]);
        Assert.Equal(("", ""), images["f.jpg"]);

        var annotations = file.GetProperty("annotations").EnumerateArray().ToList();
        Assert.Equal(8, annotations.Count);
        Assert.Equal(annotations.Count, annotations.Select(a => a.GetProperty("id").GetInt64()).Distinct().Count());
        var imageIds = file.GetProperty("images").EnumerateArray().Select(i => i.GetProperty("id").GetInt64()).ToHashSet();
        Assert.Equal(6, imageIds.Count);
        foreach (var a in annotations)
        {
            Assert.Contains(a.GetProperty("image_id").GetInt64(), imageIds);
            Assert.True(categories.ContainsKey(a.GetProperty("category_id").GetInt64()));
            var bbox = a.GetProperty("bbox").EnumerateArray().Select(v => v.GetSingle()).ToArray();
            Assert.Equal(4, bbox.Length);
            Assert.True(bbox[2] > 0 && bbox[3] > 0);
            Assert.Equal(bbox[2] * bbox[3], a.GetProperty("area").GetSingle(), 3);
        }

        var human = annotations.Single(a => a.GetProperty("source").GetString() == "human" && categories[a.GetProperty("category_id").GetInt64()].Name == "fox");
        Assert.Equal([30f, 40f, 100f, 50f], human.GetProperty("bbox").EnumerateArray().Select(v => v.GetSingle()));
        Assert.False(human.TryGetProperty("score", out _));

        var byName = categories.Values.ToDictionary(c => c.Name);
        Assert.Equal((2, 3), (byName["cat"].Images, byName["cat"].Instances)); // a: 2 human, c: 1 weak
        Assert.Equal((2, 3), (byName["dog"].Images, byName["dog"].Instances)); // a: 1 human, d: 2 pseudo
        Assert.Equal((1, 1), (byName["fox"].Images, byName["fox"].Instances));
        Assert.Equal((1, 1), (byName["person"].Images, byName["person"].Instances));
        Assert.Equal((0, 0), (byName["bird"].Images, byName["bird"].Instances));
        Assert.All(categories.Values, c => Assert.Equal("r", c.Frequency));
        Assert.Equal(annotations.Count, categories.Values.Sum(c => c.Instances));
    }

    [Theory]
    [MemberData(nameof(Providers))]
    public async Task ExportLvis_Filters_ClassMinScoreAndDataset(string provider)
    {
        await SeedAsync(provider);

        // --class: only that class's boxes, and the lists and categories hold only it.
        var (_, cat) = await ExportAsync("cat", "--dataset", "zoo", "--class", "Cat");
        var catCategories = Categories(cat.RootElement);
        Assert.Equal(["cat"], catCategories.Values.Select(c => c.Name));
        var catImages = Images(cat.RootElement, catCategories);
        Assert.Equal(6, catImages.Count);
        Assert.Equal(("cat", ""), catImages["b.jpg"]);
        Assert.Equal(("", "cat"), catImages["c.jpg"]);
        Assert.Equal(("", ""), catImages["a.jpg"]);
        Assert.Equal(("", ""), catImages["d.jpg"]);
        Assert.Equal(3, cat.RootElement.GetProperty("annotations").GetArrayLength());

        // --min-score: human boxes (no score) and low boxes are left out; the images and the policy stay.
        var (_, high) = await ExportAsync("high", "--dataset", "zoo", "--min-score", "0.7");
        var highCategories = Categories(high.RootElement);
        var annotations = high.RootElement.GetProperty("annotations").EnumerateArray().ToList();
        Assert.Equal(["dog", "person"], annotations.Select(a => highCategories[a.GetProperty("category_id").GetInt64()].Name).Order());
        Assert.All(annotations, a => Assert.True(a.GetProperty("score").GetSingle() >= 0.7f));
        var highImages = Images(high.RootElement, highCategories);
        Assert.Equal(6, highImages.Count);
        Assert.Equal(("fox", "bird,person"), highImages["a.jpg"]); // still COCO-annotated; its human cat and dog are not negatives
        Assert.Equal(("", "cat"), highImages["c.jpg"]); // the weak box is filtered out; the tag stays
        var highByName = highCategories.Values.ToDictionary(c => c.Name);
        Assert.Equal((0, 0), (highByName["cat"].Images, highByName["cat"].Instances));
        Assert.Equal((1, 1), (highByName["dog"].Images, highByName["dog"].Instances));

        // Every dataset: each image's negatives come from its own dataset's COCO vocabulary.
        var (all, everything) = await ExportAsync("all");
        var allCategories = Categories(everything.RootElement);
        var allImages = Images(everything.RootElement, allCategories);
        Assert.Equal(6 + 1 + 12, all.GetProperty("images").GetInt64());
        Assert.Equal(("fox", "bird,person"), allImages["a.jpg"]); // not horse
        Assert.Equal(("", ""), allImages["g.jpg"]); // other's vocabulary is horse only

        // Frequency by training images: bee is on 10 train images and 1 val one (rare), wasp on 11 train ones (common).
        var (_, hive) = await ExportAsync("hive", "--dataset", "hive");
        var hiveByName = Categories(hive.RootElement).Values.ToDictionary(c => c.Name);
        Assert.Equal((11, 11, "r"), (hiveByName["bee"].Images, hiveByName["bee"].Instances, hiveByName["bee"].Frequency));
        Assert.Equal((11, 11, "c"), (hiveByName["wasp"].Images, hiveByName["wasp"].Instances, hiveByName["wasp"].Frequency));
    }

    private async Task<(JsonElement Summary, JsonDocument Lvis)> ExportAsync(string folder, params string[] filters)
    {
        var output = Path.Combine(_folder.Path, folder);
        using var stdout = new StringWriter();
        using var stderr = new StringWriter();
        var code = await LabelingCli.RunAsync(["export", "--format", "lvis", "--out", output, .. filters, "--json", "--config", _config], stdout, stderr, Ct);
        Assert.True(code == 0, $"{string.Join(' ', filters)} exited {code}: {stderr}{stdout}");
        using var summary = JsonDocument.Parse(stdout.ToString());
        File.Copy(Path.Combine(output, "annotations.json"), "/tmp/lvis-" + folder + ".json", true);
        return (summary.RootElement.Clone(), JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(output, "annotations.json"), Ct)));
    }

    private static Dictionary<long, (string Name, long Images, long Instances, string Frequency)> Categories(JsonElement lvis)
    {
        var categories = lvis.GetProperty("categories").EnumerateArray().ToDictionary(
            c => c.GetProperty("id").GetInt64(),
            c => (c.GetProperty("name").GetString()!, c.GetProperty("image_count").GetInt64(), c.GetProperty("instance_count").GetInt64(), c.GetProperty("frequency").GetString()!));
        Assert.Equal(categories.Count, categories.Values.Select(c => c.Item1).Distinct().Count());
        return categories;
    }

    /// <summary>File name (last segment) → (negative, not exhaustive) category names, sorted, comma-separated.</summary>
    private static Dictionary<string, (string Negative, string NotExhaustive)> Images(
        JsonElement lvis, Dictionary<long, (string Name, long Images, long Instances, string Frequency)> categories)
    {
        string Names(JsonElement image, string property)
        {
            var ids = image.GetProperty(property).EnumerateArray().Select(i => i.GetInt64()).ToList();
            Assert.Equal(ids.Order(), ids);
            return string.Join(',', ids.Select(id => categories[id].Name).Order(StringComparer.Ordinal));
        }

        var images = lvis.GetProperty("images").EnumerateArray().ToList();
        foreach (var image in images)
        {
            var negative = image.GetProperty("neg_category_ids").EnumerateArray().Select(i => i.GetInt64());
            Assert.Empty(negative.Intersect(image.GetProperty("not_exhaustive_category_ids").EnumerateArray().Select(i => i.GetInt64())));
            Assert.Equal(image.GetProperty("file_name").GetString(), image.GetProperty("coco_url").GetString());
        }

        return images.ToDictionary(
            i => i.GetProperty("file_name").GetString()!.Split('/')[^1],
            i => (Names(i, "neg_category_ids"), Names(i, "not_exhaustive_category_ids")));
    }

    /// <summary>
    /// zoo: a (human cat ×2, dog; tags cat, dog, bird; a discovered person), b (human fox), c (tag cat, weak),
    /// d (tag dog, grounded: 2 pseudo boxes), e (tag fox, not labelled), f (nothing); other: g (human horse);
    /// hive: 11 train images with a wasp box, 10 of them and 1 val image with a bee box.
    /// </summary>
    private async Task SeedAsync(string provider)
    {
        var connectionString = provider == "postgres"
            ? await postgres.Server.CreateDatabaseAsync("lvis", Ct)
            : $"Data Source={Path.Combine(_folder.Path, "labeling.db")}";
        await using var database = LabelsDatabase.Create(new DatabaseOptions
        {
            Provider = provider == "postgres" ? DatabaseProvider.Postgres : DatabaseProvider.Sqlite,
            ConnectionString = connectionString,
        });
        database.Migrate();
        _config = Path.Combine(_folder.Path, "labeling.json");
        await File.WriteAllTextAsync(_config, JsonSerializer.Serialize(new
        {
            Database = new { Provider = provider == "postgres" ? "Postgres" : "Sqlite", ConnectionString = connectionString },
            LocalBlobStore = new { RootPath = Path.Combine(_folder.Path, "blobs") },
        }), Ct);

        ILabelStore store = provider == "postgres" ? new PostgresLabelStore(database) : new SqliteLabelStore(database);
        var zoo = await store.EnsureDatasetAsync("zoo", Ct);
        var ids = (await store.RegisterImagesAsync(zoo,
            [.. "abcdef".Select(n => new NewImage($"inbox/zoo/{n}.jpg", $"h{n}", 640, 480, n == 'a' ? "val" : "train"))], Ct)).Select(i => i.ImageId).ToArray();
        var (a, b, c, d, e) = (ids[0], ids[1], ids[2], ids[3], ids[4]);
        await store.AddTagsAsync([new(a, "cat"), new(a, "dog"), new(a, "bird"), new(b, "fox"), new(c, "cat"), new(d, "dog"), new(e, "fox")], Ct);
        var classes = await store.EnsureClassesAsync(["cat", "dog", "fox", "person", "horse", "bee", "wasp"], Ct);
        await store.ReplaceHumanBoxesAsync(
        [
            new(a, [Box(classes["cat"], 10, 10, 50, 60), Box(classes["cat"], 100, 100, 140, 180), Box(classes["dog"], 200, 20, 400, 300)]),
            new(b, [Box(classes["fox"], 30, 40, 130, 90)]),
        ], Ct);
        var v1 = await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", new string('1', 64)), Ct);
        await store.WriteLabelsAsync(v1,
        [
            new(a, [new(classes["person"], 5, 5, 60, 200, 0.9f, BoxSource.Discovered)], []),
            new(c, [new(classes["cat"], 0, 0, 640, 480, 0.2f, BoxSource.Weak)], [new(classes["cat"], TagState.Weak)]),
            new(d, [new(classes["dog"], 10, 10, 100, 100, 0.8f, BoxSource.Pseudo), new(classes["dog"], 300, 10, 400, 90, 0.6f, BoxSource.Pseudo)], [new(classes["dog"], TagState.Grounded)]),
        ], Ct);

        var other = await store.EnsureDatasetAsync("other", Ct);
        var g = (await store.RegisterImagesAsync(other, [new NewImage("inbox/other/g.jpg", "hg", 320, 240, "train")], Ct))[0].ImageId;
        await store.AddTagsAsync([new(g, "horse")], Ct);
        await store.ReplaceHumanBoxesAsync([new(g, [Box(classes["horse"], 1, 2, 3, 4)])], Ct);

        var hive = await store.EnsureDatasetAsync("hive", Ct);
        var hiveIds = (await store.RegisterImagesAsync(hive,
            [.. Enumerable.Range(0, 12).Select(n => new NewImage($"inbox/hive/{n:00}.jpg", $"hive{n}", 100, 100, n == 11 ? "val" : "train"))], Ct)).Select(i => i.ImageId).ToArray();
        await store.WriteLabelsAsync(v1,
        [
            .. hiveIds.Select((id, n) => new ImageLabels(id,
            [
                .. n != 10 ? [new BoxData(classes["bee"], 1, 1, 20, 20, 0.5f, BoxSource.Discovered)] : Array.Empty<BoxData>(),
                .. n != 11 ? [new BoxData(classes["wasp"], 30, 30, 60, 60, 0.5f, BoxSource.Discovered)] : Array.Empty<BoxData>(),
            ], [])),
        ], Ct);
    }

    private static BoxData Box(long classId, float x1, float y1, float x2, float y2) => new(classId, x1, y1, x2, y2, null, BoxSource.Human);

    public void Dispose() => _folder.Dispose();
}
