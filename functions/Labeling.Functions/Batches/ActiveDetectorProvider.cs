using System.Globalization;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Labels;
using Labeling.Vocabulary;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Batches;

/// <summary>
/// Serves the active model (<see cref="ILabelStore.GetActiveModelAsync"/>): its file is downloaded from
/// the blob store (<see cref="ModelRecord.BlobUri"/> is the blob name, e.g. <c>models/v1.onnx</c>) into
/// <see cref="LabelBatchOptions.ModelCacheFolder"/> as <c>{sha256}.onnx</c> (refused over
/// <see cref="DetectorOptions.MaxModelBytes"/>), read once, checked against <see cref="ModelRecord.Sha256"/>, and those
/// bytes checked and loaded with <see cref="OnnxDetector.Load(byte[], string, DetectorOptions, Microsoft.Extensions.Logging.ILogger?)"/>. The detector is
/// kept per model; when another model becomes active the next <see cref="AcquireAsync"/> loads it and
/// swaps it in, and the old detector is disposed when its last lease is.
/// </summary>
public sealed partial class ActiveDetectorProvider : IActiveDetector, IDisposable
{
    private readonly ILabelStore _store;
    private readonly IBlobStore _blobs;
    private readonly LabelBatchOptions _options;
    private readonly DetectorOptions _detectorOptions;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _loadGate = new(1, 1);
    private Loaded? _current;
    private bool _disposed;

