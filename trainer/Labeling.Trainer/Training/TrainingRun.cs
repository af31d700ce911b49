using Labeling.Trainer.Data;
using Labeling.Trainer.Model;
using Labeling.Vocabulary;
using Microsoft.Extensions.Logging;
using ClassVocabulary = Labeling.Vocabulary.Vocabulary;

namespace Labeling.Trainer.Training;

/// <summary>What one training run needs: where the data comes from, the model's shape, the loop's options, where the model goes.</summary>
public sealed record TrainingRunRequest
{
    public required ITrainingSource Source { get; init; }

    public DetectorConfig Model { get; init; } = DetectorConfig.Preset("small");

    public TrainingOptions Training { get; init; } = new();

    /// <summary>Mixing of box and tag-only batches and augmentation; input size, mean and std come from <see cref="Model"/>.</summary>
    public BatchSamplerOptions Sampler { get; init; } = new();

    /// <summary>The exported <c>region-embedding/1</c> model; its weights go beside it as <c>.weights</c> for a later warm start.</summary>
    public required string OutputPath { get; init; }

    /// <summary>Start from these weights (a previous run's <c>.weights</c>) instead of random ones.</summary>
    public string? WarmStartWeights { get; init; }
}

/// <summary>The outcome of a run: the loop's numbers, the label space, and the files written.</summary>
public sealed record TrainingRunResult(TrainingResult Training, TrainingSourceCounts Counts, IReadOnlyList<string> ClassNames, string OnnxPath, string WeightsPath, TimeSpan ExportTime);

/// <summary>Source → label space and its text embeddings → batches → <see cref="DetectorTrainer"/> → ONNX export.</summary>
public static partial class TrainingRun
{
    public static async Task<TrainingRunResult> RunAsync(TrainingRunRequest request, ILogger logger, Action<TrainingProgress>? progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        var config = request.Model;
        config.Validate();
        if (!HashBowEncoder.TryForSpace(config.EmbeddingSpace, out var encoder) || encoder.Dimension != config.EmbeddingDim)
        {
            throw new ArgumentException($"Embedding space '{config.EmbeddingSpace}' with D = {config.EmbeddingDim}: the trainer encodes hashbow-D spaces whose D equals the model's embedding size.");
        }

        var counts = await request.Source.CountAsync(cancellationToken);
        if (counts.BoxImages == 0)
        {
            throw new InvalidOperationException("The training data has no image with boxes: a detector needs some box data to learn where objects are.");
        }

        var vocabulary = ClassVocabulary.Create(encoder, request.Source.ClassNames);
        LogStarting(logger, counts.BoxImages, counts.TagOnlyImages, counts.Boxes, vocabulary.Names.Count);
        var embeddings = new float[vocabulary.Names.Count, vocabulary.Dimension];
        var flat = vocabulary.Embeddings.Span;
        for (var i = 0; i < vocabulary.Names.Count; i++)
        {
            for (var j = 0; j < vocabulary.Dimension; j++)
            {
                embeddings[i, j] = flat[i * vocabulary.Dimension + j];
            }
        }

        TorchRuntime.Initialise(request.Training.Threads, request.Training.Device);
        TorchSharp.torch.manual_seed(request.Training.Seed);
        using var model = new OpenVocabularyDetector(config);
        if (request.WarmStartWeights is { } weights)
        {
            Checkpoints.LoadWeights(weights, model);
        }

        var sampler = new BatchSampler(request.Source, request.Sampler with
        {
            Seed = request.Training.Seed,
            Augment = request.Sampler.Augment with { InputSize = config.InputSize, Mean = config.Mean, Std = config.Std },
        });
        var trainer = new DetectorTrainer(model, request.Training, logger);
        var batches = sampler.BatchesAsync(request.Training.Steps, cancellationToken).ToBlockingEnumerable(cancellationToken);
        var result = await Task.Run(() => trainer.Train(batches, vocabulary.Names, embeddings, progress, cancellationToken), cancellationToken);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(request.OutputPath))!);
        DetectorOnnxExport.Export(model, request.OutputPath);
        var weightsPath = Path.ChangeExtension(request.OutputPath, ".weights");
        model.save(weightsPath);
        // The shape beside the weights: a later warm start (the retrain job) rebuilds the same network from it.
        await File.WriteAllTextAsync(ConfigPath(request.OutputPath), System.Text.Json.JsonSerializer.Serialize(config), cancellationToken);
        clock.Stop();
        LogFinished(logger, result.Steps, result.Loss.Describe(), result.SkippedSteps, request.OutputPath);
        return new TrainingRunResult(result, counts, vocabulary.Names, request.OutputPath, weightsPath, clock.Elapsed);
    }

    /// <summary>Where a run writes the <see cref="DetectorConfig"/> of <paramref name="onnxPath"/> (<c>NAME.config.json</c>).</summary>
    public static string ConfigPath(string onnxPath) => Path.ChangeExtension(onnxPath, ".config.json");

    /// <summary>Reads a config written beside a model by a run.</summary>
    /// <exception cref="InvalidDataException">Not a detector config.</exception>
    public static DetectorConfig ReadConfig(string path)
    {
        try
        {
            var config = System.Text.Json.JsonSerializer.Deserialize<DetectorConfig>(File.ReadAllText(path))
                ?? throw new InvalidDataException($"{path} holds no detector config.");
            config.Validate();
            return config;
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or ArgumentException)
        {
            throw new InvalidDataException($"{path} is not a detector config: {e.Message}", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Training on {BoxImages} box image(s), {TagImages} tag-only image(s), {Boxes} box(es), {Classes} class(es).")]
    private static partial void LogStarting(ILogger logger, long boxImages, long tagImages, long boxes, int classes);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trained {Steps} steps ({Loss}; {Skipped} skipped); exported {Path}.")]
    private static partial void LogFinished(ILogger logger, int steps, string loss, int skipped, string path);
}
