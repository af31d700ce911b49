using Labeling.Detection;
using Labeling.Imaging;
using Labeling.Trainer.Data;
using Labeling.Trainer.Model;
using Labeling.Trainer.Training;
using Microsoft.Extensions.Logging.Abstractions;
using TorchSharp;

namespace Labeling.Trainer.Tests.Training;

/// <summary>The loop on the tiny preset and 64×64 shapes: loss falls, resume is exact, bad steps are skipped, the export loads in the workers' detector.</summary>
public sealed class TrainingTests : IDisposable
{
    private readonly TempFolder _folder = new();
    private readonly CocoSource _source;

    public TrainingTests()
    {
        TorchRuntime.Initialise(threads: 1);
        var world = new ShapesWorld(new ShapesWorldOptions { Seed = 5, Width = 64, Height = 64, MinSize = 14, MaxSize = 30, MaxShapes = 2 });
        var data = Path.Combine(_folder.Path, "shapes");
        world.WriteFolder(data, 24, new ShapesFolderOptions { BoxedCount = 24 });
        _source = new CocoSource(Path.Combine(data, "annotations.json"), data);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private TrainingRunRequest Request(int steps, string name, string? checkpoints = null) => new()
    {
        Source = _source,
        Model = DetectorConfig.Preset("tiny"),
        Training = new TrainingOptions { Steps = steps, BatchSize = 4, WarmupSteps = 5, LearningRate = 3e-3f, ReportEvery = 1, CheckpointFolder = checkpoints, CheckpointEvery = 4 },
        Sampler = new BatchSamplerOptions { BatchSize = 4, ShuffleBuffer = 8 },
        OutputPath = Path.Combine(_folder.Path, name + ".onnx"),
    };

    [Fact]
    public async Task Training_OnShapes_LossFalls_AndTheExportLoadsInTheWorkersDetector()
    {
        var losses = new List<float>();
        var result = await TrainingRun.RunAsync(Request(60, "run"), NullLogger.Instance, p => losses.Add(p.Loss), Ct);

        Assert.Equal(60, result.Training.Steps);
        Assert.Equal(0, result.Training.SkippedSteps);
        Assert.Equal(["circle", "square", "star", "triangle"], result.ClassNames.Order());
        var early = losses.Take(10).Average();
        var late = losses.TakeLast(10).Average();
        Assert.True(late < early * 0.8, $"loss did not fall: first ten {early:F3}, last ten {late:F3}");
        var loss = result.Training.Loss;
        Assert.Equal(losses[0], loss.FirstBatchLoss);
        Assert.Equal(4, loss.FirstBatchBoxImages + loss.FirstBatchTagOnlyImages);
        Assert.True(loss.SmoothedLast < loss.SmoothedFirst, loss.Describe());
        Assert.Equal(60, loss.SmoothedLastStep);
        Assert.Contains("first batch", loss.Describe(), StringComparison.Ordinal);

        using var detector = OnnxDetector.Load(result.OnnxPath, new DetectorOptions());
        Assert.Equal(DetectorContract.RegionEmbedding, detector.Info.Contract);
        var image = ImageDecoder.Decode(new ShapesWorld(new ShapesWorldOptions { Seed = 99, Width = 64, Height = 64, MinSize = 14, MaxSize = 30 }).Generate(0).Png, new ImageDecodeOptions());
        Assert.True(image.Success);
        var vocabulary = Labeling.Vocabulary.Vocabulary.Create(new Labeling.Vocabulary.HashBowEncoder(32), result.ClassNames);
        var detections = detector.Detect([image.Image!], new DetectionRequest { Vocabulary = vocabulary, ClassesPerImage = [[0, 1, 2, 3]], ScoreThreshold = 0f }, Ct);
        Assert.NotEmpty(detections[0].Proposals);
        Assert.True(File.Exists(result.WeightsPath));
    }

    [Fact]
    public async Task Resume_FromACheckpoint_GivesTheSameWeightsAsAnUnbrokenRun()
    {
        var straight = await TrainingRun.RunAsync(Request(8, "straight"), NullLogger.Instance, null, Ct);

        var checkpoints = Path.Combine(_folder.Path, "checkpoints");
        await TrainingRun.RunAsync(Request(4, "first-half", checkpoints), NullLogger.Instance, null, Ct);
        Assert.Equal("4", File.ReadAllText(Path.Combine(checkpoints, "step.txt")));
        var resumed = await TrainingRun.RunAsync(Request(8, "resumed", checkpoints), NullLogger.Instance, null, Ct);

        Assert.Equal(8, resumed.Training.Steps);
        Assert.Equal(File.ReadAllBytes(straight.OnnxPath), File.ReadAllBytes(resumed.OnnxPath));
    }

    [Fact]
    public async Task Resume_AfterAKillBetweenWritingFilesAndNamingTheStep_UsesTheLastCompleteCheckpoint()
    {
        var straight = await TrainingRun.RunAsync(Request(8, "straight"), NullLogger.Instance, null, Ct);
        var checkpoints = Path.Combine(_folder.Path, "checkpoints");
        await TrainingRun.RunAsync(Request(4, "first-half", checkpoints), NullLogger.Instance, null, Ct);
        // What a kill mid-save leaves: the next step's weights written (here: garbage), step.txt still naming step 4.
        await File.WriteAllBytesAsync(Path.Combine(checkpoints, "model-00000006.weights"), [1, 2, 3], Ct);

        var resumed = await TrainingRun.RunAsync(Request(8, "resumed", checkpoints), NullLogger.Instance, null, Ct);

        Assert.Equal(File.ReadAllBytes(straight.OnnxPath), File.ReadAllBytes(resumed.OnnxPath));
        Assert.Equal(["model-00000008.weights"], Directory.GetFiles(checkpoints, "*.weights").Select(Path.GetFileName));
    }

    [Fact]
    public void NonFiniteSteps_AreSkippedAndCounted_NeverApplied()
    {
        var config = DetectorConfig.Preset("tiny");
        using var model = new OpenVocabularyDetector(config);
        using (torch.no_grad())
        {
            model.LogitBias.fill_(float.NaN); // every classification loss is NaN from here on
        }

        var before = model.named_parameters().Where(p => p.name != "logit_bias").Select(p => p.parameter.clone()).ToList();
        var trainer = new DetectorTrainer(model, new TrainingOptions { Steps = 3, BatchSize = 4, ReportEvery = 1 }, NullLogger.Instance);
        var sampler = new BatchSampler(_source, new BatchSamplerOptions { BatchSize = 4, Augment = AugmentOptions.None(config.InputSize) });
        var names = sampler.ClassNames;
        var text = new float[names.Count, config.EmbeddingDim];
        for (var i = 0; i < names.Count; i++)
        {
            text[i, i] = 1f;
        }

        var result = trainer.Train(sampler.BatchesAsync(3, Ct).ToBlockingEnumerable(Ct), names, text, null, Ct);

        Assert.Equal(3, result.SkippedSteps);
        var after = model.named_parameters().Where(p => p.name != "logit_bias").Select(p => p.parameter).ToList();
        Assert.Equal(before.Count, after.Count);
        Assert.All(before.Zip(after), pair => Assert.True(pair.First.equal(pair.Second).all().item<bool>(), "a skipped step changed a weight"));
    }

    [Fact]
    public void LearningRate_WarmsUpLinearly_ThenFollowsACosineToZero()
    {
        using var model = new OpenVocabularyDetector(DetectorConfig.Preset("tiny"));
        var trainer = new DetectorTrainer(model, new TrainingOptions { Steps = 110, WarmupSteps = 10, LearningRate = 1f }, NullLogger.Instance);
        Assert.Equal(0.1f, trainer.LearningRateAt(0), 6);
        Assert.Equal(1f, trainer.LearningRateAt(9), 6);
        Assert.Equal(1f, trainer.LearningRateAt(10), 6);
        Assert.Equal(0.5f, trainer.LearningRateAt(60), 6);
        Assert.Equal(0f, trainer.LearningRateAt(110), 6);
    }

    [Fact]
    public async Task NoBoxData_IsAClearError()
    {
        var data = Path.Combine(_folder.Path, "tags-only");
        Directory.CreateDirectory(data);
        File.WriteAllBytes(Path.Combine(data, "a.png"), new ShapesWorld(new ShapesWorldOptions { Width = 64, Height = 64, MinSize = 14, MaxSize = 30 }).Generate(0).Png);
        File.WriteAllText(Path.Combine(data, "annotations.json"),
            """{"images":[{"id":1,"file_name":"a.png","width":64,"height":64}],"annotations":[],"categories":[{"id":1,"name":"circle"}]}""");
        var request = Request(2, "none") with { Source = new CocoSource(Path.Combine(data, "annotations.json"), data) };
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => TrainingRun.RunAsync(request, NullLogger.Instance, null, Ct));
        Assert.Contains("no image with boxes", e.Message);
    }

    public void Dispose() => _folder.Dispose();
}
