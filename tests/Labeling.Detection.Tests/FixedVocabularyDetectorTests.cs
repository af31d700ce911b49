using Labeling.Detection;
using Labeling.Imaging;
using Labeling.Testing;

namespace Labeling.Detection.Tests;

/// <summary>fixed-vocabulary/1 (Ultralytics layout) end to end on a model with known outputs.</summary>
public sealed class FixedVocabularyDetectorTests : IDisposable
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;
    private readonly TestFolder _folder = new();
    private static readonly string[] Names = ["person", "bicycle", "it's"];

    // cx, cy, w, h (input pixels), then scores for person, bicycle, it's.
    private static readonly float[,] Rows =
    {
        { 32, 32, 20, 20, 0.9f, 0.1f, 0.05f },
        { 33, 32, 20, 20, 0.8f, 0.0f, 0.0f },  // overlaps the first: suppressed for person
        { 10, 10, 8, 8, 0.2f, 0.7f, 0.0f },
        { 50, 50, 0, 10, 0.99f, 0.99f, 0.99f }, // zero width: not a box
    };

    private string Model(int? fixedBatch = null)
    {
        var path = _folder.File($"fixed-{Guid.NewGuid():N}.onnx");
        DetectorModels.ConstantFixedVocabulary(path, Rows, Names, inputSize: 64, fixedBatch: fixedBatch);
        return path;
    }

    private static DecodedImage Image(int width, int height) => new(width, height, width, height, "test", new byte[width * height * 3]);

    [Fact]
    public void Load_ReadsTheUltralyticsNamesAndInputSize()
    {
        using var detector = OnnxDetector.Load(Model(), new DetectorOptions());

        Assert.Equal(DetectorContract.FixedVocabulary, detector.Info.Contract);
        Assert.Equal(Names, detector.Info.ClassNames);
        Assert.Equal((64, 64), (detector.Info.InputWidth, detector.Info.InputHeight));
    }

    [Fact]
    public void Detect_DecodesCentreBoxes_AppliesNmsAndThreshold()
    {
        using var detector = OnnxDetector.Load(Model(), new DetectorOptions { IntraOpThreads = 1 });

        var result = Assert.Single(detector.Detect([Image(64, 64)], new DetectionRequest { ScoreThreshold = 0.25f }, Ct));

        Assert.Equal(2, result.Detections.Count);
        var person = result.Detections[0];
        Assert.Equal((0, 22f, 22f, 42f, 42f, 0.9f), (person.ClassIndex, person.X1, person.Y1, person.X2, person.Y2, person.Score));
        var bicycle = result.Detections[1];
        Assert.Equal((1, 6f, 6f, 14f, 14f, 0.7f), (bicycle.ClassIndex, bicycle.X1, bicycle.Y1, bicycle.X2, bicycle.Y2, bicycle.Score));
        Assert.Equal(3, result.Proposals.Count);
    }

    [Fact]
    public void Detect_WithAFixedBatchOfOne_RunsEachImage_AndMapsEachToItsOwnSize()
    {
        using var detector = OnnxDetector.Load(Model(fixedBatch: 1), new DetectorOptions { IntraOpThreads = 1 });

        var results = detector.Detect([Image(64, 64), Image(128, 128), Image(128, 96)], new DetectionRequest { ScoreThreshold = 0.25f, ClassesPerImage = [[0], [0], [1]] }, Ct);

        Assert.Equal((22f, 42f), (results[0].Detections[0].X1, results[0].Detections[0].X2));
        Assert.Equal((44f, 84f), (results[1].Detections[0].X1, results[1].Detections[0].X2));
        var bicycle = Assert.Single(results[2].Detections); // 128×96: scale 0.5, padded 8 px above: y clipped at 0
        Assert.Equal((1, 12f, 0f, 28f, 12f), (bicycle.ClassIndex, bicycle.X1, bicycle.Y1, bicycle.X2, bicycle.Y2));
    }

    public void Dispose() => _folder.Dispose();
}
