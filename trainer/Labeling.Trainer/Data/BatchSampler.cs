using System.Runtime.CompilerServices;
using TorchSharp;
using static TorchSharp.torch;

namespace Labeling.Trainer.Data;

/// <summary>Options of <see cref="BatchSampler"/>.</summary>
public sealed record BatchSamplerOptions
{
    /// <summary>Samples per batch (default 8).</summary>
    public int BatchSize { get; init; } = 8;

    /// <summary>Box-data share of the batches (default 1 of 1 + 4: Detic's det:cls 1:4).</summary>
    public int BoxWeight { get; init; } = 1;

    /// <summary>Tag-only share of the batches (default 4).</summary>
    public int TagWeight { get; init; } = 4;

    /// <summary>Samples held per stream for shuffling (default 64; decoded images, so memory grows with it).</summary>
    public int ShuffleBuffer { get; init; } = 64;

    /// <summary>Seed of the shuffles and the augmentation: the same seed and sources give the same batches.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>The augmentation applied to every sample.</summary>
    public AugmentOptions Augment { get; init; } = new();
}

/// <summary>
/// A batch as tensors: <see cref="Images"/> [B, 3, S, S] float32; per image its boxes [Nᵢ, 4] float32
/// (x1, y1, x2, y2 in input pixels) and their class indices into the label space; <see cref="Tags"/> a
/// multi-hot [B, C] float32 of the image-level labels (for box data: its box classes and tags).
/// Names outside the label space are left out.
/// </summary>
public sealed class TensorBatch : IDisposable
{
    internal TensorBatch(Tensor images, IReadOnlyList<Tensor> boxes, IReadOnlyList<long[]> classIndices, Tensor tags, IReadOnlyList<SampleKind> kinds, IReadOnlyList<string> ids)
    {
        Images = images;
        Boxes = boxes;
        ClassIndices = classIndices;
        Tags = tags;
        Kinds = kinds;
        Ids = ids;
    }

    /// <summary>[B, 3, S, S] float32, normalised.</summary>
    public Tensor Images { get; }

    /// <summary>Per image, [Nᵢ, 4] float32 boxes in input pixels ([0, 4] when none).</summary>
    public IReadOnlyList<Tensor> Boxes { get; }

    /// <summary>Per image, the class index of each box.</summary>
    public IReadOnlyList<long[]> ClassIndices { get; }

    /// <summary>[B, C] float32 multi-hot image labels.</summary>
    public Tensor Tags { get; }

    /// <summary>Per image, box data or tag only.</summary>
    public IReadOnlyList<SampleKind> Kinds { get; }

    /// <summary>Per image, the sample's id.</summary>
    public IReadOnlyList<string> Ids { get; }

    public void Dispose()
    {
        Images.Dispose();
        Tags.Dispose();
        foreach (var box in Boxes)
        {
            box.Dispose();
        }
    }
}

/// <summary>
/// Mixes box data and tag-only data into batches the way Detic samples detection and classification
/// data: each batch is of one kind, box batches and tag batches alternate at exactly
/// <see cref="BatchSamplerOptions.BoxWeight"/> : <see cref="BatchSamplerOptions.TagWeight"/> (default 1:4;
/// when one kind has no data, every batch is of the other). Each stream is read through a seeded
/// shuffle buffer and starts again at its end (an epoch per stream), then augmented and letterboxed.
/// </summary>
public sealed class BatchSampler
{
    private readonly Func<CancellationToken, IAsyncEnumerable<TrainingSample>> _boxStream;
    private readonly Func<CancellationToken, IAsyncEnumerable<TrainingSample>> _tagStream;
    private readonly Dictionary<string, int> _classIndex;

    /// <summary>Samples a source: its box data and its tag-only data, in its label space.</summary>
    public BatchSampler(ITrainingSource source, BatchSamplerOptions? options = null)
        : this(ct => source.ReadAsync(SampleKind.BoxData, ct), ct => source.ReadAsync(SampleKind.TagOnly, ct), source.ClassNames, options)
    {
    }

