using Labeling.Labels;

namespace Labeling.Integration.Tests.Labels;

/// <summary>The dataset-control members of <see cref="ILabelStore"/>: state, priority, cap, generation, batch leases, rate.</summary>
public abstract partial class LabelStoreContract
{
    private static readonly TimeSpan LongLease = TimeSpan.FromMinutes(5);

    [Fact]
    public async Task NewDataset_IsActive_NormalPriority_NoCap_GenerationZero()
    {
        var store = await CreateStoreAsync();
        var id = await store.EnsureDatasetAsync("pets", Ct);

        var control = await store.GetDatasetControlAsync("pets", Ct);

        Assert.Equal(new DatasetControlRecord(id, "pets", DatasetState.Active, DatasetPriority.Normal, null, 0), control);
        Assert.Equal(control, await store.GetDatasetControlAsync(id, Ct));
        Assert.Null(await store.GetDatasetControlAsync("nope", Ct));
        Assert.Equal([control!], await store.ListDatasetControlsAsync(Ct));
    }

    [Fact]
    public async Task SetStateAndCap_ChangeOnlyThatDataset_AndUnknownNamesChangeNothing()
    {
        var store = await CreateStoreAsync();
        await store.EnsureDatasetAsync("pets", Ct);
        await store.EnsureDatasetAsync("cars", Ct);

        var paused = await store.SetDatasetStateAsync("pets", DatasetState.Paused, Ct);
        var capped = await store.SetDatasetBatchCapAsync("pets", 2, Ct);

        Assert.Equal((DatasetState.Paused, 0L), (paused!.State, paused.Generation));
        Assert.Equal(2, capped!.MaxConcurrentBatches);
        Assert.Equal((DatasetState.Active, (int?)null), ((await store.GetDatasetControlAsync("cars", Ct))!.State, (await store.GetDatasetControlAsync("cars", Ct))!.MaxConcurrentBatches));
        Assert.Null((await store.SetDatasetBatchCapAsync("pets", null, Ct))!.MaxConcurrentBatches);
        Assert.Equal(DatasetState.Active, (await store.SetDatasetStateAsync("pets", DatasetState.Active, Ct))!.State);
        Assert.Null(await store.SetDatasetStateAsync("nope", DatasetState.Paused, Ct));
        Assert.Null(await store.SetDatasetBatchCapAsync("nope", 1, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => store.SetDatasetBatchCapAsync("pets", 0, Ct));
    }

    [Fact]
    public async Task WithdrawQueued_BumpsGeneration_ReturnsQueuedImagesToPending_NeverFailed_AndLeavesOtherDatasetsAlone()
    {
        var store = await CreateStoreAsync();
        var (pets, images, model) = await SeedAsync(store, images: 4);
        var cars = await store.EnsureDatasetAsync("cars", Ct);
        var car = (await store.RegisterImagesAsync(cars, [new NewImage("inbox/cars/1.jpg", "c1")], Ct))[0].ImageId;
        Assert.Equal(3, await store.MarkQueuedAsync(pets, 0, images[..3], Ct));
        Assert.Equal(1, await store.MarkQueuedAsync(cars, 0, [car], Ct));
        await store.WriteLabelsAsync(model, [new(images[0], [], [])], Ct);

        var withdrawal = await store.WithdrawQueuedAsync("pets", DatasetState.Paused, null, Ct);

        Assert.Equal(2, withdrawal!.ImagesReturned);
        Assert.Equal((DatasetState.Paused, DatasetPriority.Normal, 1L), (withdrawal.Dataset.State, withdrawal.Dataset.Priority, withdrawal.Dataset.Generation));
        var statuses = (await store.GetImagesAsync(images, Ct)).ToDictionary(i => i.Id, i => i.Status);
        Assert.Equal([ImageStatus.Labelled, ImageStatus.Pending, ImageStatus.Pending, ImageStatus.Pending], images.Select(i => statuses[i]));
        Assert.Equal(ImageStatus.Queued, Assert.Single(await store.GetImagesAsync([car], Ct)).Status);
        Assert.Equal(0, (await store.GetProgressAsync("pets", Ct)).Single().Failed);

        var moved = await store.WithdrawQueuedAsync("pets", null, DatasetPriority.High, Ct);
        Assert.Equal((DatasetState.Paused, DatasetPriority.High, 2L, 0), (moved!.Dataset.State, moved.Dataset.Priority, moved.Dataset.Generation, moved.ImagesReturned));
        Assert.Null(await store.WithdrawQueuedAsync("nope", DatasetState.Paused, null, Ct));
    }

    [Fact]
    public async Task MarkQueued_OfAnOlderGeneration_MarksNothing()
    {
        var store = await CreateStoreAsync();
        var (pets, images, _) = await SeedAsync(store);
        await store.WithdrawQueuedAsync("pets", null, null, Ct);

        var stale = await store.MarkQueuedAsync(pets, 0, images, Ct);
        var current = await store.MarkQueuedAsync(pets, 1, images, Ct);
        var again = await store.MarkQueuedAsync(pets, 1, images, Ct);

        Assert.Equal((0, 3, 0), (stale, current, again));
        var record = (await store.GetImagesAsync(images, Ct))[0];
        Assert.Equal((ImageStatus.Queued, 1), (record.Status, record.Attempts));
    }

    [Fact]
    public async Task BatchLeases_StayBelowTheCap_ExpiredOnesDoNotCount_AndAReleasedOneFreesItsPlace()
    {
        var store = await CreateStoreAsync();
        var pets = await store.EnsureDatasetAsync("pets", Ct);
        await store.SetDatasetBatchCapAsync("pets", 2, Ct);
        var (a, b, c, d) = (Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid(), Guid.NewGuid());

        Assert.True(await store.TryTakeBatchLeaseAsync(a, pets, "w1", LongLease, Ct));
        Assert.True(await store.TryTakeBatchLeaseAsync(b, pets, "w2", LongLease, Ct));
        Assert.False(await store.TryTakeBatchLeaseAsync(c, pets, "w3", LongLease, Ct));
        // The same batch again (a redelivered message) takes its own lease over.
        Assert.True(await store.TryTakeBatchLeaseAsync(b, pets, "w4", LongLease, Ct));
        Assert.False(await store.RenewBatchLeaseAsync(b, "w2", LongLease, Ct));
        Assert.True(await store.RenewBatchLeaseAsync(b, "w4", LongLease, Ct));

        await store.ReleaseBatchLeaseAsync(a, "w1", Ct);
        Assert.True(await store.TryTakeBatchLeaseAsync(c, pets, "w3", LongLease, Ct));

        // A lease whose holder died: renewed to (almost) nothing, it stops counting.
        Assert.True(await store.RenewBatchLeaseAsync(c, "w3", TimeSpan.FromMilliseconds(1), Ct));
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        var taken = false;
        while (!taken && DateTime.UtcNow < deadline)
        {
            taken = await store.TryTakeBatchLeaseAsync(d, pets, "w5", LongLease, Ct);
        }

        Assert.True(taken);
        Assert.Equal(2, (await store.GetDatasetActivityAsync(TimeSpan.FromMinutes(5), Ct)).Single().RunningBatches);
    }

    [Fact]
    public async Task BatchLeases_WithoutACap_AreAlwaysTaken_AndUnknownDatasetsRefused()
    {
        var store = await CreateStoreAsync();
        var pets = await store.EnsureDatasetAsync("pets", Ct);

        for (var i = 0; i < 5; i++)
        {
            Assert.True(await store.TryTakeBatchLeaseAsync(Guid.NewGuid(), pets, "w", LongLease, Ct));
        }

        Assert.False(await store.TryTakeBatchLeaseAsync(Guid.NewGuid(), pets + 1000, "w", LongLease, Ct));
        Assert.Equal(5, (await store.GetDatasetActivityAsync(TimeSpan.FromMinutes(5), Ct)).Single().RunningBatches);
    }

    [Fact]
    public async Task DatasetActivity_CountsImagesLabelledInTheWindow_ForRateAndEta()
    {
        var store = await CreateStoreAsync();
        var (pets, images, model) = await SeedAsync(store, images: 4);
        await store.EnsureDatasetAsync("cars", Ct);
        await store.MarkQueuedAsync(pets, 0, images[2..3], Ct);
        await store.WriteLabelsAsync(model, [new(images[0], [], []), new(images[1], [], [])], Ct);

        var activity = await store.GetDatasetActivityAsync(TimeSpan.FromMinutes(5), Ct);

        Assert.Equal(["cars", "pets"], activity.Select(a => a.Control.Name));
        var cars = activity[0];
        Assert.Equal((0L, 0.0, (TimeSpan?)TimeSpan.Zero), (cars.LabelledInWindow, cars.ImagesPerSecond, cars.Eta));
        var petsActivity = activity[1];
        Assert.Equal((4L, 1L, 1L, 2L), (petsActivity.Progress.Images, petsActivity.Progress.Pending, petsActivity.Progress.Queued, petsActivity.Progress.Labelled));
        Assert.Equal(2, petsActivity.LabelledInWindow);
        Assert.Equal(2 / 300.0, petsActivity.ImagesPerSecond, 9);
        Assert.Equal(TimeSpan.FromSeconds(300), petsActivity.Eta);
    }
}
