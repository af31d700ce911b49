using System.Globalization;
using System.Text.Json;
using Labeling.Labels;

namespace Labeling.Bootstrap;

/// <summary>
/// The optional retrain trigger: the pool has grown by <see cref="RetrainingOptions.TriggerOnGrowth"/> (a fraction)
/// since the active model's run, or tags of classes it never saw have appeared (<see cref="RetrainingOptions.TriggerOnNewTags"/>).
/// The active model's run recorded the pool it saw in its metrics (<c>store</c>); a model without that record (added by
/// hand, or by the demo) never triggers.
/// </summary>
public static class RetrainTrigger
{
    /// <summary>Why a retrain is due, or null when it is not.</summary>
    public static string? Reason(PoolSummary now, ModelRecord? active, RetrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(now);
        ArgumentNullException.ThrowIfNull(options);
        if ((options.TriggerOnGrowth <= 0 && !options.TriggerOnNewTags) || active?.Metrics is not { } metrics || TrainedOn(metrics) is not { } then)
        {
            return null;
        }

        if (options.TriggerOnGrowth > 0 && now.Images > then.Images && now.Images >= then.Images * (1 + options.TriggerOnGrowth))
        {
            return string.Create(CultureInfo.InvariantCulture, $"the pool grew from {then.Images} to {now.Images} images since {active.Version} (trigger: +{options.TriggerOnGrowth:P0})");
        }

        if (options.TriggerOnNewTags && now.TagClasses > then.TagClasses)
        {
            return $"{now.TagClasses - then.TagClasses} tag class(es) appeared since {active.Version} ({then.TagClasses} → {now.TagClasses})";
        }

        return null;
    }

    /// <summary>The pool a run recorded in its model's metrics, or null.</summary>
    public static PoolSummary? TrainedOn(string metricsJson)
    {
        try
        {
            using var document = JsonDocument.Parse(metricsJson);
            return document.RootElement.TryGetProperty("store", out var store)
                && store.TryGetProperty("images", out var images) && store.TryGetProperty("tagClasses", out var classes)
                ? new PoolSummary(images.GetInt64(), classes.GetInt64())
                : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
