using System.Runtime.CompilerServices;
using System.Text.Json;
using Labeling.Imaging;
using Labeling.Labels;

namespace Labeling.Trainer.Data;

/// <summary>Options of <see cref="CocoSource"/>.</summary>
public sealed record CocoSourceOptions
{
    /// <summary>Also read images whose split is <c>val</c> (default false).</summary>
    public bool IncludeGold { get; init; }

    /// <summary>How images are decoded.</summary>
    public ImageDecodeOptions Decode { get; init; } = new();
}

/// <summary>
/// Training samples from a COCO <c>annotations.json</c> and a folder of images (<c>labeling train --coco FILE</c>),
/// read the way the inbox scan reads the file (docs/ingest.md): boxes <c>[x, y, w, h]</c> become
/// (x, y, x + w, y + h); <c>iscrowd: 1</c> regions give a tag but no box; an image's split is its own
/// <c>"split"</c>, else the file's; class names are normalised. Images with a box are box data; images
/// with only crowd regions are tag-only; images with no annotation are left out; <c>val</c> images
/// are left out unless asked. The annotation file is parsed in memory; images are read one at a time.
/// </summary>
public sealed class CocoSource : ITrainingSource
{
    private readonly string _imageFolder;
    private readonly List<Entry> _entries = [];
    private readonly long _gold;
    private long _unreadable;

    /// <summary>Reads <paramref name="annotationsPath"/>; images are looked up as <paramref name="imageFolder"/>/file_name.</summary>
    /// <exception cref="JsonException">The file is not valid COCO JSON.</exception>
    public CocoSource(string annotationsPath, string imageFolder, CocoSourceOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(annotationsPath);
        ArgumentException.ThrowIfNullOrWhiteSpace(imageFolder);
        Options = options ?? new CocoSourceOptions();
        _imageFolder = imageFolder;

        using var document = JsonDocument.Parse(File.ReadAllBytes(annotationsPath));
        var root = document.RootElement;
        string? fileSplit = root.TryGetProperty("split", out var s) && s.ValueKind == JsonValueKind.String ? s.GetString() : null;
        var categories = new Dictionary<long, string>();
        foreach (var c in Array(root, "categories"))
        {
            if (c.TryGetProperty("id", out var id) && id.TryGetInt64(out var cid) && c.TryGetProperty("name", out var name) && name.GetString() is { } raw)
            {
                categories[cid] = TagName.Normalise(raw);
            }
        }

        var boxes = new Dictionary<long, List<TrainingBox>>();
        var tags = new Dictionary<long, SortedSet<string>>();
        foreach (var a in Array(root, "annotations"))
        {
            if (!a.TryGetProperty("image_id", out var iid) || !iid.TryGetInt64(out var imageId)
                || !a.TryGetProperty("category_id", out var cat) || !cat.TryGetInt64(out var categoryId)
                || !categories.TryGetValue(categoryId, out var className))
            {
                continue;
            }

            bool crowd = a.TryGetProperty("iscrowd", out var ic) && ic.ValueKind == JsonValueKind.Number && ic.GetInt32() == 1;
            if (!crowd)
            {
                if (!a.TryGetProperty("bbox", out var bbox) || bbox.ValueKind != JsonValueKind.Array || bbox.GetArrayLength() != 4)
                {
                    continue;
                }

                var v = bbox.EnumerateArray().Select(e => e.GetSingle()).ToArray();
                if (!v.All(float.IsFinite) || v[2] <= 0 || v[3] <= 0)
                {
                    continue;
                }

                (boxes.TryGetValue(imageId, out var list) ? list : boxes[imageId] = []).Add(new TrainingBox(v[0], v[1], v[0] + v[2], v[1] + v[3], className));
            }

            (tags.TryGetValue(imageId, out var set) ? set : tags[imageId] = new SortedSet<string>(StringComparer.Ordinal)).Add(className);
        }

        foreach (var image in Array(root, "images"))
        {
            if (!image.TryGetProperty("id", out var iid) || !iid.TryGetInt64(out var id) || !image.TryGetProperty("file_name", out var fn) || fn.GetString() is not { } file)
            {
                continue;
            }

            var split = image.TryGetProperty("split", out var sp) && sp.ValueKind == JsonValueKind.String ? sp.GetString() : fileSplit;
            if (!tags.TryGetValue(id, out var imageTags))
            {
                continue;
            }

            if (!Options.IncludeGold && string.Equals(split, "val", StringComparison.OrdinalIgnoreCase))
            {
                _gold++;
                continue;
            }

            var imageBoxes = boxes.TryGetValue(id, out var b) ? b : [];
            _entries.Add(new Entry(file, imageBoxes, [.. imageTags], imageBoxes.Count > 0 ? SampleKind.BoxData : SampleKind.TagOnly));
        }

        ClassNames = [.. categories.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];
    }

    /// <summary>The options.</summary>
    public CocoSourceOptions Options { get; }

    /// <summary>Every category of the file, normalised, ordinal order.</summary>
    public IReadOnlyList<string> ClassNames { get; }

    /// <summary>Images skipped because the file was missing or did not decode.</summary>
    public long Unreadable => Interlocked.Read(ref _unreadable);

    /// <inheritdoc />
    public Task<TrainingSourceCounts> CountAsync(CancellationToken cancellationToken) => Task.FromResult(new TrainingSourceCounts(
        _entries.Count(e => e.Kind == SampleKind.BoxData),
        _entries.Count(e => e.Kind == SampleKind.TagOnly),
        _entries.Sum(e => (long)e.Boxes.Count),
        _gold,
        ClassNames));

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingSample> ReadAsync(CancellationToken cancellationToken) => ReadCoreAsync(null, cancellationToken);

    /// <inheritdoc />
    public IAsyncEnumerable<TrainingSample> ReadAsync(SampleKind kind, CancellationToken cancellationToken) => ReadCoreAsync(kind, cancellationToken);

    private async IAsyncEnumerable<TrainingSample> ReadCoreAsync(SampleKind? kind, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var entry in _entries)
        {
            if (kind is not null && entry.Kind != kind)
            {
                continue;
            }

            var path = Path.Combine(_imageFolder, entry.File);
            byte[] bytes;
            try
            {
                bytes = await File.ReadAllBytesAsync(path, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
            {
                Interlocked.Increment(ref _unreadable);
                continue;
            }

            var decoded = ImageDecoder.Decode(bytes, Options.Decode);
            if (!decoded.Success)
            {
                Interlocked.Increment(ref _unreadable);
                continue;
            }

            yield return new TrainingSample(entry.File, decoded.Image, entry.Boxes, entry.Tags, entry.Kind);
        }
    }

    private static IEnumerable<JsonElement> Array(JsonElement root, string name) =>
        root.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Array ? e.EnumerateArray() : [];

    private sealed record Entry(string File, IReadOnlyList<TrainingBox> Boxes, IReadOnlyList<string> Tags, SampleKind Kind);
}
