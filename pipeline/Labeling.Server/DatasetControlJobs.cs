using Hangfire;
using Labeling.Functions.Control;
using Labeling.Labels;

namespace Labeling.Server;

/// <summary>
/// The dashboard's Datasets page queues these (so every pause, resume, cancel, priority and cap change is kept in the
/// job history with its result). Thin: each calls <see cref="DatasetControl"/>, takes the dataset's name, is idempotent
/// and is not retried automatically (a failed one says why). An unknown dataset fails the job.
/// </summary>
public sealed class DatasetControlJobs(DatasetControl control)
{
    [JobDisplayName("Pause labelling of dataset {0}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> PauseAsync(string dataset, CancellationToken cancellationToken) =>
        Known(dataset, await control.PauseAsync(dataset, cancellationToken));

    [JobDisplayName("Resume labelling of dataset {0}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    public async Task<string> ResumeAsync(string dataset, CancellationToken cancellationToken) =>
        Known(dataset, await control.ResumeAsync(dataset, cancellationToken));

    [JobDisplayName("Cancel the queued labelling of dataset {0}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> CancelAsync(string dataset, CancellationToken cancellationToken) =>
        Known(dataset, await control.CancelAsync(dataset, cancellationToken));

    [JobDisplayName("Set the priority of dataset {0} to {1}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 600)]
    public async Task<string> SetPriorityAsync(string dataset, DatasetPriority priority, CancellationToken cancellationToken) =>
        Known(dataset, await control.SetPriorityAsync(dataset, priority, cancellationToken));

    [JobDisplayName("Set the batch cap of dataset {0} to {1}")]
    [AutomaticRetry(Attempts = 0)]
    [DisableConcurrentExecution(timeoutInSeconds: 60)]
    public async Task<string> SetBatchCapAsync(string dataset, int? maxConcurrentBatches, CancellationToken cancellationToken) =>
        Known(dataset, await control.SetBatchCapAsync(dataset, maxConcurrentBatches, cancellationToken));

    private static string Known(string dataset, DatasetControlResult? result) =>
        result?.Summary ?? throw new InvalidOperationException($"No dataset '{dataset}'. Nothing changed.");
}
