using Labeling.Detection;
using Labeling.Labels;
using DetectedBox = Labeling.Detection.Detection;

namespace Labeling.Functions.Batches;

/// <summary>
/// Turns a detector's answer about one image into the boxes that are stored (architecture: "Tag
/// policy"). Pure: no I/O. For each tag of the image, boxes of its class at or above the class
/// threshold (after the detector's per-class NMS) become <see cref="BoxSource.Pseudo"/> boxes and
/// the tag is <see cref="TagState.Grounded"/>, unless a higher-scored box of another tag covers the same
/// object (<see cref="TagPolicyOptions.CrossClassIouThreshold"/>); a tag without such a box gets Detic's fallback, the
/// largest proposal, as a <see cref="BoxSource.Weak"/> box scored with its objectness, and is
/// <see cref="TagState.Weak"/>. Boxes of discovery-vocabulary classes that are not among the
/// image's tags and reach <see cref="TagPolicyOptions.DiscoveryThreshold"/> are kept as
/// <see cref="BoxSource.Discovered"/>.
/// </summary>
public sealed class TagPolicy
{
    private readonly Dictionary<string, float> _thresholds;

    /// <summary>Creates the policy; <paramref name="options"/> are validated.</summary>
    public TagPolicy(TagPolicyOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        Options = options;
        _thresholds = options.ClassThresholds.ToDictionary(p => TagName.Normalise(p.Key), p => p.Value, StringComparer.Ordinal);
    }

    /// <summary>The options in force.</summary>
    public TagPolicyOptions Options { get; }

    /// <summary>The threshold of a tag class (its entry in <see cref="TagPolicyOptions.ClassThresholds"/>, else the default).</summary>
    public float ThresholdFor(string className) =>
        _thresholds.Count > 0 && _thresholds.TryGetValue(TagName.Normalise(className), out var t) ? t : Options.DefaultThreshold;

    /// <summary>Whether a discovery vocabulary is configured.</summary>
    public bool DiscoveryEnabled => Options.DiscoveryVocabulary.Count > 0;

    /// <summary>
    /// The detection request for a batch of images: per image, the indices (into <paramref name="classNames"/>)
    /// of its tags plus, with discovery on, of every class in <paramref name="discoveryClassIds"/>; each
    /// class thresholded at the lowest score any image of the batch could keep it at (the policy applies
    /// each image's own threshold afterwards, which gives the same boxes as thresholding first, because
    /// greedy NMS decides a box only by higher-scored ones).
    /// </summary>
    /// <param name="classNames">Normalised class names; index i is class index i of the detections.</param>
    /// <param name="tagsPerImage">The tags of each image of the batch.</param>
    /// <param name="discoveryClassIds">Normalised discovery name → class id (empty when discovery is off).</param>
    /// <param name="vocabulary">The vocabulary of <paramref name="classNames"/> for a region-embedding model.</param>
    public DetectionRequest CreateRequest(
        IReadOnlyList<string> classNames,
        IReadOnlyList<IReadOnlyList<ImageTagRecord>> tagsPerImage,
        IReadOnlyDictionary<string, long> discoveryClassIds,
        global::Labeling.Vocabulary.Vocabulary? vocabulary)
    {
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(tagsPerImage);
        ArgumentNullException.ThrowIfNull(discoveryClassIds);
        var index = Index(classNames);
        var thresholds = new Dictionary<int, float>();
        void Lower(int i, float threshold) =>
            thresholds[i] = thresholds.TryGetValue(i, out var current) ? Math.Min(current, threshold) : threshold;

        var discovery = new List<int>();
        foreach (var name in discoveryClassIds.Keys)
        {
            if (index.TryGetValue(name, out var i))
            {
                discovery.Add(i);
                Lower(i, Options.DiscoveryThreshold);
            }
        }

        var classesPerImage = new List<IReadOnlyList<int>>(tagsPerImage.Count);
        foreach (var tags in tagsPerImage)
        {
            var classes = new List<int>();
            foreach (var tag in tags)
            {
                if (index.TryGetValue(tag.ClassName, out var i) && !classes.Contains(i))
                {
                    classes.Add(i);
                    Lower(i, ThresholdFor(tag.ClassName));
                }
            }

            foreach (var i in discovery)
            {
                if (!classes.Contains(i))
                {
                    classes.Add(i);
                }
            }

            classesPerImage.Add(classes);
        }

        return new DetectionRequest
        {
            Vocabulary = vocabulary,
            ClassesPerImage = classesPerImage,
            ScoreThreshold = Options.DefaultThreshold,
            ClassThresholds = thresholds,
            NmsIouThreshold = Options.NmsIouThreshold,
            // Discovery candidates below the discovery threshold are filtered here, after the cut: leave room for them.
            MaxDetectionsPerImage = discovery.Count > 0 ? Options.MaxDetectionsPerImage * 2 : Options.MaxDetectionsPerImage,
        };
    }

