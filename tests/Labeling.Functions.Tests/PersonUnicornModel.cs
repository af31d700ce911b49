using Labeling.Testing;
using Labeling.Vocabulary;

namespace Labeling.Functions.Tests;

/// <summary>
/// The constant region-embedding model the label-batch and host tests share: four proposals in
/// 64×64 input pixels, all inside the central band a letterbox of aspect ≤ 2 never pads — two
/// "person" regions that overlap (NMS keeps the first), one small separate "person", and the whole
/// input as a faint "background" region (the largest proposal: the weak fallback of any unseen tag).
/// </summary>
internal static class PersonUnicornModel
{
    public const int InputSize = 64;
    public const float LogitScale = 10, LogitBias = -8;
    public static readonly HashBowEncoder Encoder = new(32);
    public static readonly float[,] Boxes = { { 16, 16, 48, 48 }, { 17, 17, 47, 47 }, { 20, 20, 28, 28 }, { 0, 0, 64, 64 } };
    public static readonly float[] Objectness = [0.9f, 0.6f, 0.8f, 0.2f];
    public static readonly string[] ProposalNames = ["person", "person", "person", "background"];
    public static readonly string[] Photos = ["astronaut.png", "chelsea.png", "coffee.png", "motorcycle_left.png", "rocket.jpg"];

    /// <summary>Writes the model to a new file in <paramref name="folder"/> and returns its path.</summary>
    public static string Write(string folder)
    {
        var embeddings = DetectorModels.EmbeddingRows(Encoder, ProposalNames);

        var path = Path.Combine(folder, $"model-{Guid.NewGuid():N}.onnx");
        DetectorModels.ConstantRegionEmbedding(path, Boxes, Objectness, embeddings,
            new DetectorModels.RegionSettings { InputSize = InputSize, Space = Encoder.Space, LogitScale = LogitScale, LogitBias = LogitBias });
        return path;
    }
}
