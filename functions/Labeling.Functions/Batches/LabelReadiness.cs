using Labeling.Blobs;
using Labeling.Queues;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Batches;

/// <summary>Why the label workers wait instead of taking batches.</summary>
public enum LabelWaitReason
{
    /// <summary>No model is active.</summary>
    NoModel,

    /// <summary>The active model cannot be used (its file is missing or corrupt, its contract or space is not served) and no earlier one is loaded.</summary>
    ModelUnusable,

    /// <summary>The labels database, the blob store or the label queue does not answer.</summary>
    Outage,
}

/// <summary>Whether this process's label workers take batches, and if not, why and since when.</summary>
/// <param name="Ready">True while the workers take batches.</param>
/// <param name="Reason">Why they wait; null while ready or before the first check.</param>
/// <param name="Detail">A sentence for people: the model in use, or what is wrong.</param>
/// <param name="Since">When this state began.</param>
public sealed record LabelReadinessState(bool Ready, LabelWaitReason? Reason, string Detail, DateTimeOffset Since)
{
    /// <summary>"labelling" or "waiting", for the API and the CLI.</summary>
    public string Name => Ready ? "labelling" : "waiting";
}

/// <summary>
/// The label workers' gate on the state of the system (architecture: "States of the system … pause the workers; they
/// never fail an image"). No active model, an active model that cannot be loaded, and a database, blob store or queue
/// that does not answer are not an image's fault: while one holds, <see cref="LabelWorker"/> takes no message, and a
/// batch that meets one puts its message back without using up a delivery. The gate checks every
/// <see cref="LabelWorkerOptions.StateRecheckDelay"/> until the state clears, and logs one line when it changes.
/// </summary>
public sealed partial class LabelReadiness
{
    private readonly IActiveDetector _detectors;
    private readonly IBlobStore _blobs;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _lock = new();
    private LabelReadinessState _state;
    private bool _checked;

    /// <summary>Creates the gate; it is closed (not checked yet) until the first <see cref="WaitUntilReadyAsync"/>.</summary>
    public LabelReadiness(
        IActiveDetector detectors, IBlobStore blobs, IOptions<LabelWorkerOptions> options, ILogger<LabelReadiness> logger, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(detectors);
        ArgumentNullException.ThrowIfNull(blobs);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        _detectors = detectors;
        _blobs = blobs;
        RecheckDelay = options.Value.StateRecheckDelay;
        _logger = logger;
        _time = timeProvider ?? TimeProvider.System;
        _state = new LabelReadinessState(false, null, "not checked yet", _time.GetUtcNow());
    }

    /// <summary>How long the gate waits between checks while closed; also how long a put-back message stays hidden.</summary>
    public TimeSpan RecheckDelay { get; }

    /// <summary>The current state.</summary>
    public LabelReadinessState State
    {
        get
        {
            lock (_lock)
            {
                return _state;
            }
        }
    }

    /// <summary>
    /// True when <paramref name="exception"/> is a state of the system rather than a fault of the batch: a model that
    /// is missing or cannot be used, or a storage, database or network failure that outlasted the retries.
    /// </summary>
    public static bool IsSystemState(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        return exception is ActiveModelException || TransientErrors.IsTransient(exception);
    }

    /// <summary>A batch met a state of the system: close the gate (the workers stop receiving until a check passes).</summary>
    public void Report(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var (reason, detail) = Classify(exception);
        Close(reason, detail);
    }

    /// <summary>
    /// Returns at once while the gate is open. Otherwise checks the model (database, blob store, loading), the blob store
    /// and <paramref name="queues"/> (the worker's label queues), and again every <see cref="RecheckDelay"/>, until they all answer.
    /// </summary>
    public async Task WaitUntilReadyAsync(IReadOnlyList<IWorkQueue> queues, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queues);
        while (true)
        {
            bool first;
            lock (_lock)
            {
                if (_state.Ready)
                {
                    return;
                }

                first = !_checked;
                _checked = true;
            }

            // The first check runs at once; after a failure (or a batch's report) wait before looking again.
            if (!first)
            {
                await Task.Delay(RecheckDelay, _time, cancellationToken).ConfigureAwait(false);
            }

            var failure = await ProbeAsync(queues, cancellationToken).ConfigureAwait(false);
            if (failure is null)
            {
                return;
            }

            Close(failure.Value.Reason, failure.Value.Detail);
        }
    }

    private async Task<(LabelWaitReason Reason, string Detail)?> ProbeAsync(IReadOnlyList<IWorkQueue> queues, CancellationToken cancellationToken)
    {
        try
        {
            string version;
            using (var lease = await _detectors.AcquireAsync(cancellationToken).ConfigureAwait(false))
            {
                version = lease.Model.Version;
                // The model file may be cached locally: ask the blob store itself, so a storage outage keeps the gate closed.
                _ = await _blobs.GetPropertiesAsync(lease.Model.BlobUri, cancellationToken).ConfigureAwait(false);
            }

            foreach (var queue in queues)
            {
                _ = await queue.GetApproximateCountAsync(cancellationToken).ConfigureAwait(false);
            }

            Open(version);
            return null;
        }
        catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            return Classify(e);
        }
    }

    private static (LabelWaitReason Reason, string Detail) Classify(Exception e) => e switch
    {
        ActiveModelException { NoActiveModel: true } => (LabelWaitReason.NoModel, e.Message),
        ActiveModelException => (LabelWaitReason.ModelUnusable, e.Message),
        _ => (LabelWaitReason.Outage, $"storage does not answer ({e.GetType().Name}: {FirstLine(e.Message)})"),
    };

    private static string FirstLine(string text)
    {
        var end = text.IndexOfAny(['\r', '\n']);
        return end < 0 ? text : text[..end];
    }

    private void Open(string version)
    {
        LabelReadinessState previous;
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            previous = _state;
            if (previous.Ready && previous.Detail == ModelDetail(version))
            {
                return;
            }

            _state = new LabelReadinessState(true, null, ModelDetail(version), now);
        }

        if (previous.Reason is null)
        {
            Log.Ready(_logger, version);
        }
        else
        {
            Log.Resumed(_logger, version, (now - previous.Since).ToString(@"hh\:mm\:ss", System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    private void Close(LabelWaitReason reason, string detail)
    {
        var now = _time.GetUtcNow();
        lock (_lock)
        {
            if (!_state.Ready && _state.Reason == reason && _state.Detail == detail)
            {
                return;
            }

            _state = new LabelReadinessState(false, reason, detail, now);
        }

        if (reason == LabelWaitReason.Outage)
        {
            Log.WaitingForOutage(_logger, detail, RecheckDelay);
        }
        else
        {
            Log.Waiting(_logger, detail, RecheckDelay);
        }
    }

    private static string ModelDetail(string version) => $"labelling with model {version}";

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Labelling waits, no batch is taken until this clears (checked every {Delay}): {Detail}")]
        public static partial void Waiting(ILogger logger, string detail, TimeSpan delay);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Labelling waits, no batch is taken until this clears (checked every {Delay}): {Detail}")]
        public static partial void WaitingForOutage(ILogger logger, string detail, TimeSpan delay);

        [LoggerMessage(Level = LogLevel.Information, Message = "Labelling with model {Version}.")]
        public static partial void Ready(ILogger logger, string version);

        [LoggerMessage(Level = LogLevel.Information, Message = "Labelling resumes with model {Version} after waiting {Waited}.")]
        public static partial void Resumed(ILogger logger, string version, string waited);
    }
}