    /// <summary>
    /// The labels of one image. <paramref name="result"/> comes from a request that scored the image's
    /// tag classes (and, with discovery on, the discovery classes); detections of other classes are ignored.
    /// An image without tags gets no boxes unless discovery finds some. A tag whose image has no
    /// proposal at all is recorded as weak without a box.
    /// </summary>
    /// <param name="imageId">The image.</param>
    /// <param name="tags">The image's tags.</param>
    /// <param name="result">The detector's answer for the image.</param>
    /// <param name="classNames">Normalised class names; index i is class index i of the detections.</param>
    /// <param name="discoveryClassIds">Normalised discovery name → class id (empty when discovery is off).</param>
    public ImageLabels Apply(
        long imageId,
        IReadOnlyList<ImageTagRecord> tags,
        DetectionResult result,
        IReadOnlyList<string> classNames,
        IReadOnlyDictionary<string, long> discoveryClassIds)
    {
        ArgumentNullException.ThrowIfNull(tags);
        ArgumentNullException.ThrowIfNull(result);
        ArgumentNullException.ThrowIfNull(classNames);
        ArgumentNullException.ThrowIfNull(discoveryClassIds);

        var tagByName = new Dictionary<string, ImageTagRecord>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            tagByName.TryAdd(tag.ClassName, tag);
        }

        var kept = new List<BoxData>();
        var grounded = new HashSet<long>();
        foreach (var detection in result.Detections.OrderByDescending(d => d.Score))
        {
            if ((uint)detection.ClassIndex >= (uint)classNames.Count || !float.IsFinite(detection.Score))
            {
                continue;
            }

            var name = classNames[detection.ClassIndex];
            if (tagByName.TryGetValue(name, out var tag))
            {
                if (detection.Score >= ThresholdFor(name) && !TakenByAnotherTag(kept, tag.ClassId, detection))
                {
                    kept.Add(Box(tag.ClassId, detection, BoxSource.Pseudo));
                    grounded.Add(tag.ClassId);
                }
            }
            else if (discoveryClassIds.TryGetValue(name, out var classId) && detection.Score >= Options.DiscoveryThreshold)
            {
                kept.Add(Box(classId, detection, BoxSource.Discovered));
            }

            if (kept.Count == Options.MaxDetectionsPerImage)
            {
                break;
            }
        }

        var largest = Largest(result.Proposals);
        var states = new List<TagGrounding>(tagByName.Count);
        foreach (var tag in tagByName.Values)
        {
            if (grounded.Contains(tag.ClassId))
            {
                states.Add(new TagGrounding(tag.ClassId, TagState.Grounded));
                continue;
            }

            states.Add(new TagGrounding(tag.ClassId, TagState.Weak));
            if (largest is { } p)
            {
                kept.Add(new BoxData(tag.ClassId, p.X1, p.Y1, p.X2, p.Y2, p.Objectness, BoxSource.Weak));
            }
        }

        return new ImageLabels(imageId, kept, states);
    }

    // Boxes come best first, so a kept pseudo box of another class that overlaps this one scored higher.
    private bool TakenByAnotherTag(List<BoxData> kept, long classId, DetectedBox d)
    {
        foreach (var k in kept)
        {
            if (k.Source != BoxSource.Pseudo || k.ClassId == classId)
            {
                continue;
            }

            if (Nms.IoU(k.X1, k.Y1, k.X2, k.Y2, d.X1, d.Y1, d.X2, d.Y2) >= Options.CrossClassIouThreshold)
            {
                return true;
            }
        }

        return false;
    }

    private static BoxData Box(long classId, DetectedBox d, BoxSource source) => new(classId, d.X1, d.Y1, d.X2, d.Y2, d.Score, source);

    // The largest proposal by area; among equal areas the first (proposals come best first).
    private static Proposal? Largest(IReadOnlyList<Proposal> proposals)
    {
        Proposal? best = null;
        foreach (var p in proposals)
        {
            if (p.Area > 0 && float.IsFinite(p.Objectness) && (best is null || p.Area > best.Value.Area))
            {
                best = p;
            }
        }

        return best;
    }

    private static Dictionary<string, int> Index(IReadOnlyList<string> classNames)
    {
        var index = new Dictionary<string, int>(StringComparer.Ordinal);
        for (var i = 0; i < classNames.Count; i++)
        {
            index.TryAdd(classNames[i], i);
        }

        return index;
    }
}
