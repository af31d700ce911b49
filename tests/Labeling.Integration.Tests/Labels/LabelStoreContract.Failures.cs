using Labeling.Labels;

namespace Labeling.Integration.Tests.Labels;

// Failed images grouped by reason, and their reset to pending (docs/failures.md).
public abstract partial class LabelStoreContract
{
    private static async Task<Dictionary<string, long>> SeedFailuresAsync(ILabelStore store)
    {
        var ids = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var dataset in new[] { "pets", "cars" })
        {
            var id = await store.EnsureDatasetAsync(dataset, Ct);
            var registered = await store.RegisterImagesAsync(id,
                Enumerable.Range(0, 6).Select(i => new NewImage($"inbox/{dataset}/{i}.jpg", $"{dataset}-hash{i}")).ToList(), Ct);
            for (var i = 0; i < registered.Count; i++)
            {
                ids[$"{dataset}/{i}"] = registered[i].ImageId;
            }
        }

        await store.SetStatusAsync([ids["pets/0"], ids["pets/1"], ids["pets/2"]], ImageStatus.Queued, null, Ct);
        await store.SetStatusAsync([ids["pets/0"], ids["pets/1"], ids["cars/0"]], ImageStatus.Failed, "missing-blob: The blob 'x' does not exist.", Ct);
        await store.SetStatusAsync([ids["pets/2"]], ImageStatus.Failed, "truncated: the file ends: early", Ct);
        await store.SetStatusAsync([ids["pets/3"]], ImageStatus.Failed, "no code at all", Ct);
        await store.SetStatusAsync([ids["pets/4"]], ImageStatus.Failed, null, Ct);
        await store.SetStatusAsync([ids["pets/5"]], ImageStatus.Labelled, "missing-blob: not failed, not counted", Ct);
        return ids;
    }

    [Fact]
    public async Task FailureGroups_GroupByDatasetAndTheCodeBeforeTheFirstColon_LargestFirst()
    {
        var store = await CreateStoreAsync();
        var ids = await SeedFailuresAsync(store);

        var groups = await store.GetFailureGroupsAsync(null, null, 1, Ct);

        Assert.Equal(
            [("cars", "missing-blob", 1L), ("pets", "missing-blob", 2L), ("pets", "no code at all", 1L), ("pets", "truncated", 1L), ("pets", FailureReason.Unknown, 1L)],
            groups.Select(g => (g.Dataset, g.Reason, g.Count)));
        var missing = groups[1];
        var example = Assert.Single(missing.Examples);
        Assert.Equal((ids["pets/0"], "pets", "inbox/pets/0.jpg", "missing-blob", "missing-blob: The blob 'x' does not exist.", 1),
            (example.Id, example.Dataset, example.BlobPath, example.Reason, example.LastError, example.Attempts));
        Assert.Equal("truncated: the file ends: early", groups[3].Examples[0].LastError);
        Assert.All(groups, g => Assert.Equal(g.Reason, FailureReason.Of(g.Examples[0].LastError)));

        var filtered = await store.GetFailureGroupsAsync("pets", "missing-blob", 10, Ct);
        var only = Assert.Single(filtered);
        Assert.Equal([ids["pets/0"], ids["pets/1"]], only.Examples.Select(e => e.Id));
        Assert.Empty(await store.GetFailureGroupsAsync("nope", null, 3, Ct));
        Assert.All(await store.GetFailureGroupsAsync(null, "missing-blob", 0, Ct), g => Assert.Empty(g.Examples));
    }

    [Fact]
    public async Task FailedImages_PageInIdOrder_FilteredByDatasetAndReason()
    {
        var store = await CreateStoreAsync();
        var ids = await SeedFailuresAsync(store);

        var all = await store.GetFailedImagesAsync(null, null, 0, 100, Ct);
        var first = await store.GetFailedImagesAsync(null, "missing-blob", 0, 2, Ct);
        var rest = await store.GetFailedImagesAsync(null, "missing-blob", first[^1].Id, 2, Ct);

        Assert.Equal(6, all.Count);
        Assert.Equal(all.Select(i => i.Id).Order(), all.Select(i => i.Id));
        Assert.Equal([ids["pets/0"], ids["pets/1"], ids["cars/0"]], first.Concat(rest).Select(i => i.Id).Order());
        Assert.Equal([ids["pets/4"]], (await store.GetFailedImagesAsync("pets", FailureReason.Unknown, 0, 10, Ct)).Select(i => i.Id));
    }

    [Fact]
    public async Task ResetFailed_SetsOnlyTheMatchingFailedImagesPending_ClearingTheErrorAndKeepingAttempts()
    {
        var store = await CreateStoreAsync();
        var ids = await SeedFailuresAsync(store);

        var reset = await store.ResetFailedAsync("pets", "missing-blob", Ct);
        var again = await store.ResetFailedAsync("pets", "missing-blob", Ct);

        Assert.Equal((2, 0), (reset, again));
        var images = (await store.GetImagesAsync(ids.Values.ToList(), Ct)).ToDictionary(i => i.Id);
        Assert.Equal((ImageStatus.Pending, null, 1), (images[ids["pets/0"]].Status, images[ids["pets/0"]].LastError, images[ids["pets/0"]].Attempts));
        Assert.Equal(ImageStatus.Failed, images[ids["cars/0"]].Status);
        Assert.Equal(ImageStatus.Failed, images[ids["pets/2"]].Status);
        Assert.Equal(ImageStatus.Labelled, images[ids["pets/5"]].Status);

        Assert.Equal(1, await store.ResetFailedAsync(null, "missing-blob", Ct));
        Assert.Equal(3, await store.ResetFailedAsync("pets", null, Ct));
        Assert.Empty(await store.GetFailureGroupsAsync(null, null, 0, Ct));
        var pets = Assert.Single(await store.GetProgressAsync("pets", Ct));
        Assert.Equal((0L, 5L), (pets.Failed, pets.Pending));
    }
}
