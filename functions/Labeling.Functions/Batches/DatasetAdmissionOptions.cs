namespace Labeling.Functions.Batches;

/// <summary>Options of <see cref="DatasetAdmission"/>, bound from the <c>DatasetAdmission</c> configuration section.</summary>
public sealed class DatasetAdmissionOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "DatasetAdmission";

    /// <summary>How long a batch of a paused dataset is put back for before a worker looks again. Default 30 seconds.</summary>
    public TimeSpan PausedRecheckDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long a batch of a dataset at its cap of concurrent batches is put back for. Default 5 seconds.</summary>
    public TimeSpan CapRecheckDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a batch's lease (its place under the dataset's cap) lasts without renewal; it is renewed every third of
    /// this while the batch runs, so a worker that dies frees its place after at most this long. Default 2 minutes.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(2);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (PausedRecheckDelay <= TimeSpan.Zero || PausedRecheckDelay > Queues.QueueLimits.MaxVisibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(PausedRecheckDelay), PausedRecheckDelay, "DatasetAdmission:PausedRecheckDelay must be above 0 and at most 7 days.");
        }

        if (CapRecheckDelay <= TimeSpan.Zero || CapRecheckDelay > Queues.QueueLimits.MaxVisibilityTimeout)
        {
            throw new ArgumentOutOfRangeException(nameof(CapRecheckDelay), CapRecheckDelay, "DatasetAdmission:CapRecheckDelay must be above 0 and at most 7 days.");
        }

        if (LeaseDuration < TimeSpan.FromSeconds(3))
        {
            throw new ArgumentOutOfRangeException(nameof(LeaseDuration), LeaseDuration, "DatasetAdmission:LeaseDuration must be at least 3 seconds.");
        }
    }
}
