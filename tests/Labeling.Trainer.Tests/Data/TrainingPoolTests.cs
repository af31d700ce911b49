using Labeling.Blobs;
using Labeling.Labels;
using Labeling.Sql;
using Labeling.Trainer.Data;

namespace Labeling.Trainer.Tests.Data;

public sealed class TrainingPoolTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TempFolder _temp = new();

    public TrainingPoolTests() => TorchRuntime.Initialise(threads: 1);

    public void Dispose() => _temp.Dispose();

    /// <summary>
    /// Ten shapes images in a real SQLite store and a local-folder blob store:
    /// 0–1 gold (val) with human boxes; 2–3 human boxes (3 also pseudo boxes); 4 pseudo 0.5 + 0.05;
    /// 5 pseudo 0.25 + 0.2 (below the image threshold); 6 a weak box only; 7 pseudo 0.9 + 0.15;
    /// 8–9 tags only; 10 tags, but its blob is missing.
    /// </summary>
    private async Task<(ILabelStore Store, IBlobStore Blobs, ShapeSample[] Shapes)> SeedAsync()
    {
        var store = new SqliteLabelStore(_temp.CreateMigratedSqlite());
        var blobs = new LocalFolderBlobStore(Microsoft.Extensions.Options.Options.Create(new LocalBlobStoreOptions { RootPath = Path.Combine(_temp.Path, "blobs"), FlushToDisk = false }));
        await blobs.CreateIfNotExistsAsync(Ct);
        var world = new ShapesWorld(new ShapesWorldOptions { Seed = 4, Width = 96, Height = 80, MinSize = 16, MaxSize = 40 });
        var shapes = Enumerable.Range(0, 11).Select(world.Generate).ToArray();
        var dataset = await store.EnsureDatasetAsync("shapes", Ct);
        var registered = await store.RegisterImagesAsync(dataset, [.. shapes.Select(s => new NewImage($"inbox/shapes/{s.Index:D5}.png", $"h{s.Index}", 96, 80, s.Index < 2 ? "val" : "train"))], Ct);
        var ids = registered.Select(r => r.ImageId).ToArray();
        foreach (var s in shapes.Take(10))
        {
            using var content = new MemoryStream(s.Png);
            await blobs.WriteAsync($"inbox/shapes/{s.Index:D5}.png", content, overwrite: false, Ct);
        }

        await store.AddTagsAsync([.. shapes.SelectMany(s => s.Tags.Select(t => new ImageTag(ids[s.Index], t)))], Ct);
        var classes = await store.EnsureClassesAsync(world.ClassNames, Ct);
        BoxData Box(ShapeObject o, float? score, BoxSource source) => new(classes[o.ClassName], o.X1, o.Y1, o.X2, o.Y2, score, source);
        await store.ReplaceHumanBoxesAsync([.. new[] { 0, 1, 2, 3 }.Select(i => new ImageBoxes(ids[i], [.. shapes[i].Objects.Select(o => Box(o, null, BoxSource.Human))]))], Ct);
        var model = await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", new string('a', 64)), Ct);
        ImageLabels Labels(int i, params (float Score, BoxSource Source)[] boxes) =>
            new(ids[i], [.. boxes.Select(b => Box(shapes[i].Objects[0], b.Score, b.Source))], []);
        await store.WriteLabelsAsync(model,
        [
            Labels(3, (0.8f, BoxSource.Pseudo)),
            Labels(4, (0.5f, BoxSource.Pseudo), (0.05f, BoxSource.Pseudo)),
            Labels(5, (0.25f, BoxSource.Pseudo), (0.2f, BoxSource.Pseudo)),
            Labels(6, (0.05f, BoxSource.Weak)),
            Labels(7, (0.9f, BoxSource.Pseudo), (0.15f, BoxSource.Pseudo)),
        ], Ct);
        return (store, blobs, shapes);
    }

    [Fact]
    public async Task Pool_AppliesTheOwlStRule_LeavesGoldOut_AndStreamsPages()
    {
        var (store, blobs, shapes) = await SeedAsync();
        var pool = new TrainingPool(store, blobs, new TrainingPoolOptions { PageSize = 3, PseudoBoxesMustCoverTags = false });
        Assert.Throws<InvalidOperationException>(() => pool.ClassNames);

        var counts = await pool.CountAsync(Ct);
        // Box data: 2, 3 (human only), 4 (one box), 7 (two boxes); tag-only: 5, 6, 8, 9, 10 (10's blob is missing, found on read).
        Assert.Equal(4, counts.BoxImages);
        Assert.Equal(5, counts.TagOnlyImages);
        Assert.Equal(shapes[2].Objects.Count + shapes[3].Objects.Count + 1 + 2, counts.Boxes);
        Assert.Equal(2, counts.GoldImages);
        var expectedClasses = shapes.Skip(2).SelectMany(s => s.Tags).Distinct().Order(StringComparer.Ordinal).ToArray();
        Assert.Equal(expectedClasses, pool.ClassNames);

        var samples = new List<TrainingSample>();
        await foreach (var sample in pool.ReadAsync(Ct))
        {
            samples.Add(sample);
        }

        Assert.Equal(["00002", "00003", "00004", "00005", "00006", "00007", "00008", "00009"], samples.Select(s => Path.GetFileNameWithoutExtension(s.Id)));
        Assert.Equal(1, pool.Unreadable);
        var byIndex = samples.ToDictionary(s => int.Parse(Path.GetFileNameWithoutExtension(s.Id), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(shapes[2].Objects.Select(o => (o.ClassName, o.X1, o.Y2)), byIndex[2].Boxes.Select(b => (b.ClassName, b.X1, b.Y2)));
        Assert.Equal(shapes[3].Objects.Count, byIndex[3].Boxes.Count);
        Assert.Single(byIndex[4].Boxes);
        Assert.Equal(2, byIndex[7].Boxes.Count);
        Assert.All(new[] { 5, 6, 8, 9 }, i =>
        {
            Assert.Equal(SampleKind.TagOnly, byIndex[i].Kind);
            Assert.Empty(byIndex[i].Boxes);
            Assert.Equal(shapes[i].Tags.Order(StringComparer.Ordinal), byIndex[i].Tags);
        });
        Assert.All(samples, s => Assert.Equal((96, 80), (s.Image.Width, s.Image.Height)));

        var tagOnly = new List<string>();
        await foreach (var sample in pool.ReadAsync(SampleKind.TagOnly, Ct))
        {
            tagOnly.Add(Path.GetFileNameWithoutExtension(sample.Id));
        }

        Assert.Equal(["00005", "00006", "00008", "00009"], tagOnly);
    }

    [Fact]
    public async Task Pool_IncludeGoldAndThresholds_AreOptions()
    {
        var (store, blobs, _) = await SeedAsync();
        var withGold = await new TrainingPool(store, blobs, new TrainingPoolOptions { IncludeGold = true, PseudoBoxesMustCoverTags = false }).CountAsync(Ct);
        Assert.Equal((6L, 0L), (withGold.BoxImages, withGold.GoldImages));
        // A lower image threshold makes image 5 box data (both its pseudo boxes are ≥ 0.1).
        var lower = await new TrainingPool(store, blobs, new TrainingPoolOptions { PseudoImageMinScore = 0.2f, PseudoBoxesMustCoverTags = false }).CountAsync(Ct);
        Assert.Equal((5L, 4L), (lower.BoxImages, lower.TagOnlyImages));
    }

    [Fact]
    public async Task Pool_PseudoBoxesThatLeaveATagUncovered_MakeTheImageTagOnly()
    {
        var (store, blobs, shapes) = await SeedAsync();
        // Images 4 and 7 carry pseudo boxes of their first object's class only; an image with more classes than that
        // has an object the boxes miss, which box data would train as background.
        bool Covered(int i) => shapes[i].Tags.All(t => t == shapes[i].Objects[0].ClassName);
        Assert.Contains(false, new[] { Covered(4), Covered(7) }); // the case under test occurs in the seed data

        var samples = new Dictionary<int, TrainingSample>();
        await foreach (var sample in new TrainingPool(store, blobs).ReadAsync(Ct))
        {
            samples[int.Parse(Path.GetFileNameWithoutExtension(sample.Id), System.Globalization.CultureInfo.InvariantCulture)] = sample;
        }

        Assert.All(new[] { 4, 7 }, i =>
        {
            Assert.Equal(Covered(i) ? SampleKind.BoxData : SampleKind.TagOnly, samples[i].Kind);
            Assert.Equal(Covered(i), samples[i].Boxes.Count > 0);
            Assert.Equal(shapes[i].Tags.Order(StringComparer.Ordinal), samples[i].Tags);
        });
        // Human boxes are never second-guessed: image 3 has pseudo boxes too, and stays box data with its human boxes.
        Assert.Equal(shapes[3].Objects.Count, samples[3].Boxes.Count);
    }

    [Fact]
    public async Task Pool_FeedsTheBatchSampler()
    {
        var (store, blobs, _) = await SeedAsync();
        var pool = new TrainingPool(store, blobs, new TrainingPoolOptions { PseudoBoxesMustCoverTags = false });
        await pool.CountAsync(Ct);
        var sampler = new BatchSampler(pool, new BatchSamplerOptions { BatchSize = 2, Augment = new AugmentOptions { InputSize = 64 } });
        var kinds = new List<SampleKind>();
        await foreach (var batch in sampler.BatchesAsync(5, Ct))
        {
            using var tensors = sampler.ToTensors(batch);
            Assert.Equal([2L, 3, 64, 64], tensors.Images.shape);
            Assert.Equal([2L, pool.ClassNames.Count], tensors.Tags.shape);
            kinds.Add(Assert.Single(tensors.Kinds.Distinct()));
        }

        Assert.Equal([SampleKind.TagOnly, SampleKind.TagOnly, SampleKind.TagOnly, SampleKind.TagOnly, SampleKind.BoxData], kinds);
    }
}
