namespace Labeling.Labels;

/// <summary>Whether the workers label a dataset's batches.</summary>
public enum DatasetState
{
    /// <summary>Its batches are queued and labelled.</summary>
    Active,

    /// <summary>Its batches in flight finish; its queued messages wait (workers defer them) and the scan queues none of its images.</summary>
    Paused,
}

/// <summary>Which label queue a dataset's batches go to: workers take a high one's batches before a normal one's, a low one's last.</summary>
public enum DatasetPriority
{
    /// <summary>The <c>label-high</c> queue.</summary>
    High,

    /// <summary>The <c>label</c> queue (the default).</summary>
    Normal,

    /// <summary>The <c>label-low</c> queue.</summary>
    Low,
}

/// <summary>The control settings of one dataset.</summary>
/// <param name="Id">The dataset's row id.</param>
/// <param name="Name">Its name (the inbox folder).</param>
/// <param name="State">Active or paused.</param>
/// <param name="Priority">Its label queue.</param>
/// <param name="MaxConcurrentBatches">Most batches of it that workers run at once; null: no cap.</param>
/// <param name="Generation">
/// Bumped by a cancel or a priority change; a label message carries the generation it was queued under and workers drop
/// messages of an older one.
/// </param>
public sealed record DatasetControlRecord(long Id, string Name, DatasetState State, DatasetPriority Priority, int? MaxConcurrentBatches, long Generation);

/// <summary>What a withdrawal (<see cref="ILabelStore.WithdrawQueuedAsync"/>) did.</summary>
/// <param name="Dataset">The dataset's settings after it.</param>
/// <param name="ImagesReturned">How many of its queued images went back to pending.</param>
public sealed record DatasetWithdrawal(DatasetControlRecord Dataset, int ImagesReturned);

/// <summary>A dataset's settings, counts and recent rate, as the dashboard, the API and <c>labeling status</c> show them.</summary>
/// <param name="Control">Its control settings.</param>
/// <param name="Progress">Its image counts.</param>
/// <param name="RunningBatches">Batches of it that workers hold a live lease on now.</param>
/// <param name="LabelledInWindow">Images of it labelled within the last <paramref name="Window"/>.</param>
/// <param name="Window">The window the rate is measured over.</param>
public sealed record DatasetActivity(DatasetControlRecord Control, DatasetProgress Progress, int RunningBatches, long LabelledInWindow, TimeSpan Window)
{
    /// <summary>Images labelled a second, over the window.</summary>
    public double ImagesPerSecond => Window > TimeSpan.Zero ? LabelledInWindow / Window.TotalSeconds : 0;

    /// <summary>Images still to label: pending and queued.</summary>
    public long Remaining => Progress.Pending + Progress.Queued;

    /// <summary>Time to label the remaining images at the current rate: zero when none remain, null (unknown) when the rate is 0.</summary>
    public TimeSpan? Eta => Remaining == 0 ? TimeSpan.Zero : ImagesPerSecond > 0 ? TimeSpan.FromSeconds(Math.Ceiling(Remaining / ImagesPerSecond)) : null;
}

/// <summary>Text forms of the control values, as stored, typed on the command line and shown.</summary>
public static class DatasetControlText
{
    /// <summary>"active" or "paused".</summary>
    public static string ToText(this DatasetState state) => state == DatasetState.Paused ? "paused" : "active";

    /// <summary>"high", "normal" or "low".</summary>
    public static string ToText(this DatasetPriority priority) => priority switch
    {
        DatasetPriority.High => "high",
        DatasetPriority.Low => "low",
        _ => "normal",
    };

    /// <summary>Parses "high", "normal" or "low" (any case); false otherwise.</summary>
    public static bool TryParsePriority(string? text, out DatasetPriority priority)
    {
        switch (text?.Trim().ToLowerInvariant())
        {
            case "high":
                priority = DatasetPriority.High;
                return true;
            case "normal":
                priority = DatasetPriority.Normal;
                return true;
            case "low":
                priority = DatasetPriority.Low;
                return true;
            default:
                priority = DatasetPriority.Normal;
                return false;
        }
    }

    /// <summary>Parses a batch cap: "none" (no cap: null) or a positive number; false otherwise.</summary>
    public static bool TryParseBatchCap(string? text, out int? cap)
    {
        cap = null;
        if (string.Equals(text?.Trim(), "none", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }

        if (int.TryParse(text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var n) && n >= 1)
        {
            cap = n;
            return true;
        }

        return false;
    }

    /// <summary>An ETA as people read it: "3h 04m", "12m 05s", "40s", "—" when unknown.</summary>
    public static string FormatEta(TimeSpan? eta) => eta switch
    {
        null => "unknown",
        { TotalHours: >= 1 } e => $"{(long)e.TotalHours}h {e.Minutes:00}m",
        { TotalMinutes: >= 1 } e => $"{e.Minutes}m {e.Seconds:00}s",
        { } e => $"{(long)e.TotalSeconds}s",
    };
}
