using System.Globalization;

namespace Labeling.Bootstrap;

/// <summary>How much a candidate may fall behind the active model on the gold split and still be promoted.</summary>
public sealed record GateOptions
{
    public const string Section = "Retraining:Gate";

    /// <summary>Largest drop in AP (IoU 0.50:0.95, all classes) that is tolerated (default 0.01).</summary>
    public double APTolerance { get; init; } = 0.01;

    /// <summary>Largest drop in AP-novel that is tolerated (default 0.01).</summary>
    public double APNovelTolerance { get; init; } = 0.01;

    public void Validate()
    {
        if (!(APTolerance is >= 0 and <= 1) || !(APNovelTolerance is >= 0 and <= 1))
        {
            throw new ArgumentException($"{Section}: APTolerance and APNovelTolerance must be in [0, 1].");
        }
    }
}

/// <summary>The gate's verdict and the sentence a person reads in the registry.</summary>
public sealed record GateDecision(bool Promote, string Reason);

/// <summary>
/// Step 7's promotion rule: a candidate is promoted when it does not regress beyond the tolerances on AP and on
/// AP-novel against the active model, both scored on the same gold split; with no active model it is promoted.
/// Pure: the retrain job stores the metrics and acts on the decision.
/// </summary>
public static class PromotionGate
{
    public static GateDecision Decide(GoldMetrics candidate, GoldMetrics? active, string? activeVersion, GateOptions options)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        if (active is null)
        {
            return new GateDecision(true, $"no active model to compare with (AP {F(candidate.AP)}, AP-novel {F(candidate.APNovel)})");
        }

        var against = activeVersion is null ? "the active model" : activeVersion;
        var failures = new List<string>();
        if (candidate.AP < active.AP - options.APTolerance)
        {
            failures.Add($"AP {F(candidate.AP)} < {F(active.AP)} of {against} − {F(options.APTolerance)}");
        }

        if (active.APNovel is { } activeNovel)
        {
            if (candidate.APNovel is not { } novel)
            {
                failures.Add($"no AP-novel (the gold split has no novel class for it), {against} had {F(activeNovel)}");
            }
            else if (novel < activeNovel - options.APNovelTolerance)
            {
                failures.Add($"AP-novel {F(novel)} < {F(activeNovel)} of {against} − {F(options.APNovelTolerance)}");
            }
        }

        return failures.Count > 0
            ? new GateDecision(false, string.Join("; ", failures))
            : new GateDecision(true, $"AP {F(candidate.AP)} (was {F(active.AP)}), AP-novel {F(candidate.APNovel)} (was {F(active.APNovel)}) against {against}");
    }

    private static string F(double? value) => value is { } v ? v.ToString("F3", CultureInfo.InvariantCulture) : "n/a";
}
