namespace Labeling.Functions.Control;

/// <summary>Options of <see cref="DatasetControl"/>, bound from the <c>DatasetControl</c> configuration section.</summary>
public sealed class DatasetControlOptions
{
    /// <summary>The configuration section name.</summary>
    public const string Section = "DatasetControl";

    /// <summary>The window a dataset's rate (images labelled a second) is measured over; the ETA follows from it. Default 5 minutes.</summary>
    public TimeSpan RateWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> when a value is out of range.</summary>
    public void Validate()
    {
        if (RateWindow < TimeSpan.FromSeconds(1) || RateWindow > TimeSpan.FromDays(1))
        {
            throw new ArgumentOutOfRangeException(nameof(RateWindow), RateWindow, "DatasetControl:RateWindow must be between 1 second and 1 day.");
        }
    }
}