    /// <summary>Samples two restartable streams (each call starts from the beginning) in the label space <paramref name="classNames"/>.</summary>
    public BatchSampler(
        Func<CancellationToken, IAsyncEnumerable<TrainingSample>> boxStream,
        Func<CancellationToken, IAsyncEnumerable<TrainingSample>> tagStream,
        IReadOnlyList<string> classNames,
        BatchSamplerOptions? options = null)
    {
        _boxStream = boxStream ?? throw new ArgumentNullException(nameof(boxStream));
        _tagStream = tagStream ?? throw new ArgumentNullException(nameof(tagStream));
        ArgumentNullException.ThrowIfNull(classNames);
        Options = options ?? new BatchSamplerOptions();
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.BatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfNegative(Options.BoxWeight);
        ArgumentOutOfRangeException.ThrowIfNegative(Options.TagWeight);
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.BoxWeight + Options.TagWeight, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(Options.ShuffleBuffer, 1);
        ClassNames = classNames;
        _classIndex = classNames.Select((name, i) => (name, i)).ToDictionary(p => p.name, p => p.i, StringComparer.Ordinal);
        Augmentation = new Augment(Options.Augment);
    }

    /// <summary>The options.</summary>
    public BatchSamplerOptions Options { get; }

    /// <summary>The label space class indices refer to.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>The augmentation applied to every sample.</summary>
    public Augment Augmentation { get; }