    /// <summary>Creates the provider.</summary>
    public ActiveDetectorProvider(
        ILabelStore store, IBlobStore blobs, IOptions<LabelBatchOptions> options, IOptions<DetectorOptions> detectorOptions, ILogger<ActiveDetectorProvider> logger)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(detectorOptions);
        ArgumentNullException.ThrowIfNull(logger);
        _store = store;
        _blobs = blobs;
        _options = options.Value;
        _detectorOptions = detectorOptions.Value;
        _logger = logger;
    }

    /// <inheritdoc />
    public async Task<ActiveModelLease> AcquireAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        var record = await _store.GetActiveModelAsync(cancellationToken)
            ?? throw new ActiveModelException("No model is active: register a model and activate it (`labeling models add FILE --version V --activate`) before labelling.") { NoActiveModel = true };
        if (TryLease(Volatile.Read(ref _current), record) is { } fast)
        {
            return fast;
        }

        // The active model failed to load a moment ago: keep serving the previous one without hammering the blob store.
        if (LastLoadFailure is { } failed && failed.Version == record.Version && DateTimeOffset.UtcNow - failed.At < RetryLoadAfter
            && Volatile.Read(ref _current) is { } kept && TryLease(kept, kept.Model) is { } previousLease)
        {
            return previousLease;
        }

        await _loadGate.WaitAsync(cancellationToken);
        try
        {
            if (TryLease(_current, record) is { } lease)
            {
                return lease;
            }

            Loaded loaded;
            try
            {
                loaded = await LoadAsync(record, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException && _current is not null)
            {
                // A model that cannot be loaded must not stop labelling: keep the one that works, say so, and
                // try the new one again only once it changes (another activation) or the retry interval passes.
                var failure = new ModelLoadFailure(record.Version, e.Message, DateTimeOffset.UtcNow);
                if (LastLoadFailure?.Version != record.Version)
                {
                    Log.KeptPrevious(_logger, record.Version, _current.Model.Version, e.Message);
                }

                LastLoadFailure = failure;
                return TryLease(_current, _current.Model) ?? throw new InvalidOperationException("The previous detector could not be leased.", e);
            }

            LastLoadFailure = null;
            var previous = Interlocked.Exchange(ref _current, loaded);
            previous?.Release(); // the provider's own reference: disposed once batches using it are done
            Log.Swapped(_logger, previous?.Model.Version, record.Version);
            return TryLease(loaded, record) ?? throw new InvalidOperationException("A freshly loaded detector could not be leased.");
        }
        finally
        {
            _loadGate.Release();
        }
    }

    /// <summary>How long a model that failed to load is not tried again (while the previous one keeps serving).</summary>
    public TimeSpan RetryLoadAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The active model that could not be loaded while an earlier one kept labelling (null when the active model is
    /// the one in use): what a worker reports instead of failing its batches.
    /// </summary>
    public ModelLoadFailure? LastLoadFailure { get; private set; }

    /// <inheritdoc />
    public ActiveDetectorState State => new(Volatile.Read(ref _current)?.Model.Version, LastLoadFailure);

    /// <summary>Releases the current detector (disposed once no lease holds it).</summary>
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        Interlocked.Exchange(ref _current, null)?.Release();
        _loadGate.Dispose();
    }

    private static ActiveModelLease? TryLease(Loaded? loaded, ModelRecord record) =>
        loaded is not null && loaded.Model.Id == record.Id && loaded.TryAddReference()
            ? new ActiveModelLease(loaded.Detector, loaded.Model, loaded.Encoder, loaded.Release)
            : null;

    private async Task<Loaded> LoadAsync(ModelRecord record, CancellationToken cancellationToken)
    {
        if (!Sha256Hex().IsMatch(record.Sha256))
        {
            throw new ActiveModelException($"Model {record.Version}: the registered sha256 '{record.Sha256}' is not 64 hex digits.");
        }

        if (record.Contract != DetectorInfo.RegionEmbeddingContract)
        {
            throw new ActiveModelException($"Model {record.Version} follows '{record.Contract}'; label batches are served by {DetectorInfo.RegionEmbeddingContract} models only for now.");
        }

        var model = await ReadVerifiedAsync(record, cancellationToken);
        OnnxDetector detector;
        try
        {
            // Loaded from the bytes whose hash was just checked, under the blob's name: the cached file is not opened again.
            detector = OnnxDetector.Load(model, record.BlobUri, _detectorOptions, _logger);
        }
        catch (DetectorContractException e)
        {
            throw new ActiveModelException($"Model {record.Version} ('{record.BlobUri}') cannot be loaded: {e.Message}", e);
        }

        try
        {
            var space = detector.Info.EmbeddingSpace ?? "";
            if (record.EmbeddingSpace is { } registered && registered != space)
            {
                throw new ActiveModelException($"Model {record.Version} is registered in embedding space '{registered}' but its file declares '{space}'.");
            }

            return new Loaded(detector, record, CreateEncoder(space));
        }
        catch
        {
            detector.Dispose();
            throw;
        }
    }

    /// <summary>The text encoder of an embedding space: <c>hashbow-D</c> for now.</summary>
    /// <exception cref="ActiveModelException">No encoder serves <paramref name="space"/>.</exception>
    public static ITextEncoder CreateEncoder(string space)
    {
        ArgumentNullException.ThrowIfNull(space);
        if (HashBowEncoder.TryForSpace(space, out var encoder))
        {
            return new CachingTextEncoder(encoder);
        }

        throw new ActiveModelException($"No text encoder for embedding space '{space}': label batches support hashbow-D spaces only for now.");
    }

    /// <summary>The model file's bytes, from the cache or downloaded into it, with the registered sha256; read once, within <see cref="DetectorOptions.MaxModelBytes"/>.</summary>
    private async Task<byte[]> ReadVerifiedAsync(ModelRecord record, CancellationToken cancellationToken)
    {
        var expected = record.Sha256.ToLowerInvariant();
        var folder = Path.GetFullPath(_options.ModelCacheFolder);
        Directory.CreateDirectory(folder);
        var path = Path.Combine(folder, expected + ".onnx");
        if (File.Exists(path))
        {
            var cached = await ReadAsync(record, path, cancellationToken);
            if (Convert.ToHexStringLower(SHA256.HashData(cached)) == expected)
            {
                return cached;
            }

            Log.CacheCorrupt(_logger, path);
        }

        await DownloadAsync(record, expected, folder, path, cancellationToken);
        var model = await ReadAsync(record, path, cancellationToken);
        if (Convert.ToHexStringLower(SHA256.HashData(model)) != expected)
        {
            throw new ActiveModelException($"Model {record.Version}: the cached copy '{path}' changed after it was downloaded; refusing to load it.");
        }

        return model;
    }

    private async Task<byte[]> ReadAsync(ModelRecord record, string path, CancellationToken cancellationToken)
    {
        try
        {
            return await ModelFileReader.ReadAsync(path, _detectorOptions.MaxModelBytes, cancellationToken);
        }
        catch (Labeling.Onnx.OnnxModelRefusedException e)
        {
            throw Refused(record, e);
        }
    }

    private static ActiveModelException Refused(ModelRecord record, Labeling.Onnx.OnnxModelRefusedException e) =>
        new($"Model {record.Version} ('{record.BlobUri}') cannot be loaded: {e.Message}", e);

    private async Task DownloadAsync(ModelRecord record, string expected, string folder, string path, CancellationToken cancellationToken)
    {
        var limit = _detectorOptions.MaxModelBytes;
        var staging = Path.Combine(folder, $".{expected}.{Guid.NewGuid():N}.tmp");
        try
        {
            string actual;
            Stream source;
            try
            {
                // Refused from the blob's size before a byte is downloaded, and cut off at the limit while downloading.
                if (await _blobs.GetPropertiesAsync(record.BlobUri, cancellationToken) is { } properties && properties.Size > limit)
                {
                    throw Refused(record, ModelFileReader.TooLarge(record.BlobUri, properties.Size, limit));
                }

                source = await _blobs.OpenReadAsync(record.BlobUri, cancellationToken);
            }
            catch (BlobNotFoundException e)
            {
                throw new ActiveModelException($"Model {record.Version}: its file '{record.BlobUri}' is not in blob container '{_blobs.Container}'.", e);
            }
            catch (InvalidBlobNameException e)
            {
                throw new ActiveModelException($"Model {record.Version}: '{record.BlobUri}' is not a valid blob name.", e);
            }

            await using (source)
            await using (var file = new FileStream(staging, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
            {
                using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
                var buffer = new byte[1 << 16];
                long total = 0;
                int read;
                while ((read = await source.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    total += read;
                    if (total > limit)
                    {
                        throw Refused(record, ModelFileReader.TooLarge(record.BlobUri, total, limit));
                    }

                    hash.AppendData(buffer, 0, read);
                    await file.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }

                actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            }

            if (actual != expected)
            {
                throw new ActiveModelException(
                    $"Model {record.Version}: the file '{record.BlobUri}' has sha256 {actual} but the registry says {expected}; refusing to load it.");
            }

            File.Move(staging, path, overwrite: true);
            Log.Downloaded(_logger, record.Version, record.BlobUri, path);
        }
        finally
        {
            File.Delete(staging);
        }
    }

    [GeneratedRegex("^[0-9a-fA-F]{64}$")]
    private static partial Regex Sha256Hex();

    // A loaded detector and its reference count: one for the provider while it is current, one per lease.
    private sealed class Loaded(OnnxDetector detector, ModelRecord model, ITextEncoder encoder)
    {
        private int _references = 1;

        public OnnxDetector Detector { get; } = detector;

        public ModelRecord Model { get; } = model;

        public ITextEncoder Encoder { get; } = encoder;

        public bool TryAddReference()
        {
            while (true)
            {
                var current = Volatile.Read(ref _references);
                if (current == 0)
                {
                    return false;
                }

                if (Interlocked.CompareExchange(ref _references, current + 1, current) == current)
                {
                    return true;
                }
            }
        }

        public void Release()
        {
            if (Interlocked.Decrement(ref _references) == 0)
            {
                Detector.Dispose();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Active model is now {Version} (was {Previous}).")]
        public static partial void Swapped(ILogger logger, string? previous, string version);

        [LoggerMessage(Level = LogLevel.Information, Message = "Downloaded model {Version} from '{BlobName}' to '{Path}' (sha256 verified).")]
        public static partial void Downloaded(ILogger logger, string version, string blobName, string path);

        [LoggerMessage(Level = LogLevel.Error, Message = "Active model {Version} cannot be loaded, so this worker keeps labelling with {Kept}: {Reason}")]
        public static partial void KeptPrevious(ILogger logger, string version, string kept, string reason);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Cached model file '{Path}' does not match its sha256; downloading it again.")]
        public static partial void CacheCorrupt(ILogger logger, string path);
    }
}

/// <summary>An active model a worker could not load (it kept the previous one): which, why, when.</summary>
public sealed record ModelLoadFailure(string Version, string Reason, DateTimeOffset At);
