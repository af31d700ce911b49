namespace Labeling.Functions.Batches;

/// <summary>Options of <see cref="LabelBatchHandler"/> and <see cref="ActiveDetectorProvider"/>. Bound from the <c>LabelBatch</c> configuration section.</summary>
public sealed class LabelBatchOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "LabelBatch";

    /// <summary>Blobs downloaded at once. Default 8.</summary>
    public int DownloadParallelism { get; set; } = 8;

    /// <summary>Images decoded at once. Default: the processor count.</summary>
    public int DecodeParallelism { get; set; } = Environment.ProcessorCount;

    /// <summary>Images per detector run. Default 8.</summary>
    public int ModelBatchSize { get; set; } = 8;

    /// <summary>The lease taken on a message; it is extended every third of this while the batch runs. Default 5 minutes.</summary>
    public TimeSpan VisibilityTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Retries of a storage or database call that failed transiently, before the message is released. Default 3.</summary>
    public int MaxRetryAttempts { get; set; } = 3;

    /// <summary>Delay before the first retry; doubles with each further one (with jitter). Default 200 ms.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// How long a released message stays hidden after its first failed delivery; doubles with each further
    /// delivery, capped at <see cref="VisibilityTimeout"/>. Default 10 seconds.
    /// </summary>
    public TimeSpan ReleaseBaseDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Largest width × height accepted from an image header (decompression-bomb guard). Default 100 000 000.</summary>
    public long MaxPixels { get; set; } = 100_000_000;

    /// <summary>What the tag policy keeps.</summary>
    public TagPolicyOptions TagPolicy { get; set; } = new();

    /// <summary>Local folder the active model file is downloaded to (one file per sha256). Default <c>data/models</c>.</summary>
    public string ModelCacheFolder { get; set; } = Path.Combine("data", "models");

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(DownloadParallelism, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(DecodeParallelism, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(ModelBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxRetryAttempts, 0);
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxPixels, 1);
        if (VisibilityTimeout < TimeSpan.FromSeconds(1) || VisibilityTimeout > Queues.QueueLimits.MaxVisibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(VisibilityTimeout), VisibilityTimeout, "VisibilityTimeout must be between 1 second and 7 days.");
        }

        if (RetryBaseDelay < TimeSpan.Zero || ReleaseBaseDelay < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(RetryBaseDelay), "Delays cannot be negative.");
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(ModelCacheFolder);
        ArgumentNullException.ThrowIfNull(TagPolicy);
        TagPolicy.Validate();
    }
}
