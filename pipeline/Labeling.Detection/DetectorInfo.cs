using System.Globalization;
using System.Text.RegularExpressions;

namespace Labeling.Detection;

/// <summary>The two detector contracts of the architecture.</summary>
public enum DetectorContract
{
    /// <summary><c>region-embedding/1</c>: boxes, objectness and region embeddings scored against text embeddings at run time.</summary>
    RegionEmbedding,

    /// <summary><c>fixed-vocabulary/1</c>: closed-set exports (Ultralytics YOLOv8/YOLO11/YOLO-World, output <c>[B,4+C,N]</c>).</summary>
    FixedVocabulary,
}

/// <summary>What a model file says about itself, read from its metadata and input/output shapes.</summary>
public sealed partial record DetectorInfo
{
    public required DetectorContract Contract { get; init; }
    public required int InputWidth { get; init; }
    public required int InputHeight { get; init; }

    /// <summary>Per-channel (RGB) mean and std applied to pixel/255.</summary>
    public required float[] Mean { get; init; }
    public required float[] Std { get; init; }

    /// <summary>A fixed batch size the graph demands, or null when the batch dimension is dynamic.</summary>
    public int? FixedBatch { get; init; }

    public ScoreRule ScoreRule { get; init; } = ScoreRule.GeometricMean;
    public float LogitScale { get; init; } = 1;
    public float LogitBias { get; init; }

    /// <summary>The text-embedding space of a region-embedding model (<c>labeling.embedding_space</c>).</summary>
    public string? EmbeddingSpace { get; init; }

    /// <summary>Class names of a fixed-vocabulary model, in output order.</summary>
    public IReadOnlyList<string> ClassNames { get; init; } = [];

    /// <summary>All custom metadata of the file.</summary>
    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    public const string RegionEmbeddingContract = "region-embedding/1";
    public const string FixedVocabularyContract = "fixed-vocabulary/1";

    /// <summary>
    /// Reads the contract from metadata (<c>labeling.*</c> keys, or Ultralytics' <c>names</c>/<c>imgsz</c>)
    /// and the image input's shape <c>[B,3,H,W]</c> (-1 for dynamic dimensions).
    /// </summary>
    public static DetectorInfo FromMetadata(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<long> inputShape)
    {
        ArgumentNullException.ThrowIfNull(metadata);
        ArgumentNullException.ThrowIfNull(inputShape);
        if (inputShape.Count != 4 || (inputShape[1] != 3 && inputShape[1] > 0))
        {
            throw new DetectorContractException($"The image input must be [B,3,H,W]; this model's is [{string.Join(",", inputShape)}].");
        }

        metadata.TryGetValue("labeling.contract", out var contractName);
        var contract = contractName switch
        {
            RegionEmbeddingContract => DetectorContract.RegionEmbedding,
            FixedVocabularyContract => DetectorContract.FixedVocabulary,
            null when metadata.ContainsKey("names") => DetectorContract.FixedVocabulary,
            null => throw new DetectorContractException("The model has no labeling.contract metadata and no Ultralytics 'names': it follows neither detector contract."),
            _ => throw new DetectorContractException($"Unknown labeling.contract '{contractName}': this build reads {RegionEmbeddingContract} and {FixedVocabularyContract}."),
        };

        var (width, height) = InputSize(metadata, inputShape);
        var fixedBatch = inputShape[0] > 0 ? (int?)inputShape[0] : null;
        if (contract == DetectorContract.FixedVocabulary)
        {
            var names = metadata.TryGetValue("names", out var n) ? ParseNames(n) : [];
            if (names.Count == 0)
            {
                throw new DetectorContractException("A fixed-vocabulary model needs its class names in the 'names' metadata.");
            }

            return new DetectorInfo
            {
                Contract = contract,
                InputWidth = width,
                InputHeight = height,
                FixedBatch = fixedBatch,
                Mean = Floats(metadata, "labeling.mean", 3) ?? [0, 0, 0],
                Std = Floats(metadata, "labeling.std", 3) ?? [1, 1, 1],
                ScoreRule = ScoreRule.ClassOnly,
                ClassNames = names,
                Metadata = metadata,
            };
        }

        return new DetectorInfo
        {
            Contract = contract,
            InputWidth = width,
            InputHeight = height,
            FixedBatch = fixedBatch,
            Mean = Floats(metadata, "labeling.mean", 3) ?? throw Missing("labeling.mean"),
            Std = Floats(metadata, "labeling.std", 3) ?? throw Missing("labeling.std"),
            ScoreRule = Scores.ParseRule(metadata.GetValueOrDefault("labeling.score_rule")),
            LogitScale = Float(metadata, "labeling.logit_scale") ?? throw Missing("labeling.logit_scale"),
            LogitBias = Float(metadata, "labeling.logit_bias") ?? 0,
            EmbeddingSpace = metadata.TryGetValue("labeling.embedding_space", out var space) && !string.IsNullOrWhiteSpace(space) ? space : throw Missing("labeling.embedding_space"),
            Metadata = metadata,
        };
    }

