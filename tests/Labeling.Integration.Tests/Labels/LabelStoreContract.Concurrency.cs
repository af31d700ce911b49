using Labeling.Labels;

namespace Labeling.Integration.Tests.Labels;

/// <summary>What every store must keep when two callers act at once (issue 16, "Integrity under concurrency").</summary>
public abstract partial class LabelStoreContract
{
    private const int RaceRepetitions = 20;

    /// <summary>Runs <paramref name="count"/> copies of <paramref name="action"/> released at the same moment; their results.</summary>
    protected static async Task<T[]> AtOnceAsync<T>(int count, Func<int, Task<T>> action)
    {
        var start = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var runs = Enumerable.Range(0, count).Select(i => Task.Run(async () =>
        {
            await start.Task;
            return await action(i);
        }, Ct)).ToArray();
        start.SetResult();
        return await Task.WhenAll(runs);
    }

    [Fact]
    public async Task WriteLabels_TwoAtOnceForTheSameImageAndModel_LeaveOneSetOfBoxes()
    {
        var store = await CreateStoreAsync();
        var (_, images, v1) = await SeedAsync(store, images: 2);
        var fox = (await store.EnsureClassesAsync(["fox"], Ct))["fox"];
        await store.AddTagsAsync([new(images[0], "fox"), new(images[1], "fox")], Ct);

        var counts = new List<int>();
        for (var repetition = 0; repetition < RaceRepetitions; repetition++)
        {
            // Two workers holding the same image in two live messages; each writes its (image, model) boxes, both images.
            await AtOnceAsync(2, i => Task.Run(async () =>
            {
                await store.WriteLabelsAsync(v1, [
                    new(images[i], [Pseudo(fox, 1, 0.9f), Pseudo(fox, 2, 0.8f)], [new(fox, TagState.Grounded)]),
                    new(images[1 - i], [Pseudo(fox, 1, 0.9f), Pseudo(fox, 2, 0.8f)], [new(fox, TagState.Grounded)]),
                ], Ct);
                return true;
            }));
            counts.Add((await store.QueryBoxesAsync(new BoxQuery { ModelVersion = "v1", Limit = 1000 }, Ct)).Boxes.Count);
        }

        Assert.True(counts.All(c => c == 4), $"Boxes of v1 after each of {RaceRepetitions} double writes (4 expected): {string.Join(", ", counts)}");
    }

    [Fact]
    public async Task Activate_TwoModelsAtOnce_LeavesOneActive_AndTheOtherRetired()
    {
        var store = await CreateStoreAsync();
        await store.RegisterModelAsync(new NewModel("v0", "region-embedding/1", "models/v0.onnx", new string('0', 64)), Ct);
        await store.ActivateModelAsync("v0", Ct);

        var errors = new List<string>();
        for (var repetition = 0; repetition < RaceRepetitions; repetition++)
        {
            string[] versions = [$"a{repetition}", $"b{repetition}"];
            foreach (var version in versions)
            {
                await store.RegisterModelAsync(new NewModel(version, "region-embedding/1", $"models/{version}.onnx", new string('a', 64)), Ct);
            }

            var outcomes = await AtOnceAsync(2, async i =>
            {
                try
                {
                    await store.ActivateModelAsync(versions[i], Ct);
                    return null;
                }
                catch (Exception e) when (e is System.Data.Common.DbException or InvalidOperationException)
                {
                    return e.Message;
                }
            });
            errors.AddRange(outcomes.OfType<string>());
            var states = (await store.ListModelsAsync(Ct)).Where(m => versions.Contains(m.Version)).Select(m => m.Status).Order().ToList();
            if (!states.SequenceEqual([ModelStatus.Active, ModelStatus.Retired]))
            {
                errors.Add($"repetition {repetition} left {string.Join(" and ", states)}");
            }
        }

        Assert.True(errors.Count == 0, $"{errors.Count} of {2 * RaceRepetitions} activations failed: {string.Join(" | ", errors.Distinct().Take(3))}");
    }

    private static async Task RegisterModelsAsync(ILabelStore store, params string[] versions)
    {
        foreach (var version in versions)
        {
            await store.RegisterModelAsync(new NewModel(version, "region-embedding/1", $"models/{version}.onnx", new string('a', 64)), Ct);
        }
    }

    private static async Task<string[]> ModelStatesAsync(ILabelStore store) =>
        [.. (await store.ListModelsAsync(Ct)).Select(m => $"{m.Version}={m.Status.ToString().ToLowerInvariant()}({m.StatusReason})")];

    [Fact]
    public async Task Rollback_TwoOfTheSameModelAtOnce_ActOnce_AndTheModelBeforeIsNotRejected()
    {
        var store = await CreateStoreAsync();
        await RegisterModelsAsync(store, "v1", "v2", "v3");
        foreach (var version in new[] { "v1", "v2", "v3" })
        {
            await store.ActivateModelAsync(version, Ct);
        }

        var results = await AtOnceAsync(2, _ => store.RollbackModelAsync("v3", Ct));

        Assert.Equal([null, "v2"], results.Order());
        Assert.Equal(["v1=retired()", "v2=active()", "v3=rejected(rolled back)"], await ModelStatesAsync(store));
        // Named after a model that is not (or no longer, or never was) active: nothing changes.
        Assert.Null(await store.RollbackModelAsync("v3", Ct));
        Assert.Null(await store.RollbackModelAsync("v1", Ct));
        Assert.Null(await store.RollbackModelAsync("v9", Ct));
        Assert.Equal(["v1=retired()", "v2=active()", "v3=rejected(rolled back)"], await ModelStatesAsync(store));
    }

