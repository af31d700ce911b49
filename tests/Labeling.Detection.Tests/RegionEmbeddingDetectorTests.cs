using Labeling.Detection;
using Labeling.Imaging;
using Labeling.Testing;
using Labeling.Vocabulary;
using ClassVocabulary = Labeling.Vocabulary.Vocabulary;

namespace Labeling.Detection.Tests;

/// <summary>region-embedding/1 end to end on models whose outputs are known in closed form.</summary>
public sealed class RegionEmbeddingDetectorTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly TestFolder _folder = new();
    private static readonly HashBowEncoder Encoder = new(64);
    private static readonly ClassVocabulary Vocab = ClassVocabulary.Create(Encoder, ["red fox", "blue star", "cat"]);

    // Three proposals in 64×64 input pixels: two overlapping "red fox" regions and one whole-image "cat".
    private static readonly float[,] Boxes = { { 8, 24, 40, 56 }, { 10, 26, 42, 58 }, { 0, 0, 64, 64 } };
    private static readonly float[] Objectness = [0.9f, 0.8f, 0.3f];

    // Class probability sigmoid(10·cos − 5): ≈0.99 for the same name, ≈0.01 for unrelated ones.
    private static readonly DetectorModels.RegionSettings Settings = new() { Space = "hashbow-64", LogitScale = 10, LogitBias = -5 };

    private string ConstantModel(DetectorModels.RegionSettings? settings = null)
    {
        var d = Encoder.Dimension;
        var embeddings = new float[3, d];
        var rows = new[] { Encoder.Encode("red fox"), Encoder.Encode("red fox"), Encoder.Encode("cat") };
        for (var p = 0; p < 3; p++)
        {
            for (var i = 0; i < d; i++)
            {
                embeddings[p, i] = rows[p][i];
            }
        }

        var path = _folder.File($"region-{Guid.NewGuid():N}.onnx");
        DetectorModels.ConstantRegionEmbedding(path, Boxes, Objectness, embeddings, settings ?? Settings);
        return path;
    }

    private static DecodedImage Uniform(int width, int height, byte value = 128)
    {
        var pixels = new byte[width * height * 3];
        Array.Fill(pixels, value);
        return new DecodedImage(width, height, width, height, "test", pixels);
    }

    private static float Expected(float objectness, string proposalName, string className)
    {
        var cos = Scores.Dot(Encoder.Encode(proposalName), Encoder.Encode(className));
        return MathF.Sqrt(objectness * Scores.Sigmoid(cos * 10 - 5));
    }

    [Fact]
    public void Detect_MapsBoxesBackToOriginalPixels_AndScoresByTheContract()
    {
        using var detector = OnnxDetector.Load(ConstantModel(), new DetectorOptions { IntraOpThreads = 1 });
        // 128×64 into 64×64: scale 0.5, padded 16 px above and below.
        var result = Assert.Single(detector.Detect([Uniform(128, 64)], new DetectionRequest { Vocabulary = Vocab, ScoreThreshold = 0.5f }, Ct));

        var fox = result.Detections.Single(d => d.ClassIndex == 0);
        Assert.Equal((16f, 16f, 80f, 64f), (fox.X1, fox.Y1, fox.X2, fox.Y2)); // y2 = (56-16)/0.5 = 80, clipped to the image's 64
        Assert.Equal(Expected(0.9f, "red fox", "red fox"), fox.Score, 5);
        Assert.Equal(0.9f, fox.Objectness, 6);
        var cat = result.Detections.Single(d => d.ClassIndex == 2);
        Assert.Equal((0f, 0f, 128f, 64f), (cat.X1, cat.Y1, cat.X2, cat.Y2));
        Assert.Equal(Expected(0.3f, "cat", "cat"), cat.Score, 5);
        // The second fox proposal overlaps the first (IoU 0.81): NMS keeps one fox; no blue star anywhere.
        Assert.Equal(2, result.Detections.Count);
        Assert.Equal([0.9f, 0.8f, 0.3f], result.Proposals.Select(p => p.Objectness).Select(o => MathF.Round(o, 4)));
    }

    [Fact]
    public void Detect_ScoresOnlyTheRequestedClasses_AndHonoursPerClassThresholdsAndMaximum()
    {
        using var detector = OnnxDetector.Load(ConstantModel(), new DetectorOptions { IntraOpThreads = 1 });
        var images = new[] { Uniform(64, 64), Uniform(64, 64), Uniform(64, 64) };

        var results = detector.Detect(images, new DetectionRequest
        {
            Vocabulary = Vocab,
            ScoreThreshold = 0.5f,
            ClassesPerImage = [[0], [2], [0, 2]],
            ClassThresholds = new Dictionary<int, float> { [2] = 0.6f },
        }, Ct);
        var capped = detector.Detect([Uniform(64, 64)], new DetectionRequest { Vocabulary = Vocab, ScoreThreshold = 0.5f, MaxDetectionsPerImage = 1 }, Ct);

        Assert.Equal([0], results[0].Detections.Select(d => d.ClassIndex));
        Assert.Empty(results[1].Detections); // cat scores sqrt(0.3 · 0.993) = 0.546, under its own threshold of 0.6
        Assert.Equal([0], results[2].Detections.Select(d => d.ClassIndex));
        Assert.Equal(0, Assert.Single(Assert.Single(capped).Detections).ClassIndex);
    }

    [Fact]
    public void Detect_NormalisesPixelsWithTheModelsMeanAndStd()
    {
        // Objectness of proposal 0 is the mean of the model input: (191/255 - 0.5) / 0.25.
        using var detector = OnnxDetector.Load(ConstantModel(Settings with { ObjectnessFromInputMean = 0 }), new DetectorOptions { IntraOpThreads = 1 });

        var result = Assert.Single(detector.Detect([Uniform(64, 64, 191)], new DetectionRequest { Vocabulary = Vocab }, Ct));

        Assert.Equal((191f / 255f - 0.5f) / 0.25f, result.Proposals.Max(p => p.Objectness), 4);
    }

    [Fact]
    public void Detect_RealPhotographs_FromBytesToOriginalCoordinates()
    {
        using var detector = OnnxDetector.Load(ConstantModel(), new DetectorOptions { IntraOpThreads = 1 });
        var decoded = new[] { "astronaut.png", "chelsea.png", "coffee.png" }
            .Select(name => ImageDecoder.Decode(File.ReadAllBytes(TestFolder.SharedImage(name)), new ImageDecodeOptions { TargetLongSide = 64 }))
            .ToList();
        Assert.All(decoded, d => Assert.True(d.Success, d.Message));

        var results = detector.Detect(decoded.Select(d => d.Image!).ToList(), new DetectionRequest { Vocabulary = Vocab, ClassesPerImage = [[2], [2], [2]], ScoreThreshold = 0.5f }, Ct);

        for (var i = 0; i < results.Count; i++)
        {
            // The whole-input proposal covers exactly the whole original image.
            var image = decoded[i].Image!;
            var cat = Assert.Single(results[i].Detections);
            Assert.Equal((0f, 0f, (float)image.OriginalWidth, (float)image.OriginalHeight), (cat.X1, cat.Y1, cat.X2, cat.Y2));
        }
    }

    [Fact]
    public void Detect_ConcurrentCallers_GetTheSameAnswersAsOne()
    {
        using var detector = OnnxDetector.Load(ConstantModel(Settings with { ObjectnessFromInputMean = 0 }), new DetectorOptions { IntraOpThreads = 1 });
        var request = new DetectionRequest { Vocabulary = Vocab, ScoreThreshold = 0 };
        var expected = Enumerable.Range(0, 16).Select(i => detector.Detect([Uniform(64, 64, (byte)(i * 15))], request, Ct)[0].Proposals.Max(p => p.Objectness)).ToArray();

        var actual = new float[16];
        Parallel.For(0, 16, i => actual[i] = detector.Detect([Uniform(64, 64, (byte)(i * 15))], request, Ct)[0].Proposals.Max(p => p.Objectness));

        // Equal up to float rounding (the reduction may vectorise differently on another buffer alignment).
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++)
        {
            Assert.Equal(expected[i], actual[i], 5);
        }
    }

    [Fact]
    public void Detect_RefusesAVocabularyFromAnotherSpace_OrOfAnotherDimension_OrNone()
    {
        using var detector = OnnxDetector.Load(ConstantModel(), new DetectorOptions { IntraOpThreads = 1 });
        var other = ClassVocabulary.Create(new HashBowEncoder(32), ["red fox"]);
        var wrongDimension = ClassVocabulary.Create(EmbeddingTable.FromVectors("hashbow-64", ["red fox"], new float[8] { 1, 0, 0, 0, 0, 0, 0, 0 }, 8), ["red fox"]);

        var mismatch = Assert.Throws<VocabularySpaceMismatchException>(() => detector.Detect([Uniform(64, 64)], new DetectionRequest { Vocabulary = other }, Ct));
        Assert.Contains("hashbow-32", mismatch.Message, StringComparison.Ordinal);
        Assert.Contains("hashbow-64", mismatch.Message, StringComparison.Ordinal);
        Assert.Throws<DetectorContractException>(() => detector.Detect([Uniform(64, 64)], new DetectionRequest { Vocabulary = wrongDimension }, Ct));
        Assert.Throws<DetectorContractException>(() => detector.Detect([Uniform(64, 64)], new DetectionRequest(), Ct));
        Assert.Throws<ArgumentException>(() => detector.Detect([Uniform(64, 64)], new DetectionRequest { Vocabulary = Vocab, ClassesPerImage = [[7]] }, Ct));
    }

    public void Dispose() => _folder.Dispose();
}
