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
}