    [Fact]
    public async Task Activate_TheSameModelTwiceAtOnce_ActsOnce()
    {
        var store = await CreateStoreAsync();
        await RegisterModelsAsync(store, "v1", "v2");
        await store.ActivateModelAsync("v1", Ct);

        var changed = await AtOnceAsync(2, _ => store.ActivateModelAsync("v2", Ct));

        Assert.Equal([false, true], changed.Order());
        Assert.Equal(["v1=retired()", "v2=active()"], await ModelStatesAsync(store));
    }

    [Fact]
    public async Task Reject_OfAModelNoLongerInTheExpectedState_ChangesNothing()
    {
        var store = await CreateStoreAsync();
        await RegisterModelsAsync(store, "v1", "v2", "v3");
        await store.ActivateModelAsync("v1", Ct);
        // The page showed v2 as a candidate; meanwhile it was promoted, then v1 came back: v2 is what a rollback returns to.
        await store.ActivateModelAsync("v2", Ct);
        Assert.False(await store.RejectModelAsync("v2", "rejected by hand", ModelStatus.Candidate, Ct));
        await store.ActivateModelAsync("v1", Ct);
        Assert.False(await store.RejectModelAsync("v2", "rejected by hand", ModelStatus.Candidate, Ct));

        Assert.True(await store.RejectModelAsync("v3", "rejected by hand", ModelStatus.Candidate, Ct));
        Assert.False(await store.RejectModelAsync("v3", "again", ModelStatus.Candidate, Ct));
        Assert.Equal(["v1=active()", "v2=retired()", "v3=rejected(rejected by hand)"], await ModelStatesAsync(store));
        await Assert.ThrowsAsync<ArgumentException>(() => store.RejectModelAsync("v1", "no", ModelStatus.Active, Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.RejectModelAsync("v9", "no", ModelStatus.Candidate, Ct));
    }

    [Fact]
    public async Task ClaimPending_ManyAtOnce_ClaimEachImageOnce_AndEveryImageIsClaimed()
    {
        var store = await CreateStoreAsync();
        var (dataset, images, _) = await SeedAsync(store, images: 60);

        // Six enqueuers page through the same dataset at once, as the scan, a relabel and other hosts would.
        var claimed = await AtOnceAsync(6, async _ =>
        {
            var mine = new List<long>();
            var after = 0L;
            while (await store.ClaimPendingAsync(dataset, 0, after, 4, weakTagsOnly: false, (ids, _) => Task.CompletedTask, Ct) is { Count: > 0 } ids)
            {
                mine.AddRange(ids);
                after = ids[^1];
            }

            return mine;
        });

        var all = claimed.SelectMany(ids => ids).ToList();
        Assert.Equal(images.Order(), all.Order());
        Assert.All(await store.GetImagesAsync(images, Ct), i => Assert.Equal((ImageStatus.Queued, 1), (i.Status, i.Attempts)));
    }

    [Fact]
    public async Task ClaimPending_WhenTheSendFails_GivesTheImagesBack_AndTheNextClaimGetsThem()
    {
        var store = await CreateStoreAsync();
        var (dataset, images, _) = await SeedAsync(store, images: 5);

        var error = await Assert.ThrowsAsync<IOException>(() => store.ClaimPendingAsync(dataset, 0, 0, 3, weakTagsOnly: false,
            (_, _) => throw new IOException("queue unreachable"), Ct));

        Assert.Equal("queue unreachable", error.Message);
        Assert.All(await store.GetImagesAsync(images, Ct), i => Assert.Equal((ImageStatus.Pending, 0), (i.Status, i.Attempts)));
        IReadOnlyList<long>? sent = null;
        var claimed = await store.ClaimPendingAsync(dataset, 0, 0, 3, weakTagsOnly: false, (ids, _) =>
        {
            sent = ids;
            return Task.CompletedTask;
        }, Ct);
        Assert.Equal(images[..3], claimed);
        Assert.Equal(claimed, sent);
    }

    [Fact]
    public async Task ClaimPending_OfAnOldGeneration_OrOnlyWeakTags_ClaimsWhatItShould()
    {
        var store = await CreateStoreAsync();
        var (dataset, images, v1) = await SeedAsync(store, images: 4);
        var fox = (await store.EnsureClassesAsync(["fox"], Ct))["fox"];
        await store.AddTagsAsync([.. images.Select(i => new ImageTag(i, "fox"))], Ct);
        await store.WriteLabelsAsync(v1, [.. images.Select((id, n) => new ImageLabels(id, [], [new(fox, n % 2 == 0 ? TagState.Weak : TagState.Grounded)]))], Ct);
        var v2 = await store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);
        await store.MarkStaleForRelabelAsync(v2, null, Ct);
        await store.WithdrawQueuedAsync("pets", null, null, Ct); // generation 1 now

        Assert.Empty(await store.ClaimPendingAsync(dataset, 0, 0, 10, weakTagsOnly: false, (_, _) => throw new InvalidOperationException("not sent"), Ct));
        Assert.Equal([images[0], images[2]], await store.ClaimPendingAsync(dataset, 1, 0, 10, weakTagsOnly: true, (_, _) => Task.CompletedTask, Ct));
        Assert.Equal([images[1], images[3]], await store.ClaimPendingAsync(dataset, 1, 0, 10, weakTagsOnly: false, (_, _) => Task.CompletedTask, Ct));
        Assert.Empty(await store.ClaimPendingAsync(dataset, 1, 0, 10, weakTagsOnly: false, (_, _) => Task.CompletedTask, Ct));
    }
}
