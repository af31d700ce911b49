using Labeling.Labels;
using Labeling.Schema;
using Labeling.Sql;
using Labeling.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Bootstrap.Tests;

/// <summary><c>labeling diff</c>'s counting on two hand-made generations in a real SQLite store.</summary>
public sealed class ModelDiffTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private readonly TempFolder _folder = new();

    public void Dispose() => _folder.Dispose();

    [Fact]
    public async Task Diff_CountsAddedRemovedChangedUnchangedPerClass_AndTagsThatGotGrounded()
    {
        await using var services = new ServiceCollection()
            .AddLabelingDatabase(o => (o.Provider, o.ConnectionString) = (DatabaseProvider.Sqlite, $"Data Source={Path.Combine(_folder.Path, "labels.db")}"))
            .BuildServiceProvider();
        services.GetRequiredService<LabelsDatabase>().Migrate();
        var store = services.GetRequiredService<ILabelStore>();
        var dataset = await store.EnsureDatasetAsync("pets", Ct);
        var images = (await store.RegisterImagesAsync(dataset, [.. Enumerable.Range(0, 3).Select(i => new NewImage($"inbox/pets/{i}.png", $"h{i}", 100, 100))], Ct))
            .Select(r => r.ImageId).ToArray();
        var classes = await store.EnsureClassesAsync(["cat", "dog"], Ct);
        await store.AddTagsAsync([new ImageTag(images[0], "cat"), new ImageTag(images[0], "dog"), new ImageTag(images[1], "cat"), new ImageTag(images[2], "dog")], Ct);
        var v1 = await store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", "a"), Ct);
        var v2 = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", "b"), Ct);
        BoxData Box(string name, float x, float y, float size, BoxSource source = BoxSource.Pseudo) => new(classes[name], x, y, x + size, y + size, 0.8f, source);

        await store.WriteLabelsAsync(v1,
        [
            // Image 0: a cat box, a second cat box v2 drops, and dog only weak.
            new ImageLabels(images[0], [Box("cat", 0, 0, 40), Box("cat", 50, 50, 20), Box("dog", 0, 0, 100, BoxSource.Weak)], []),
            // Image 1: a cat box v2 moves a little (IoU 0.57: matched but changed).
            new ImageLabels(images[1], [Box("cat", 10, 10, 40)], []),
            // Image 2: v2 never labels it (a relabel still under way).
            new ImageLabels(images[2], [Box("dog", 10, 10, 40)], []),
        ], Ct);
        await store.WriteLabelsAsync(v2,
        [
            // Image 0: the first cat box unchanged (IoU 1), the dog now grounded by a box.
            new ImageLabels(images[0], [Box("cat", 0, 0, 40), Box("dog", 60, 0, 30)], []),
            new ImageLabels(images[1], [Box("cat", 16, 16, 40)], []),
        ], Ct);

        var diff = await ModelDiff.CompareAsync(store, "v1", "v2", null, Ct);

        Assert.Equal((2, 1, 0), (diff.ImagesCompared, diff.ImagesOnlyFrom, diff.ImagesOnlyTo));
        var cat = Assert.Single(diff.Classes, c => c.ClassName == "cat");
        var dog = Assert.Single(diff.Classes, c => c.ClassName == "dog");
        Assert.Equal(new ClassDiff("cat", Added: 0, Removed: 1, Changed: 1, Unchanged: 1, Grounded: 0, Weakened: 0), cat);
        Assert.Equal(new ClassDiff("dog", Added: 1, Removed: 0, Changed: 0, Unchanged: 0, Grounded: 1, Weakened: 0), dog);
        Assert.Equal((1, 1, 1, 1, 1), (diff.Total.Added, diff.Total.Removed, diff.Total.Changed, diff.Total.Unchanged, diff.Total.Grounded));
        Assert.Contains("| dog | 1 | 0 | 0 | 0 | 1 | 0 |", diff.ToMarkdown(), StringComparison.Ordinal);

        // The other way round every count mirrors: what v2 added, v1 "removes"; grounded becomes weakened.
        var back = await ModelDiff.CompareAsync(store, "v2", "v1", null, Ct);
        Assert.Equal(new ClassDiff("dog", 0, 1, 0, 0, 0, 1), Assert.Single(back.Classes, c => c.ClassName == "dog"));
        await Assert.ThrowsAsync<InvalidOperationException>(() => ModelDiff.CompareAsync(store, "v1", "v9", null, Ct));
    }
}