    /// <summary>The kind of batch number <paramref name="index"/> (from 0) for the weights box : tag: exactly box/(box+tag) of every run of batches, evenly spread.</summary>
    public static SampleKind KindOfBatch(long index, int boxWeight, int tagWeight)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(index);
        int total = boxWeight + tagWeight;
        return ((index + 1) * boxWeight / total) > (index * boxWeight / total) ? SampleKind.BoxData : SampleKind.TagOnly;
    }

    /// <summary>
    /// Up to <paramref name="batchCount"/> batches (fewer only when both streams are empty). The same
    /// seed and the same streams give the same batches, bit for bit.
    /// </summary>
    public async IAsyncEnumerable<IReadOnlyList<PreparedSample>> BatchesAsync(long batchCount, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(batchCount);
        var boxes = new ShuffledCycle(_boxStream, Options.ShuffleBuffer, new Random(unchecked((Options.Seed * 31) + 1)));
        var tags = new ShuffledCycle(_tagStream, Options.ShuffleBuffer, new Random(unchecked((Options.Seed * 31) + 2)));
        var augmentRng = new Random(unchecked((Options.Seed * 31) + 3));
        try
        {
            long scheduled = 0;
            for (long produced = 0; produced < batchCount; scheduled++)
            {
                var wanted = Options.TagWeight == 0 ? SampleKind.BoxData
                    : Options.BoxWeight == 0 ? SampleKind.TagOnly
                    : KindOfBatch(scheduled, Options.BoxWeight, Options.TagWeight);
                var stream = wanted == SampleKind.BoxData ? boxes : tags;
                if (stream.Empty)
                {
                    stream = stream == boxes ? tags : boxes;
                }

                var batch = new List<PreparedSample>(Options.BatchSize);
                while (batch.Count < Options.BatchSize)
                {
                    var sample = await stream.NextAsync(cancellationToken).ConfigureAwait(false);
                    if (sample is null)
                    {
                        break;
                    }

                    batch.Add(Augmentation.Apply(sample, augmentRng));
                }

                if (batch.Count > 0)
                {
                    produced++;
                    yield return batch;
                }
                else if (boxes.Empty && tags.Empty)
                {
                    yield break;
                }
            }
        }
        finally
        {
            await boxes.DisposeAsync().ConfigureAwait(false);
            await tags.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The batch as tensors on <paramref name="device"/> (default CPU). All samples must have the same input size.</summary>
    public TensorBatch ToTensors(IReadOnlyList<PreparedSample> batch, Device? device = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        if (batch.Count == 0)
        {
            throw new ArgumentException("The batch is empty.", nameof(batch));
        }

        int size = batch[0].InputSize, plane = 3 * size * size, classes = ClassNames.Count;
        if (batch.Any(s => s.InputSize != size || s.Chw.Length != plane))
        {
            throw new ArgumentException("Every sample of a batch needs the same input size.", nameof(batch));
        }

        var pixels = new float[(long)batch.Count * plane];
        var multiHot = new float[batch.Count * classes];
        var boxes = new List<Tensor>(batch.Count);
        var indices = new List<long[]>(batch.Count);
        for (int b = 0; b < batch.Count; b++)
        {
            var sample = batch[b];
            sample.Chw.CopyTo(pixels, (long)b * plane);
            var kept = sample.Boxes.Where(x => _classIndex.ContainsKey(x.ClassName)).ToList();
            var coordinates = new float[kept.Count * 4];
            var classIndex = new long[kept.Count];
            for (int k = 0; k < kept.Count; k++)
            {
                (coordinates[4 * k], coordinates[(4 * k) + 1], coordinates[(4 * k) + 2], coordinates[(4 * k) + 3]) = (kept[k].X1, kept[k].Y1, kept[k].X2, kept[k].Y2);
                classIndex[k] = _classIndex[kept[k].ClassName];
                multiHot[(b * classes) + classIndex[k]] = 1f;
            }

            foreach (var tag in sample.Tags)
            {
                if (_classIndex.TryGetValue(tag, out var c))
                {
                    multiHot[(b * classes) + c] = 1f;
                }
            }

            boxes.Add(ToDevice(torch.tensor(coordinates, [kept.Count, 4]), device));
            indices.Add(classIndex);
        }

        return new TensorBatch(
            ToDevice(torch.tensor(pixels, [batch.Count, 3, size, size]), device),
            boxes,
            indices,
            ToDevice(torch.tensor(multiHot, [batch.Count, classes]), device),
            [.. batch.Select(s => s.Kind)],
            [.. batch.Select(s => s.Id)]);
    }

    private static Tensor ToDevice(Tensor tensor, Device? device)
    {
        if (device is null || device.type == DeviceType.CPU)
        {
            return tensor;
        }

        var moved = tensor.to(device);
        tensor.Dispose();
        return moved;
    }

    /// <summary>A restartable stream read through a seeded shuffle buffer, starting again at its end.</summary>
    private sealed class ShuffledCycle(Func<CancellationToken, IAsyncEnumerable<TrainingSample>> factory, int capacity, Random rng) : IAsyncDisposable
    {
        private readonly List<TrainingSample> _buffer = new(capacity);
        private IAsyncEnumerator<TrainingSample>? _enumerator;
        private long _readThisPass;

        /// <summary>The stream yielded nothing in a whole pass: it never will.</summary>
        public bool Empty { get; private set; }

        public async ValueTask<TrainingSample?> NextAsync(CancellationToken cancellationToken)
        {
            while (!Empty && _buffer.Count < capacity)
            {
                var next = await PullAsync(cancellationToken).ConfigureAwait(false);
                if (next is null)
                {
                    break;
                }

                _buffer.Add(next);
            }

            if (_buffer.Count == 0)
            {
                return null;
            }

            int i = rng.Next(_buffer.Count);
            var item = _buffer[i];
            _buffer[i] = _buffer[^1];
            _buffer.RemoveAt(_buffer.Count - 1);
            return item;
        }

        private async ValueTask<TrainingSample?> PullAsync(CancellationToken cancellationToken)
        {
            for (int attempt = 0; attempt < 2; attempt++)
            {
                _enumerator ??= factory(cancellationToken).GetAsyncEnumerator(cancellationToken);
                if (await _enumerator.MoveNextAsync().ConfigureAwait(false))
                {
                    _readThisPass++;
                    return _enumerator.Current;
                }

                await _enumerator.DisposeAsync().ConfigureAwait(false);
                _enumerator = null;
                if (_readThisPass == 0)
                {
                    Empty = true;
                    return null;
                }

                // End of a pass: start the next one.
                _readThisPass = 0;
            }

            return null;
        }

        public async ValueTask DisposeAsync()
        {
            if (_enumerator is not null)
            {
                await _enumerator.DisposeAsync().ConfigureAwait(false);
                _enumerator = null;
            }
        }
    }
}