    private static DetectorContractException Missing(string key) => new($"A {RegionEmbeddingContract} model needs the '{key}' metadata.");

    // labeling.input_size is "512" or "WxH"; Ultralytics' imgsz is "[H, W]"; else the static input shape.
    private static (int Width, int Height) InputSize(IReadOnlyDictionary<string, string> metadata, IReadOnlyList<long> shape)
    {
        if (metadata.TryGetValue("labeling.input_size", out var size))
        {
            var parts = size.Split('x', 'X', ',');
            if (parts.Length is 1 or 2 && parts.All(p => int.TryParse(p.Trim(), NumberStyles.Integer, CultureInfo.InvariantCulture, out var v) && v > 0))
            {
                var w = int.Parse(parts[0].Trim(), CultureInfo.InvariantCulture);
                return (w, parts.Length == 2 ? int.Parse(parts[1].Trim(), CultureInfo.InvariantCulture) : w);
            }

            throw new DetectorContractException($"labeling.input_size '{size}' is not 'N' or 'WxH'.");
        }

        if (shape[2] > 0 && shape[3] > 0)
        {
            return ((int)shape[3], (int)shape[2]);
        }

        if (metadata.TryGetValue("imgsz", out var imgsz))
        {
            var numbers = Number().Matches(imgsz).Select(m => int.Parse(m.Value, CultureInfo.InvariantCulture)).ToArray();
            if (numbers.Length == 2)
            {
                return (numbers[1], numbers[0]);
            }
        }

        throw new DetectorContractException("The model's input size is unknown: no labeling.input_size or imgsz metadata and a dynamic input shape.");
    }

    /// <summary>Parses Ultralytics' <c>names</c> (a Python dict literal <c>{0: 'person', 1: 'bicycle'}</c>) or a JSON array of names.</summary>
    public static IReadOnlyList<string> ParseNames(string value)
    {
        ArgumentNullException.ThrowIfNull(value);
        var trimmed = value.Trim();
        if (trimmed.StartsWith('['))
        {
            return System.Text.Json.JsonSerializer.Deserialize<string[]>(trimmed) ?? [];
        }

        var entries = DictEntry().Matches(trimmed)
            .Select(m => (Index: int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), Name: Unescape(m.Groups[2].Success ? m.Groups[2].Value : m.Groups[3].Value)))
            .OrderBy(e => e.Index)
            .ToList();
        if (entries.Select((e, i) => e.Index == i).Any(ok => !ok))
        {
            throw new DetectorContractException("The 'names' metadata must number classes 0..C-1 without gaps.");
        }

        return entries.Select(e => e.Name).ToList();
    }

    private static string Unescape(string s) => s.Replace("\\'", "'", StringComparison.Ordinal).Replace("\\\"", "\"", StringComparison.Ordinal).Replace("\\\\", "\\", StringComparison.Ordinal);

    private static float? Float(IReadOnlyDictionary<string, string> metadata, string key) =>
        metadata.TryGetValue(key, out var s)
            ? float.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var v) && float.IsFinite(v) ? v : throw new DetectorContractException($"'{key}' = '{s}' is not a number.")
            : null;

    private static float[]? Floats(IReadOnlyDictionary<string, string> metadata, string key, int count)
    {
        if (!metadata.TryGetValue(key, out var s))
        {
            return null;
        }

        var parts = s.Trim('[', ']', ' ').Split(',');
        var values = new float[parts.Length];
        for (var i = 0; i < parts.Length; i++)
        {
            if (!float.TryParse(parts[i].Trim(), NumberStyles.Float, CultureInfo.InvariantCulture, out values[i]) || !float.IsFinite(values[i]))
            {
                throw new DetectorContractException($"'{key}' = '{s}' is not a list of {count} numbers.");
            }
        }

        if (values.Length != count || (key.EndsWith("std", StringComparison.Ordinal) && values.Any(v => v <= 0)))
        {
            throw new DetectorContractException($"'{key}' = '{s}' must be {count} numbers{(key.EndsWith("std", StringComparison.Ordinal) ? ", all positive" : "")}.");
        }

        return values;
    }

    [GeneratedRegex(@"(\d+)\s*:\s*(?:'((?:[^'\\]|\\.)*)'|""((?:[^""\\]|\\.)*)"")")]
    private static partial Regex DictEntry();

    [GeneratedRegex(@"\d+")]
    private static partial Regex Number();
}
