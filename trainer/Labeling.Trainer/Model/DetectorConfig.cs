namespace Labeling.Trainer.Model;

/// <summary>
/// The shape of the detector. Everything the export and a later warm start need to rebuild the
/// same network is here; presets give sizes that train on a CPU.
/// </summary>
public sealed record DetectorConfig
{
    /// <summary>Square input side in pixels (images are letterboxed to it).</summary>
    public int InputSize { get; init; } = 256;

    /// <summary>Output channels of the backbone's stride-2 stages (strides 2, 4, 8, 16, …).</summary>
    public int[] StageChannels { get; init; } = [16, 32, 64, 96];

    /// <summary>Channels of the feature pyramid's merged stride-8 map that proposals and RoIAlign read.</summary>
    public int PyramidChannels { get; init; } = 64;

    /// <summary>Groups of every GroupNorm (each stage's channel count must divide by it).</summary>
    public int NormGroups { get; init; } = 8;

    /// <summary>Proposals kept per image (top-K heatmap peaks): the K of the exported outputs.</summary>
    public int Proposals { get; init; } = 50;

    /// <summary>RoIAlign output side.</summary>
    public int RoiSize { get; init; } = 7;

    /// <summary>RoIAlign samples per bin side (fixed, so TorchSharp and ONNX Runtime sample the same points).</summary>
    public int RoiSamplingRatio { get; init; } = 2;

    /// <summary>Width of the box head's two hidden layers.</summary>
    public int HeadHidden { get; init; } = 256;

    /// <summary>Region embedding size D: the text encoder's dimension.</summary>
    public int EmbeddingDim { get; init; } = 256;

    /// <summary>The text-embedding space the embeddings live in (e.g. <c>hashbow-256</c>).</summary>
    public string EmbeddingSpace { get; init; } = "hashbow-256";

    /// <summary>Per-channel mean and std applied to pixel/255, as the workers' letterbox does.</summary>
    public float[] Mean { get; init; } = [0.485f, 0.456f, 0.406f];

    public float[] Std { get; init; } = [0.229f, 0.224f, 0.225f];

    /// <summary>Class logit = cos(embedding, text) · scale + bias; scale = 1/τ of ScaleDet's loss.</summary>
    public float LogitScale { get; init; } = 1f / 0.07f;

    /// <summary>Start value of the learned logit bias (negative: an unrelated class starts improbable).</summary>
    public float InitialLogitBias { get; init; } = -4f;

    /// <summary>Stride of the map proposals come from (the pyramid merges stage 3 (stride 8) with the upsampled stage 4).</summary>
    public int FeatureStride => 8;

    /// <summary>The named presets: <c>tiny</c> (tests), <c>small</c> (CPU training), <c>base</c>.</summary>
    public static DetectorConfig Preset(string name) => name.Trim().ToLowerInvariant() switch
    {
        "tiny" => new DetectorConfig { InputSize = 64, StageChannels = [8, 16, 16, 32], PyramidChannels = 16, NormGroups = 4, Proposals = 10, HeadHidden = 32, EmbeddingDim = 32, EmbeddingSpace = "hashbow-32" },
        "small" => new DetectorConfig(),
        "base" => new DetectorConfig { InputSize = 512, StageChannels = [32, 64, 128, 192], PyramidChannels = 128, Proposals = 100, HeadHidden = 512 },
        _ => throw new ArgumentException($"Unknown preset '{name}': tiny, small or base.", nameof(name)),
    };

    /// <summary>Throws with what is wrong when the sizes cannot work together.</summary>
    public void Validate()
    {
        if (StageChannels.Length != 4)
        {
            throw new ArgumentException("StageChannels needs exactly four stages (strides 2, 4, 8, 16).");
        }

        if (InputSize % 16 != 0 || InputSize < 32)
        {
            throw new ArgumentException($"InputSize {InputSize} must be a multiple of 16, at least 32.");
        }

        foreach (var c in StageChannels.Append(PyramidChannels))
        {
            if (c % NormGroups != 0)
            {
                throw new ArgumentException($"{c} channels do not divide into {NormGroups} GroupNorm groups.");
            }
        }

        var cells = InputSize / FeatureStride * (InputSize / FeatureStride);
        if (Proposals < 1 || Proposals > cells)
        {
            throw new ArgumentException($"Proposals {Proposals} must be 1–{cells} (the cells of the {InputSize / FeatureStride}² map).");
        }
    }
}
