using Labeling.Labels;
using Labeling.Sql;

namespace Labeling.Integration.Tests.Labels;

/// <summary>What every <see cref="ILabelStore"/> must do. Each implementation's test class derives from this.</summary>
public abstract partial class LabelStoreContract
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new, migrated, empty database of its own.</summary>
    protected abstract Task<LabelsDatabase> CreateDatabaseAsync();

    protected abstract ILabelStore CreateStore(LabelsDatabase database);

    protected async Task<ILabelStore> CreateStoreAsync() => CreateStore(await CreateDatabaseAsync());

    private static BoxData Pseudo(long classId, float x1, float score) => new(classId, x1, 10, x1 + 20, 40, score, BoxSource.Pseudo);

    private static async Task<(long Dataset, long[] Images, long Model)> SeedAsync(ILabelStore store, int images = 3)
    {
        var dataset = await store.EnsureDatasetAsync("pets", Ct);
        var registered = await store.RegisterImagesAsync(dataset,
            Enumerable.Range(0, images).Select(i => new NewImage($"inbox/pets/{i}.jpg", $"hash{i}", 640, 480)).ToList(), Ct);
        var model = await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", new string('a', 64)), Ct);
        return (dataset, registered.Select(r => r.ImageId).ToArray(), model);
    }

    [Fact]
    public async Task EnsureDataset_IsIdempotent()
    {
        var store = await CreateStoreAsync();

        var first = await store.EnsureDatasetAsync("pets", Ct);
        var second = await store.EnsureDatasetAsync("pets", Ct);
        var other = await store.EnsureDatasetAsync("cars", Ct);

        Assert.Equal(first, second);
        Assert.NotEqual(first, other);
    }

    [Fact]
    public async Task RegisterImages_IsIdempotentByPath_AndDeduplicatesContentWithinADataset()
    {
        var store = await CreateStoreAsync();
        var pets = await store.EnsureDatasetAsync("pets", Ct);
        var cars = await store.EnsureDatasetAsync("cars", Ct);

        var first = await store.RegisterImagesAsync(pets, [new("inbox/pets/fox/1.jpg", "h1", 10, 20, "train"), new("inbox/pets/cat/2.jpg", "h2")], Ct);
        var again = await store.RegisterImagesAsync(pets,
            [new("inbox/pets/fox/1.jpg", "h1"), new("inbox/pets/dog/copy-of-1.jpg", "h1"), new("inbox/pets/cat/3.jpg", "h3")], Ct);
        var otherDataset = await store.RegisterImagesAsync(cars, [new("inbox/cars/1.jpg", "h1")], Ct);

        Assert.All(first, r => Assert.Equal(RegistrationOutcome.Created, r.Outcome));
        Assert.Equal(RegistrationOutcome.AlreadyRegistered, again[0].Outcome);
        Assert.Equal(first[0].ImageId, again[0].ImageId);
        Assert.Equal(RegistrationOutcome.DuplicateContent, again[1].Outcome);
        Assert.Equal(first[0].ImageId, again[1].ImageId);
        Assert.Equal(RegistrationOutcome.Created, again[2].Outcome);
        Assert.Equal(RegistrationOutcome.Created, Assert.Single(otherDataset).Outcome);
        var stored = Assert.Single(await store.GetImagesAsync([first[0].ImageId], Ct));
        Assert.Equal(("inbox/pets/fox/1.jpg", 10, 20, "train", ImageStatus.Pending), (stored.BlobPath, stored.Width, stored.Height, stored.Split, stored.Status));
        Assert.Equal(3, (await store.GetProgressAsync("pets", Ct)).Single().Images);
    }

    [Fact]
    public async Task AddTags_NormalisesNames_AndIsIdempotent()
    {
        var store = await CreateStoreAsync();
        var (_, images, _) = await SeedAsync(store);

        await store.AddTagsAsync([new(images[0], " Red_Fox "), new(images[0], "red   fox"), new(images[0], "CAT"), new(images[1], "red fox")], Ct);
        await store.AddTagsAsync([new(images[0], "red fox")], Ct);

        var tags = await store.GetTagsAsync(images, Ct);
        Assert.Equal(["cat", "red fox", "red fox"], tags.Select(t => t.ClassName));
        Assert.All(tags, t => Assert.Equal(TagState.Unlabelled, t.State));
        var classes = await store.EnsureClassesAsync(["Red Fox", "cat"], Ct);
        Assert.Equal(2, classes.Count);
        Assert.Equal(classes["red fox"], tags.First(t => t.ClassName == "red fox").ClassId);
    }

    [Fact]
    public async Task ListClassNames_ReturnsEveryNormalisedName_InOrdinalOrder()
    {
        var store = await CreateStoreAsync();
        Assert.Empty(await store.ListClassNamesAsync(Ct));
        var (_, images, _) = await SeedAsync(store);

        await store.EnsureClassesAsync(["Red_Fox", "zebra"], Ct);
        await store.AddTagsAsync([new(images[0], "CAT"), new(images[1], "red fox")], Ct);

        Assert.Equal(["cat", "red fox", "zebra"], await store.ListClassNamesAsync(Ct));
    }

    [Fact]
    public async Task WriteLabels_TwiceForTheSameImageAndModel_ReplacesInsteadOfAppending()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store);
        var v2 = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);
        var fox = (await store.EnsureClassesAsync(["fox"], Ct))["fox"];
        await store.AddTagsAsync([new(images[0], "fox")], Ct);

        await store.WriteLabelsAsync(v1, [new(images[0], [Pseudo(fox, 1, 0.9f), Pseudo(fox, 2, 0.8f), Pseudo(fox, 3, 0.7f)], [new(fox, TagState.Grounded)])], Ct);
        await store.WriteLabelsAsync(v2, [new(images[0], [Pseudo(fox, 9, 0.6f)], [new(fox, TagState.Grounded)])], Ct);
        // A redelivered v1 message with a different answer: v1's boxes are replaced, v2's stay.
        await store.WriteLabelsAsync(v1, [new(images[0], [Pseudo(fox, 5, 0.95f), new(fox, 0, 0, 640, 480, 0.1f, BoxSource.Weak)], [new(fox, TagState.Weak)])], Ct);

        var v1Boxes = (await store.QueryBoxesAsync(new BoxQuery { ModelVersion = "v1" }, Ct)).Boxes;
        var v2Boxes = (await store.QueryBoxesAsync(new BoxQuery { ModelVersion = "v2" }, Ct)).Boxes;
        Assert.Equal([5f, 0f], v1Boxes.Select(b => b.X1));
        Assert.Equal([BoxSource.Pseudo, BoxSource.Weak], v1Boxes.Select(b => b.Source));
        Assert.Equal(9f, Assert.Single(v2Boxes).X1);
        var image = Assert.Single(await store.GetImagesAsync([images[0]], Ct));
        Assert.Equal(ImageStatus.Labelled, image.Status);
        Assert.Equal(v1, image.LabelledByModelId);
        Assert.Equal(TagState.Weak, Assert.Single(await store.GetTagsAsync([images[0]], Ct)).State);
    }

    [Fact]
    public async Task WriteLabels_KeepsHumanBoxes_AndReplaceHumanBoxesKeepsModelBoxes()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store);
        var fox = (await store.EnsureClassesAsync(["fox"], Ct))["fox"];

        await store.ReplaceHumanBoxesAsync([new(images[0], [new(fox, 1, 2, 3, 4, null, BoxSource.Human), new(fox, 5, 6, 7, 8, null, BoxSource.Human)])], Ct);
        await store.WriteLabelsAsync(v1, [new(images[0], [Pseudo(fox, 1, 0.5f)], [])], Ct);
        await store.ReplaceHumanBoxesAsync([new(images[0], [new(fox, 10, 20, 30, 40, null, BoxSource.Human)])], Ct);

        var human = (await store.QueryBoxesAsync(new BoxQuery { Source = BoxSource.Human }, Ct)).Boxes;
        var row = Assert.Single(human);
        Assert.Equal((10f, 20f, 30f, 40f, (float?)null, (string?)null), (row.X1, row.Y1, row.X2, row.Y2, row.Score, row.ModelVersion));
        Assert.Single((await store.QueryBoxesAsync(new BoxQuery { Source = BoxSource.Pseudo }, Ct)).Boxes);
    }

    [Fact]
    public async Task WriteLabels_WithAnInvalidBox_WritesNothing()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store);
        var fox = (await store.EnsureClassesAsync(["fox"], Ct))["fox"];

        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteLabelsAsync(v1, [new(images[0], [Pseudo(fox, 1, 0.5f), new(fox, float.NaN, 0, 1, 1, 0.5f, BoxSource.Pseudo)], [])], Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteLabelsAsync(v1, [new(images[0], [new(fox, 10, 0, 5, 1, 0.5f, BoxSource.Pseudo)], [])], Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.WriteLabelsAsync(v1, [new(images[0], [new(fox, 1, 0, 5, 1, 0.5f, BoxSource.Human)], [])], Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.ReplaceHumanBoxesAsync([new(images[0], [Pseudo(fox, 1, 0.5f)])], Ct));

        Assert.Empty((await store.QueryBoxesAsync(new BoxQuery(), Ct)).Boxes);
        Assert.Equal(ImageStatus.Pending, Assert.Single(await store.GetImagesAsync([images[0]], Ct)).Status);
    }

    [Fact]
    public async Task WriteLabels_WithUnknownImageClassOrModel_FailsClearly_AndWritesNothing()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store);
        var fox = (await store.EnsureClassesAsync(["fox"], Ct))["fox"];

        var unknownImage = await Assert.ThrowsAsync<ArgumentException>(() =>
            store.WriteLabelsAsync(v1, [new(images[0], [Pseudo(fox, 1, 0.5f)], []), new(999_999, [Pseudo(fox, 1, 0.5f)], [])], Ct));
        var unknownClass = await Assert.ThrowsAsync<ArgumentException>(() =>
            store.ReplaceHumanBoxesAsync([new(images[0], [new(fox + 1000, 1, 1, 2, 2, null, BoxSource.Human)])], Ct));
        var unknownModel = await Assert.ThrowsAsync<ArgumentException>(() =>
            store.WriteLabelsAsync(v1 + 1000, [new(images[0], [Pseudo(fox, 1, 0.5f)], [])], Ct));

        Assert.Contains("Unknown image id(s): 999999", unknownImage.Message, StringComparison.Ordinal);
        Assert.Contains($"Unknown class id(s): {fox + 1000}", unknownClass.Message, StringComparison.Ordinal);
        Assert.Contains("Unknown model id(s)", unknownModel.Message, StringComparison.Ordinal);

        Assert.Empty((await store.QueryBoxesAsync(new BoxQuery(), Ct)).Boxes);
        Assert.Equal(ImageStatus.Pending, Assert.Single(await store.GetImagesAsync([images[0]], Ct)).Status);
    }

    [Fact]
    public async Task SetStatus_RecordsReasonAndCountsQueuedAttempts()
    {
        var store = await CreateStoreAsync();
        var (_, images, _) = await SeedAsync(store);

        await store.SetStatusAsync([images[0], images[1]], ImageStatus.Queued, null, Ct);
        await store.SetStatusAsync([images[0]], ImageStatus.Queued, null, Ct);
        await store.SetStatusAsync([images[0]], ImageStatus.Failed, "undecodable: truncated JPEG", Ct);

        var byId = (await store.GetImagesAsync(images, Ct)).ToDictionary(i => i.Id);
        Assert.Equal((ImageStatus.Failed, 2, "undecodable: truncated JPEG"), (byId[images[0]].Status, byId[images[0]].Attempts, byId[images[0]].LastError));
        Assert.Equal((ImageStatus.Queued, 1, (string?)null), (byId[images[1]].Status, byId[images[1]].Attempts, byId[images[1]].LastError));
        Assert.Equal(ImageStatus.Pending, byId[images[2]].Status);
        var progress = Assert.Single(await store.GetProgressAsync("pets", Ct));
        Assert.Equal(new DatasetProgress("pets", 3, 1, 1, 0, 1, 0), progress);
    }

    [Fact]
    public async Task QueryBoxes_FiltersByClassScoreDatasetSourceAndModel_AndPagesWithoutGapsOrOverlap()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store, images: 10);
        var cars = await store.EnsureDatasetAsync("cars", Ct);
        var car = (await store.RegisterImagesAsync(cars, [new("inbox/cars/1.jpg", "c1")], Ct))[0].ImageId;
        var classes = await store.EnsureClassesAsync(["fox", "cat"], Ct);
        await store.WriteLabelsAsync(v1, images.Select((id, i) => new ImageLabels(id,
            [Pseudo(classes["fox"], i, 0.1f * (i % 10)), Pseudo(classes["cat"], i, 0.95f), new(classes["fox"], 0, 0, 5, 5, 0.05f, BoxSource.Weak)], [])).ToList(), Ct);
        await store.WriteLabelsAsync(v1, [new(car, [Pseudo(classes["fox"], 0, 0.99f)], [])], Ct);

        var foxAbove = (await store.QueryBoxesAsync(new BoxQuery { ClassName = "FOX", MinScore = 0.5f, Dataset = "pets", Source = BoxSource.Pseudo, ModelVersion = "v1" }, Ct)).Boxes;
        Assert.Equal(5, foxAbove.Count); // scores 0.5 … 0.9 in pets; the car's 0.99 is another dataset
        Assert.All(foxAbove, b => Assert.True(b.Score >= 0.5f && b.ClassName == "fox" && b.Dataset == "pets"));
        Assert.Equal(10, (await store.QueryBoxesAsync(new BoxQuery { Source = BoxSource.Weak }, Ct)).Boxes.Count);
        Assert.Equal(3, (await store.QueryBoxesAsync(new BoxQuery { ImageId = images[4] }, Ct)).Boxes.Count);
        Assert.Empty((await store.QueryBoxesAsync(new BoxQuery { ModelVersion = "v9" }, Ct)).Boxes);

        var seen = new List<long>();
        var query = new BoxQuery { Limit = 7 };
        while (true)
        {
            var page = await store.QueryBoxesAsync(query, Ct);
            seen.AddRange(page.Boxes.Select(b => b.BoxId));
            if (page.NextAfterId is not { } next)
            {
                break;
            }

            query = query with { AfterId = next };
        }

        Assert.Equal(31, seen.Count);
        Assert.Equal(seen.Order(), seen);
        Assert.Equal(31, seen.Distinct().Count());
    }

    [Fact]
    public async Task RegisterModel_TwiceWithOneVersion_IsRefused()
    {
        var store = await CreateStoreAsync();
        var id = await store.RegisterModelAsync(new NewModel("v1", "fixed-vocabulary/1", "models/v1.onnx", "abc", null), Ct);

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => store.RegisterModelAsync(new NewModel("v1", "fixed-vocabulary/1", "x", "y"), Ct));

        Assert.Contains("v1", error.Message, StringComparison.Ordinal);
        var model = await store.GetModelAsync("v1", Ct);
        Assert.Equal((id, ModelStatus.Candidate, "models/v1.onnx"), (model!.Id, model.Status, model.BlobUri));
        Assert.Null(await store.GetModelAsync("v2", Ct));
    }

    [Fact]
    public async Task ModelMetrics_AreStoredAsJson_ReplacedOnSecondWrite_AndBadTextIsRefused()
    {
        var store = await CreateStoreAsync();
        await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", "a"), Ct);
        Assert.Null((await store.GetModelAsync("v1", Ct))!.Metrics);

        await store.SetModelMetricsAsync("v1", """{"AP": 0.5, "APnovel": 0.25}""", Ct);
        await store.SetModelMetricsAsync("v1", """{"AP": 0.625, "APnovel": 0.375, "note": "it's \"quoted\"; --"}""", Ct);

        using var metrics = System.Text.Json.JsonDocument.Parse((await store.GetModelAsync("v1", Ct))!.Metrics!);
        Assert.Equal(0.625, metrics.RootElement.GetProperty("AP").GetDouble());
        Assert.Equal("it's \"quoted\"; --", metrics.RootElement.GetProperty("note").GetString());
        Assert.Equal(metrics.RootElement.GetProperty("APnovel").GetDouble(), System.Text.Json.JsonDocument.Parse((await store.ListModelsAsync(Ct))[0].Metrics!).RootElement.GetProperty("APnovel").GetDouble());
        await Assert.ThrowsAsync<ArgumentException>(() => store.SetModelMetricsAsync("v1", "{not json", Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.SetModelMetricsAsync("v1", "[1, 2]", Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.SetModelMetricsAsync("v9", "{}", Ct));
        Assert.Equal(0.625, System.Text.Json.JsonDocument.Parse((await store.GetModelAsync("v1", Ct))!.Metrics!).RootElement.GetProperty("AP").GetDouble());
    }

    [Fact]
    public async Task RejectModel_KeepsTheReason_ButNeverRejectsTheActiveModel()
    {
        var store = await CreateStoreAsync();
        await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", "a"), Ct);
        await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", "b"), Ct);
        await store.ActivateModelAsync("v1", Ct);

        await store.RejectModelAsync("v2", "AP-novel 0.31 < 0.35 − 0.02", Ct);
        var active = await Assert.ThrowsAsync<InvalidOperationException>(() => store.RejectModelAsync("v1", "no", Ct));
        var missing = await Assert.ThrowsAsync<InvalidOperationException>(() => store.RejectModelAsync("v9", "no", Ct));

        var v2 = (await store.GetModelAsync("v2", Ct))!;
        Assert.Equal((ModelStatus.Rejected, "AP-novel 0.31 < 0.35 − 0.02"), (v2.Status, v2.StatusReason));
        Assert.Contains("active model", active.Message, StringComparison.Ordinal);
        Assert.Contains("not registered", missing.Message, StringComparison.Ordinal);
        Assert.Equal(ModelStatus.Active, (await store.GetModelAsync("v1", Ct))!.Status);
    }

    [Fact]
    public async Task RollbackModel_ReactivatesThePreviousModel_StepByStep_AndStopsAtTheFirst()
    {
        var store = await CreateStoreAsync();
        Assert.Null(await store.RollbackModelAsync("v1", Ct));
        foreach (var v in new[] { "v1", "v2", "v3" })
        {
            await store.RegisterModelAsync(new NewModel(v, "region-embedding/1", $"models/{v}.onnx", v), Ct);
            await store.ActivateModelAsync(v, Ct);
        }

        Assert.Equal("v2", await store.RollbackModelAsync("v3", Ct));
        Assert.Equal("v2", (await store.GetActiveModelAsync(Ct))!.Version);
        var v3 = (await store.GetModelAsync("v3", Ct))!;
        Assert.Equal((ModelStatus.Rejected, "rolled back"), (v3.Status, v3.StatusReason));

        Assert.Equal("v1", await store.RollbackModelAsync("v2", Ct));
        Assert.Null(await store.RollbackModelAsync("v1", Ct)); // v1 was the first: nothing before it, nothing changes
        Assert.Equal("v1", (await store.GetActiveModelAsync(Ct))!.Version);
        Assert.Single(await store.ListModelsAsync(Ct), m => m.Status == ModelStatus.Active);
    }

    [Fact]
    public async Task ActivateModel_KeepsExactlyOneActive_AndRetiresThePrevious()
    {
        var store = await CreateStoreAsync();
        await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", "a"), Ct);
        await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", "b"), Ct);
        Assert.Null(await store.GetActiveModelAsync(Ct));

        Assert.True(await store.ActivateModelAsync("v1", Ct));
        Assert.True(await store.ActivateModelAsync("v2", Ct));
        Assert.False(await store.ActivateModelAsync("v2", Ct)); // active already: nothing changes

        Assert.Equal("v2", (await store.GetActiveModelAsync(Ct))!.Version);
        Assert.Equal(ModelStatus.Retired, (await store.GetModelAsync("v1", Ct))!.Status);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.ActivateModelAsync("v9", Ct));
        Assert.Equal("v2", (await store.GetActiveModelAsync(Ct))!.Version);
    }

    [Fact]
    public async Task ListModels_ReturnsEveryModelInRegistrationOrder_WithItsStatus()
    {
        var store = await CreateStoreAsync();
        Assert.Empty(await store.ListModelsAsync(Ct));
        await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", "a", "hashbow-256"), Ct);
        await store.RegisterModelAsync(new NewModel("v0-fixed", "fixed-vocabulary/1", "models/v0.onnx", "b"), Ct);
        await store.ActivateModelAsync("v1", Ct);

        var models = await store.ListModelsAsync(Ct);

        Assert.Equal(["v1", "v0-fixed"], models.Select(m => m.Version));
        Assert.Equal((ModelStatus.Active, "hashbow-256"), (models[0].Status, models[0].EmbeddingSpace));
        Assert.Equal(ModelStatus.Candidate, models[1].Status);
    }

    [Fact]
    public async Task GetImageIdsWithWeakTags_FindsImagesWhoseLastLabellingLeftATagWeak_ThenPendingAgain()
    {
        var store = await CreateStoreAsync();
        var (_, pets, model) = await SeedAsync(store, images: 4);
        await store.AddTagsAsync([new ImageTag(pets[0], "cat"), new ImageTag(pets[1], "cat"), new ImageTag(pets[1], "dog"), new ImageTag(pets[2], "dog")], Ct);
        var classes = await store.EnsureClassesAsync(["cat", "dog"], Ct);
        Assert.Empty(await store.GetImageIdsWithWeakTagsAsync(ImageStatus.Pending, null, 0, 10, Ct)); // no state before a model labelled

        // Image 0: cat grounded; image 1: cat grounded, dog weak; image 2: dog weak; image 3: no tags.
        await store.WriteLabelsAsync(model,
        [
            new ImageLabels(pets[0], [Pseudo(classes["cat"], 10, 0.9f)], [new TagGrounding(classes["cat"], TagState.Grounded)]),
            new ImageLabels(pets[1], [Pseudo(classes["cat"], 10, 0.9f)], [new TagGrounding(classes["cat"], TagState.Grounded), new TagGrounding(classes["dog"], TagState.Weak)]),
            new ImageLabels(pets[2], [], [new TagGrounding(classes["dog"], TagState.Weak)]),
            new ImageLabels(pets[3], [], []),
        ], Ct);
        Assert.Equal([pets[1], pets[2]], await store.GetImageIdsWithWeakTagsAsync(ImageStatus.Labelled, null, 0, 10, Ct));

        // A relabel generation sends them back to pending: the weak ones are found, paged, per dataset.
        var v2 = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);
        await store.MarkStaleForRelabelAsync(v2, null, Ct);
        Assert.Equal([pets[1]], await store.GetImageIdsWithWeakTagsAsync(ImageStatus.Pending, "pets", 0, 1, Ct));
        Assert.Equal([pets[2]], await store.GetImageIdsWithWeakTagsAsync(ImageStatus.Pending, "pets", pets[1], 1, Ct));
        Assert.Empty(await store.GetImageIdsWithWeakTagsAsync(ImageStatus.Pending, "cars", 0, 10, Ct));
    }

    [Fact]
    public async Task PoolSummary_CountsImagesOutsideGoldThatDidNotFail_AndDistinctTagClasses()
    {
        var store = await CreateStoreAsync();
        Assert.Equal(new PoolSummary(0, 0), await store.GetPoolSummaryAsync(Ct));
        var pets = await store.EnsureDatasetAsync("pets", Ct);
        var ids = (await store.RegisterImagesAsync(pets,
            [new("inbox/pets/1.jpg", "h1"), new("inbox/pets/2.jpg", "h2", Split: "train"), new("inbox/pets/3.jpg", "h3", Split: "val"), new("inbox/pets/4.jpg", "h4")], Ct))
            .Select(r => r.ImageId).ToArray();
        await store.AddTagsAsync([new ImageTag(ids[0], "cat"), new ImageTag(ids[1], "cat"), new ImageTag(ids[2], "dog"), new ImageTag(ids[3], "fox")], Ct);
        await store.SetStatusAsync([ids[3]], ImageStatus.Failed, "unreadable", Ct);

        // 1 and 2 count (3 is gold, 4 failed); the tag classes are every distinct one: cat, dog, fox.
        Assert.Equal(new PoolSummary(2, 3), await store.GetPoolSummaryAsync(Ct));
    }

    [Fact]
    public async Task TrainingRuns_KeepTheirCandidateOwnerAndHeartbeat_AndAnInterruptedRunIsClaimedOnce()
    {
        var store = await CreateStoreAsync();
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        var run = await store.StartTrainingRunAsync(new NewTrainingRun(null, "{}", "auto-7", "host-a/123/456", 40), Ct);
        var other = await store.StartTrainingRunAsync(new NewTrainingRun(null, "{}"), Ct);

        var started = (await store.ListTrainingRunsAsync(Ct))[0];
        Assert.Equal(("auto-7", "host-a/123/456", (int?)40), (started.Version, started.Owner, started.ResumedFromStep));
        // Timestamps come back as UTC instants on both stores (SQLite keeps text, PostgreSQL timestamptz).
        Assert.InRange(started.StartedAt!.Value, before, DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.InRange(started.HeartbeatAt!.Value, before, DateTimeOffset.UtcNow.AddSeconds(5));
        Assert.Equal(TimeSpan.Zero, started.HeartbeatAt.Value.Offset);
        Assert.Null((await store.ListTrainingRunsAsync(Ct))[1].Version);

        // A beat moves the heartbeat on while the run runs.
        Assert.True(await store.HeartbeatTrainingRunAsync(run, Ct));
        Assert.True((await store.ListTrainingRunsAsync(Ct))[0].HeartbeatAt >= started.HeartbeatAt);

        // Two hosts find it orphaned: exactly one claim succeeds, and the reason is kept.
        Assert.True(await store.InterruptTrainingRunAsync(run, "interrupted: its process is gone", Ct));
        Assert.False(await store.InterruptTrainingRunAsync(run, "interrupted twice", Ct));
        var interrupted = (await store.ListTrainingRunsAsync(Ct))[0];
        Assert.Equal((TrainingRunStatus.Failed, "interrupted: its process is gone"), (interrupted.Status, interrupted.Error));

        // The process that was taken for dead learns it at its next beat; a finished run is not interrupted.
        Assert.False(await store.HeartbeatTrainingRunAsync(run, Ct));
        await store.FinishTrainingRunAsync(other, TrainingRunStatus.Succeeded, null, null, null, Ct);
        Assert.False(await store.InterruptTrainingRunAsync(other, "late", Ct));
        Assert.False(await store.HeartbeatTrainingRunAsync(other, Ct));
        Assert.False(await store.HeartbeatTrainingRunAsync(999, Ct));
        Assert.Equal(TrainingRunStatus.Succeeded, (await store.ListTrainingRunsAsync(Ct))[1].Status);
    }

    [Fact]
    public async Task TrainingRuns_StartRunning_FinishWithTheirModel_OrTheirError()
    {
        var store = await CreateStoreAsync();
        var parent = await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", "a"), Ct);
        var good = await store.StartTrainingRunAsync(new NewTrainingRun(parent, """{"steps": 1000, "datasets": null}"""), Ct);
        var bad = await store.StartTrainingRunAsync(new NewTrainingRun(parent, "{}"), Ct);
        Assert.Equal(TrainingRunStatus.Running, (await store.ListTrainingRunsAsync(Ct))[0].Status);

        var child = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", "b", null, parent), Ct);
        await store.FinishTrainingRunAsync(good, TrainingRunStatus.Succeeded, child, """{"boxImages": 989}""", null, Ct);
        await store.FinishTrainingRunAsync(bad, TrainingRunStatus.Failed, null, null, "The training data ran out after 3 steps.", Ct);

        var runs = await store.ListTrainingRunsAsync(Ct);
        Assert.Equal((good, parent, (long?)child, TrainingRunStatus.Succeeded), (runs[0].Id, runs[0].ParentModelId, runs[0].ModelId, runs[0].Status));
        Assert.Equal(989, System.Text.Json.JsonDocument.Parse(runs[0].PoolStats!).RootElement.GetProperty("boxImages").GetInt32());
        Assert.Equal(1000, System.Text.Json.JsonDocument.Parse(runs[0].Policy!).RootElement.GetProperty("steps").GetInt32());
        Assert.Equal((TrainingRunStatus.Failed, "The training data ran out after 3 steps."), (runs[1].Status, runs[1].Error));
        Assert.Equal(good, (await store.GetModelAsync("v2", Ct))!.TrainingRunId);
        await Assert.ThrowsAsync<ArgumentException>(() => store.StartTrainingRunAsync(new NewTrainingRun(null, "not json"), Ct));
        await Assert.ThrowsAsync<ArgumentException>(() => store.FinishTrainingRunAsync(good, TrainingRunStatus.Running, null, null, null, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.FinishTrainingRunAsync(999, TrainingRunStatus.Failed, null, null, "x", Ct));
    }

    [Fact]
    public async Task GetImageIdsByStatus_PagesInIdOrder_PerDatasetOrAll()
    {
        var store = await CreateStoreAsync();
        var (_, pets, _) = await SeedAsync(store, images: 5);
        var cars = await store.EnsureDatasetAsync("cars", Ct);
        var car = (await store.RegisterImagesAsync(cars, [new("inbox/cars/1.jpg", "c1")], Ct))[0].ImageId;
        await store.SetStatusAsync([pets[1]], ImageStatus.Queued, null, Ct);

        var firstPage = await store.GetImageIdsByStatusAsync(ImageStatus.Pending, "pets", 0, 3, Ct);
        var secondPage = await store.GetImageIdsByStatusAsync(ImageStatus.Pending, "pets", firstPage[^1], 3, Ct);

        Assert.Equal([pets[0], pets[2], pets[3]], firstPage);
        Assert.Equal([pets[4]], secondPage);
        Assert.Equal([car], await store.GetImageIdsByStatusAsync(ImageStatus.Pending, "cars", 0, 10, Ct));
        Assert.Equal(5, (await store.GetImageIdsByStatusAsync(ImageStatus.Pending, null, 0, 10, Ct)).Count);
        Assert.Equal([pets[1]], await store.GetImageIdsByStatusAsync(ImageStatus.Queued, null, 0, 10, Ct));
    }

    [Fact]
    public async Task GetImageIdsByPath_FindsRegisteredPathsOnly()
    {
        var store = await CreateStoreAsync();
        var (_, images, _) = await SeedAsync(store, images: 2);

        var found = await store.GetImageIdsByPathAsync(["inbox/pets/1.jpg", "inbox/pets/0.jpg", "inbox/pets/nope.jpg"], Ct);

        Assert.Equal(2, found.Count);
        Assert.Equal((images[0], images[1]), (found["inbox/pets/0.jpg"], found["inbox/pets/1.jpg"]));
    }

    [Fact]
    public async Task DiscoveredBoxes_AreStoredAndQueryable()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store);
        var star = (await store.EnsureClassesAsync(["striped star"], Ct))["striped star"];

        await store.WriteLabelsAsync(v1, [new(images[0], [new(star, 1, 2, 3, 4, 0.8f, BoxSource.Discovered)], [])], Ct);

        Assert.Equal("striped star", Assert.Single((await store.QueryBoxesAsync(new BoxQuery { Source = BoxSource.Discovered }, Ct)).Boxes).ClassName);
    }

    [Fact]
    public async Task WriteLabels_StoresTheDecodedSize_WhenGiven_AndKeepsItWhenNot()
    {
        var store = await CreateStoreAsync();
        var pets = await store.EnsureDatasetAsync("pets", Ct);
        var registered = await store.RegisterImagesAsync(pets, [new("inbox/pets/a.jpg", "a"), new("inbox/pets/b.jpg", "b", 640, 480)], Ct);
        var model = await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", new string('a', 64)), Ct);
        var (a, b) = (registered[0].ImageId, registered[1].ImageId);

        await store.WriteLabelsAsync(model, [new(a, [], [], 300, 200), new(b, [], [])], Ct);
        var images = (await store.GetImagesAsync([a, b], Ct)).ToDictionary(i => i.Id);
        Assert.Equal((300, 200), (images[a].Width, images[a].Height));
        Assert.Equal((640, 480), (images[b].Width, images[b].Height));
    }

    [Fact]
    public async Task QueryReviewImages_GroupsTheMatchingBoxesPerImage_AndPagesByImage()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store, images: 4);
        var classes = await store.EnsureClassesAsync(["fox", "cat"], Ct);
        var (fox, cat) = (classes["fox"], classes["cat"]);
        await store.WriteLabelsAsync(v1,
        [
            new(images[0], [Pseudo(fox, 1, 0.9f), Pseudo(cat, 2, 0.8f), Pseudo(fox, 3, 0.2f)], []),
            new(images[1], [Pseudo(cat, 1, 0.7f)], []),
            new(images[2], [Pseudo(fox, 1, 0.6f)], []),
        ], Ct);

        var page = await store.QueryReviewImagesAsync(new BoxQuery { ClassName = "Fox", MinScore = 0.5f }, 0, 1, Ct);
        var first = Assert.Single(page.Images);
        Assert.Equal(images[0], first.Image.Id);
        Assert.Equal("pets", first.Dataset);
        Assert.Equal(0.9f, Assert.Single(first.Boxes).Score);
        Assert.Equal(images[0], page.NextAfterImageId);

        var next = await store.QueryReviewImagesAsync(new BoxQuery { ClassName = "fox", MinScore = 0.5f }, page.NextAfterImageId!.Value, 1, Ct);
        Assert.Equal(images[2], Assert.Single(next.Images).Image.Id);
        Assert.Null(next.NextAfterImageId);

        var all = await store.QueryReviewImagesAsync(new BoxQuery(), 0, 10, Ct);
        Assert.Equal([images[0], images[1], images[2]], all.Images.Select(i => i.Image.Id));
        Assert.Equal(3, all.Images[0].Boxes.Count);
        Assert.Empty((await store.QueryReviewImagesAsync(new BoxQuery { Source = BoxSource.Human }, 0, 10, Ct)).Images);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.QueryReviewImagesAsync(new BoxQuery(), 0, 0, Ct));
    }

    [Fact]
    public async Task MarkStaleForRelabel_MovesOnlyImagesAnotherModelLabelled_PerDataset_Once()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store, images: 3);
        var cars = await store.EnsureDatasetAsync("cars", Ct);
        var car = Assert.Single(await store.RegisterImagesAsync(cars, [new("inbox/cars/1.jpg", "car1")], Ct)).ImageId;
        var v2 = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);
        await store.WriteLabelsAsync(v1, [new(images[0], [], []), new(images[1], [], []), new(car, [], [])], Ct);
        await store.WriteLabelsAsync(v2, [new(images[2], [], [])], Ct);

        Assert.Equal(2, await store.MarkStaleForRelabelAsync(v2, "pets", Ct));
        Assert.Equal(0, await store.MarkStaleForRelabelAsync(v2, "pets", Ct));
        var byId = (await store.GetImagesAsync([.. images, car], Ct)).ToDictionary(i => i.Id, i => i.Status);
        Assert.Equal(ImageStatus.Pending, byId[images[0]]);
        Assert.Equal(ImageStatus.Pending, byId[images[1]]);
        Assert.Equal(ImageStatus.Labelled, byId[images[2]]);
        Assert.Equal(ImageStatus.Labelled, byId[car]);
        Assert.Equal(1, await store.MarkStaleForRelabelAsync(v2, null, Ct));
    }

    [Fact]
    public async Task GetPoolImages_PagesTaggedOrBoxedImages_WithHumanBoxesAndTheLastModelsBoxesOnly()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store, images: 4);
        var v2 = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);
        var classes = await store.EnsureClassesAsync(["fox", "cat"], Ct);
        long fox = classes["fox"], cat = classes["cat"];
        await store.AddTagsAsync([new(images[0], "Fox"), new(images[2], "cat")], Ct);
        await store.ReplaceHumanBoxesAsync([new(images[1], [new BoxData(fox, 1, 2, 30, 40, null, BoxSource.Human)])], Ct);
        // Image 2: labelled by v1, then by v2; only v2's boxes are the image's current pseudo labels.
        await store.WriteLabelsAsync(v1, [new(images[2], [Pseudo(cat, 5, 0.9f)], [new(cat, TagState.Grounded)])], Ct);
        await store.WriteLabelsAsync(v2, [new(images[2], [Pseudo(cat, 7, 0.6f), Pseudo(cat, 50, 0.2f)], [new(cat, TagState.Grounded)])], Ct);
        // Image 3 has neither tags nor boxes: not in the pool.

        var all = await store.GetPoolImagesAsync(0, 1000, Ct);
        Assert.Null(all.NextAfterImageId);
        Assert.Equal([images[0], images[1], images[2]], all.Images.Select(i => i.Image.Id));
        Assert.All(all.Images, i => Assert.Equal("pets", i.Dataset));
        Assert.Equal("fox", Assert.Single(all.Images[0].Tags).ClassName);
        Assert.Empty(all.Images[0].Boxes);
        var human = Assert.Single(all.Images[1].Boxes);
        Assert.Equal((fox, "fox", 1f, 2f, 30f, 40f, (float?)null, BoxSource.Human, (long?)null), (human.ClassId, human.ClassName, human.X1, human.Y1, human.X2, human.Y2, human.Score, human.Source, human.ModelId));
        Assert.Equal([(7f, 0.6f, v2), (50f, 0.2f, v2)], all.Images[2].Boxes.Select(b => (b.X1, b.Score!.Value, b.ModelId!.Value)));
        Assert.Equal(TagState.Grounded, Assert.Single(all.Images[2].Tags).State);

        var first = await store.GetPoolImagesAsync(0, 2, Ct);
        Assert.Equal([images[0], images[1]], first.Images.Select(i => i.Image.Id));
        Assert.Equal(images[1], first.NextAfterImageId);
        var second = await store.GetPoolImagesAsync(first.NextAfterImageId!.Value, 2, Ct);
        Assert.Equal([images[2]], second.Images.Select(i => i.Image.Id));
        Assert.Null(second.NextAfterImageId);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.GetPoolImagesAsync(0, 0, Ct));
    }

    [Fact]
    public async Task Checkpoints_AreStoredPerScope_AndOverwritten()
    {
        var store = await CreateStoreAsync();

        Assert.Null(await store.GetCheckpointAsync("labeling/inbox/", Ct));
        await store.SetCheckpointAsync("labeling/inbox/", "inbox/pets/a.jpg", Ct);
        await store.SetCheckpointAsync("labeling/inbox/", "inbox/pets/b \u00e9'; --.jpg", Ct);
        await store.SetCheckpointAsync("other/inbox/", "x", Ct);

        Assert.Equal("inbox/pets/b \u00e9'; --.jpg", await store.GetCheckpointAsync("labeling/inbox/", Ct));
        Assert.Equal("x", await store.GetCheckpointAsync("other/inbox/", Ct));
    }

    public static TheoryData<string> HostileStrings() =>
    [
        "it's",
        "a\"b",
        "x; DROP TABLE boxes; --",
        "Robert'); DELETE FROM images WHERE ('1'='1",
        "\u72d0\u72f8 \U0001F98A \u00e9t\u00e9 \u0627\u0644\u062b\u0639\u0644\u0628",
        "%_\\ LIKE patterns",
    ];

    [Theory]
    [MemberData(nameof(HostileStrings))]
    public async Task HostileNames_RoundTripUnchanged(string text)
    {
        var store = await CreateStoreAsync();

        var dataset = await store.EnsureDatasetAsync(text, Ct);
        var path = "inbox/" + text.Replace('\\', '-') + "/img.jpg";
        var image = (await store.RegisterImagesAsync(dataset, [new(path, text)], Ct))[0].ImageId;
        await store.AddTagsAsync([new(image, text)], Ct);
        var tag = Assert.Single(await store.GetTagsAsync([image], Ct));
        var reason = text + new string('z', 10 * 1024);
        await store.SetStatusAsync([image], ImageStatus.Failed, reason, Ct);
        await store.ReplaceHumanBoxesAsync([new(image, [new(tag.ClassId, 1, 1, 2, 2, null, BoxSource.Human)])], Ct);

        var stored = Assert.Single(await store.GetImagesAsync([image], Ct));
        Assert.Equal((path, text, reason), (stored.BlobPath, stored.ContentHash, stored.LastError));
        Assert.Equal(TagName.Normalise(text), tag.ClassName);
        var box = Assert.Single((await store.QueryBoxesAsync(new BoxQuery { Dataset = text, ClassName = text }, Ct)).Boxes);
        Assert.Equal((text, path), (box.Dataset, box.ImagePath));
        Assert.Equal(text, Assert.Single(await store.GetProgressAsync(text, Ct)).Dataset);
        Assert.Single(await store.GetProgressAsync(null, Ct));
    }

    [Fact]
    public async Task OverlongNames_AreRefusedWithAClearError_NotTruncated()
    {
        var store = await CreateStoreAsync();
        var (_, images, _) = await SeedAsync(store);
        var tenKb = new string('q', 10 * 1024);

        Assert.Contains("limit", (await Assert.ThrowsAsync<ArgumentException>(() => store.AddTagsAsync([new(images[0], tenKb)], Ct))).Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(() => store.EnsureDatasetAsync(tenKb, Ct));
        await Assert.ThrowsAsync<Labeling.Blobs.InvalidBlobNameException>(() => store.RegisterImagesAsync(1, [new("inbox/" + tenKb, "h")], Ct));
        Assert.Empty(await store.GetTagsAsync(images, Ct));
    }
}
