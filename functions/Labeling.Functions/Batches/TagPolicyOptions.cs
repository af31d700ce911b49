using Labeling.Labels;

namespace Labeling.Functions.Batches;

/// <summary>What the tag policy keeps of a detector's output (architecture: "Tag policy").</summary>
public sealed class TagPolicyOptions
{
    /// <summary>Score a box of one of the image's tags needs to be kept as a <see cref="BoxSource.Pseudo"/> box, unless <see cref="ClassThresholds"/> says otherwise. Default 0.3.</summary>
    public float DefaultThreshold { get; set; } = 0.3f;

    /// <summary>Per-class thresholds by class name (normalised with <see cref="TagName.Normalise"/> when looked up, so raw names work too).</summary>
    public Dictionary<string, float> ClassThresholds { get; set; } = [];

    /// <summary>IoU above which the detector suppresses a lower-scored box of the same class. Default 0.5.</summary>
    public float NmsIouThreshold { get; set; } = 0.5f;

    /// <summary>
    /// A pseudo box that overlaps a higher-scored pseudo box of another of the image's tags by at least this IoU is
    /// dropped: one object gets one label, not "red triangle" and "green triangle" both (a trainer fed both learns
    /// neither). Default 0.7; 1 drops only identical boxes.
    /// </summary>
    public float CrossClassIouThreshold { get; set; } = 0.7f;

    /// <summary>Most pseudo and discovered boxes kept per image (weak fallback boxes come on top, one per ungrounded tag). Default 100.</summary>
    public int MaxDetectionsPerImage { get; set; } = 100;

    /// <summary>A global vocabulary scored on every image besides its tags; confident boxes of these classes that are not among the image's tags are kept as <see cref="BoxSource.Discovered"/>. Empty (default): discovery off.</summary>
    public List<string> DiscoveryVocabulary { get; set; } = [];

    /// <summary>Score a discovery box needs (higher than the tag thresholds: nobody said the class is there). Default 0.6.</summary>
    public float DiscoveryThreshold { get; set; } = 0.6f;

    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> or <see cref="ArgumentException"/> when a value is out of range.</summary>
    public void Validate()
    {
        static void Score(float value, string name)
        {
            if (!(value is >= 0 and <= 1))
            {
                throw new ArgumentOutOfRangeException(name, value, $"{name} must be in [0, 1].");
            }
        }

        Score(DefaultThreshold, nameof(DefaultThreshold));
        Score(DiscoveryThreshold, nameof(DiscoveryThreshold));
        ArgumentNullException.ThrowIfNull(ClassThresholds);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, threshold) in ClassThresholds)
        {
            Score(threshold, $"{nameof(ClassThresholds)}[{name}]");
            if (!seen.Add(TagName.Normalise(name)))
            {
                throw new ArgumentException($"ClassThresholds names '{TagName.Normalise(name)}' twice (after normalisation).", nameof(ClassThresholds));
            }
        }

        if (!(NmsIouThreshold is > 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(NmsIouThreshold), NmsIouThreshold, "NmsIouThreshold must be in (0, 1].");
        }

        if (!(CrossClassIouThreshold is > 0 and <= 1))
        {
            throw new ArgumentOutOfRangeException(nameof(CrossClassIouThreshold), CrossClassIouThreshold, "CrossClassIouThreshold must be in (0, 1].");
        }

        ArgumentOutOfRangeException.ThrowIfLessThan(MaxDetectionsPerImage, 1);
        ArgumentNullException.ThrowIfNull(DiscoveryVocabulary);
        foreach (var name in DiscoveryVocabulary)
        {
            TagName.Normalise(name);
        }
    }
}
