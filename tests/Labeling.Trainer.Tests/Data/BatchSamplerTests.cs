using System.Runtime.CompilerServices;
using Labeling.Imaging;
using Labeling.Trainer.Data;

namespace Labeling.Trainer.Tests.Data;

public sealed class BatchSamplerTests
{
    private static readonly string[] Classes = ["cat", "dog", "fox"];

    public BatchSamplerTests() => TorchRuntime.Initialise(threads: 1);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static TrainingSample Fake(string id, SampleKind kind, int value)
    {
        var pixels = new byte[24 * 16 * 3];
        pixels.AsSpan().Fill((byte)(value * 7 % 256));
        IReadOnlyList<TrainingBox> boxes = kind == SampleKind.BoxData ? [new(2, 2, 12, 10, Classes[value % 3]), new(14, 4, 22, 14, "unknown class")] : [];
        return new TrainingSample(id, new DecodedImage(24, 16, 24, 16, "rgb", pixels), boxes, [Classes[(value + 1) % 3]], kind);
    }

    private static async IAsyncEnumerable<TrainingSample> Stream(string prefix, SampleKind kind, int count, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        for (int i = 0; i < count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            await Task.Yield();
            yield return Fake($"{prefix}{i}", kind, i);
        }
    }

    private static BatchSampler Sampler(int boxCount, int tagCount, int seed = 1, int boxWeight = 1, int tagWeight = 4) => new(
        ct => Stream("b", SampleKind.BoxData, boxCount, ct),
        ct => Stream("t", SampleKind.TagOnly, tagCount, ct),
        Classes,
        new BatchSamplerOptions { BatchSize = 3, ShuffleBuffer = 8, Seed = seed, BoxWeight = boxWeight, TagWeight = tagWeight, Augment = new AugmentOptions { InputSize = 32 } });

    private static async Task<List<IReadOnlyList<PreparedSample>>> TakeAsync(BatchSampler sampler, int batches)
    {
        var result = new List<IReadOnlyList<PreparedSample>>();
        await foreach (var batch in sampler.BatchesAsync(batches, Ct))
        {
            result.Add(batch);
        }

        return result;
    }

    [Theory]
    [InlineData(1, 4)]
    [InlineData(1, 1)]
    [InlineData(2, 3)]
    public void KindOfBatch_GivesTheExactRatio_EvenlySpread(int box, int tag)
    {
        var kinds = Enumerable.Range(0, 100 * (box + tag)).Select(i => BatchSampler.KindOfBatch(i, box, tag)).ToList();
        Assert.Equal(100 * box, kinds.Count(k => k == SampleKind.BoxData));
        // Every window of box + tag batches has exactly `box` box batches.
        for (int i = 0; i + box + tag <= kinds.Count; i += box + tag)
        {
            Assert.Equal(box, kinds.Skip(i).Take(box + tag).Count(k => k == SampleKind.BoxData));
        }
    }

    [Fact]
    public async Task Batches_MixKindsAtTheRatio_OneKindPerBatch_CyclingTheStreams()
    {
        var batches = await TakeAsync(Sampler(boxCount: 5, tagCount: 7), 50);
        Assert.Equal(50, batches.Count);
        Assert.All(batches, b => Assert.Equal(3, b.Count));
        Assert.All(batches, b => Assert.Single(b.Select(s => s.Kind).Distinct()));
        Assert.Equal(10, batches.Count(b => b[0].Kind == SampleKind.BoxData));
        Assert.All(batches.Where(b => b[0].Kind == SampleKind.BoxData), b => Assert.All(b, s => Assert.StartsWith("b", s.Id, StringComparison.Ordinal)));
        // Both streams were read more than once (5 and 7 samples, 30 and 120 drawn), every sample seen.
        Assert.Equal(5, batches.SelectMany(b => b).Where(s => s.Kind == SampleKind.BoxData).Select(s => s.Id).Distinct().Count());
        Assert.Equal(7, batches.SelectMany(b => b).Where(s => s.Kind == SampleKind.TagOnly).Select(s => s.Id).Distinct().Count());
    }

    [Fact]
    public async Task Batches_SameSeed_SameBatches_OtherSeedOtherOrder()
    {
        var a = await TakeAsync(Sampler(6, 20, seed: 3), 10);
        var b = await TakeAsync(Sampler(6, 20, seed: 3), 10);
        var c = await TakeAsync(Sampler(6, 20, seed: 4), 10);
        Assert.Equal(a.SelectMany(x => x).Select(s => s.Id), b.SelectMany(x => x).Select(s => s.Id));
        Assert.Equal(a.SelectMany(x => x).SelectMany(s => s.Chw), b.SelectMany(x => x).SelectMany(s => s.Chw));
        Assert.Equal(a.SelectMany(x => x).SelectMany(s => s.Boxes), b.SelectMany(x => x).SelectMany(s => s.Boxes));
        Assert.NotEqual(a.SelectMany(x => x).Select(s => s.Id), c.SelectMany(x => x).Select(s => s.Id));
    }

    [Fact]
    public async Task Batches_WhenOneKindHasNoData_AllBatchesAreOfTheOther()
    {
        var batches = await TakeAsync(Sampler(boxCount: 0, tagCount: 4), 6);
        Assert.Equal(6, batches.Count);
        Assert.All(batches.SelectMany(b => b), s => Assert.Equal(SampleKind.TagOnly, s.Kind));
        Assert.Empty(await TakeAsync(Sampler(0, 0), 3));
    }

    [Fact]
    public async Task ToTensors_ShapesClassIndicesAndMultiHot()
    {
        var sampler = Sampler(5, 5, boxWeight: 1, tagWeight: 0);
        var batch = (await TakeAsync(sampler, 1)).Single();
        using var tensors = sampler.ToTensors(batch);
        Assert.Equal([3L, 3, 32, 32], tensors.Images.shape);
        Assert.Equal(TorchSharp.torch.ScalarType.Float32, tensors.Images.dtype);
        Assert.Equal([3L, 3], tensors.Tags.shape);
        Assert.Equal(batch.Select(s => s.Id), tensors.Ids);
        var multiHot = tensors.Tags.data<float>().ToArray();
        var pixels = tensors.Images.data<float>().ToArray();
        for (int i = 0; i < batch.Count; i++)
        {
            // The box of an unknown class is left out; the known one keeps its index and coordinates.
            var known = batch[i].Boxes.Where(b => b.ClassName != "unknown class").ToList();
            Assert.Equal([known.Count, 4L], tensors.Boxes[i].shape);
            Assert.Equal(known.Select(b => (long)Array.IndexOf(Classes, b.ClassName)), tensors.ClassIndices[i]);
            Assert.Equal(known.SelectMany(b => new[] { b.X1, b.Y1, b.X2, b.Y2 }), tensors.Boxes[i].data<float>().ToArray());
            var expected = Classes.Select(c => known.Any(b => b.ClassName == c) || batch[i].Tags.Contains(c) ? 1f : 0f);
            Assert.Equal(expected, multiHot.Skip(i * 3).Take(3));
            Assert.Equal(batch[i].Chw, pixels.Skip(i * 3 * 32 * 32).Take(3 * 32 * 32));
        }
    }
}
