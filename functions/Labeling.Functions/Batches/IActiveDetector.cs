using Labeling.Detection;
using Labeling.Labels;
using Labeling.Vocabulary;

namespace Labeling.Functions.Batches;

/// <summary>The detector of the active model, for one batch at a time.</summary>
public interface IActiveDetector
{
    /// <summary>
    /// A lease on the detector of the model that is active now (loading it on first use or after a
    /// promotion). Dispose the lease when the batch is done: a detector replaced by a newer active
    /// model is disposed once its last lease is.
    /// </summary>
    /// <exception cref="ActiveModelException">No model is active, its file is corrupt, or it cannot be served.</exception>
    Task<ActiveModelLease> AcquireAsync(CancellationToken cancellationToken);

    /// <summary>What this process labels with now, and the active model it could not load (what a worker reports).</summary>
    ActiveDetectorState State { get; }
}

/// <summary>The model whose detector batches get, and the active model that could not be loaded.</summary>
/// <param name="InUse">The version batches are labelled with now; null before the first batch.</param>
/// <param name="LoadFailure">The active model that failed to load while <paramref name="InUse"/> kept labelling; null when none.</param>
public sealed record ActiveDetectorState(string? InUse, ModelLoadFailure? LoadFailure);

/// <summary>The active model's detector, registry record and text encoder, held for one batch.</summary>
public sealed class ActiveModelLease : IDisposable
{
    private readonly Action? _release;
    private int _disposed;

    /// <summary>Creates a lease; <paramref name="release"/> runs once, on the first <see cref="Dispose"/>.</summary>
    public ActiveModelLease(IDetector detector, ModelRecord model, ITextEncoder? encoder, Action? release)
    {
        ArgumentNullException.ThrowIfNull(detector);
        ArgumentNullException.ThrowIfNull(model);
        Detector = detector;
        Model = model;
        Encoder = encoder;
        _release = release;
    }

    /// <summary>The loaded detector.</summary>
    public IDetector Detector { get; }

    /// <summary>The model's registry record (its id is what boxes are stored under).</summary>
    public ModelRecord Model { get; }

    /// <summary>Encoder of the model's embedding space (region-embedding models); class embeddings are cached.</summary>
    public ITextEncoder? Encoder { get; }

    /// <inheritdoc />
    public void Dispose()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 0)
        {
            _release?.Invoke();
        }
    }
}

/// <summary>The active model cannot be used: none is active, its file does not match its registry entry, or nothing here can serve it.</summary>
public sealed class ActiveModelException(string message, Exception? inner = null) : Exception(message, inner)
{
    /// <summary>True when no model is active at all (rather than an active model that cannot be used).</summary>
    public bool NoActiveModel { get; init; }
}
