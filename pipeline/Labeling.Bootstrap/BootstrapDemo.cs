using System.Diagnostics;
using Labeling.Blobs;
using Labeling.Functions.Batches;
using Labeling.Functions.Ingest;
using Labeling.Functions.Models;
using Labeling.Labels;
using Labeling.Trainer.Data;
using Labeling.Trainer.Model;
using Labeling.Trainer.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Labeling.Bootstrap;

/// <summary>Where the demo is: the stage (one of <see cref="BootstrapDemo.Stages"/>), its number, how far it is, and a line of detail.</summary>
public sealed record DemoProgress(string Stage, int StageIndex, int StageCount, double Fraction, string Detail);

/// <summary>
/// The bootstrap loop on the synthetic world, through the real parts: the world is written into the blob
/// inbox and scanned; the seed detector trains on the base boxes of the label store's pool; the workers
/// label every image (tag-only images get pseudo boxes under the tag policy); each round retrains on
/// human boxes + pseudo boxes + tags (Detic's image-label loss for the rest), warm-started, and the
/// workers label again; every model is scored on the gold split; the oracle trains on true boxes of
/// every class. Models and boxes stay in the store, so the dashboard and review page show them.
/// </summary>
public sealed partial class BootstrapDemo
{
    private readonly IServiceProvider _services;
    private readonly DemoOptions _options;
    private readonly ILogger _logger;
    private readonly List<string> _stages;
    private IProgress<DemoProgress>? _progress;
    private int _stage = -1;

    public BootstrapDemo(IServiceProvider services, DemoOptions options)
    {
        _services = services ?? throw new ArgumentNullException(nameof(services));
        _options = options ?? throw new ArgumentNullException(nameof(options));
        _options.Validate();
        _logger = services.GetService<ILoggerFactory>()?.CreateLogger<BootstrapDemo>() ?? (ILogger)NullLogger.Instance;
        _stages = ["Generate the world", "Ingest", "Train the seed", "Label with the seed", "Evaluate the seed"];
        for (var r = 1; r <= _options.Rounds; r++)
        {
            _stages.AddRange([$"Train round {r}", $"Label with round {r}", $"Evaluate round {r}"]);
        }

        if (_options.Oracle)
        {
            _stages.AddRange(["Train the oracle", "Evaluate the oracle"]);
        }
    }

    /// <summary>The stages in order.</summary>
    public IReadOnlyList<string> Stages => _stages;

    /// <summary>Runs the whole demo; writes <c>report.md</c>, <c>report.json</c> and the chart <c>report.png</c> into the work folder and returns the report.</summary>
    public async Task<DemoReport> RunAsync(IProgress<DemoProgress>? progress, CancellationToken cancellationToken)
    {
        _progress = progress;
        var clock = Stopwatch.StartNew();
        var store = _services.GetRequiredService<ILabelStore>();
        var blobs = _services.GetRequiredService<IBlobStore>();
        if (await store.GetModelAsync(_options.Version(0), cancellationToken) is not null)
        {
            throw new InvalidOperationException(
                $"Model {_options.Version(0)} is registered already: the demo ran in this store before. Use a fresh data folder (or another prefix).");
        }

        var work = Path.GetFullPath(_options.WorkFolder);
        Directory.CreateDirectory(work);
        var world = new OpenWorld(new OpenWorldOptions { Seed = _options.Seed, ImageSize = _options.ImageSize });

        Next("writing images");
        var worldFolder = Path.Combine(work, "world");
        var baseTruth = world.WriteSet(Path.Combine(worldFolder, _options.BaseDataset), OpenWorldSet.Base, _options.BaseImages);
        Report(0.3, $"{_options.BaseImages} base scenes");
        var taggedTruth = world.WriteSet(Path.Combine(worldFolder, _options.TaggedDataset), OpenWorldSet.Tagged, _options.TaggedImages,
            _options.Tags == DemoTags.All ? null : world.BaseClasses);
        Report(0.8, $"{_options.TaggedImages} tag-only images");
        world.WriteSet(Path.Combine(worldFolder, _options.GoldDataset), OpenWorldSet.Gold, _options.GoldImages);
        // The oracle's data: the same images with true boxes for every class (outside the inbox).
        var oraclePath = Path.Combine(worldFolder, "oracle.json");
        await File.WriteAllTextAsync(oraclePath, world.CocoJson(
            baseTruth.Images.Select(i => i with { Path = $"{_options.BaseDataset}/{i.Path}" })
                .Concat(taggedTruth.Images.Select(i => i with { Path = $"{_options.TaggedDataset}/{i.Path}", Split = "train" }))), cancellationToken);

        Next("uploading to the inbox and scanning");
        await blobs.CreateIfNotExistsAsync(cancellationToken);
        var prefix = _services.GetRequiredService<IOptions<IngestOptions>>().Value.Prefix;
        var files = new[] { _options.BaseDataset, _options.TaggedDataset, _options.GoldDataset }
            .SelectMany(d => Directory.EnumerateFiles(Path.Combine(worldFolder, d)).Order(StringComparer.Ordinal).Select(f => (Dataset: d, File: f))).ToList();
        for (var i = 0; i < files.Count; i++)
        {
            await using var stream = File.OpenRead(files[i].File);
            await blobs.WriteAsync($"{prefix}{files[i].Dataset}/{Path.GetFileName(files[i].File)}", stream, overwrite: true, cancellationToken);
            if (i % 50 == 0)
            {
                Report(0.9 * i / files.Count, $"{i} / {files.Count} files");
            }
        }

        var scan = await _services.GetRequiredService<InboxScanner>().ScanAsync(cancellationToken);
        Report(1, $"{scan.ImagesCreated} images, {scan.HumanBoxes} human boxes, {scan.Problems.Count} problems");

        var rows = new List<DemoRow>();
        var split = await GoldEvaluation.LoadSplitAsync(store, new GoldEvaluationOptions { Datasets = [_options.BaseDataset, _options.GoldDataset] }, cancellationToken);
        string? weights = null;
        for (var round = 0; round <= _options.Rounds; round++)
        {
            var version = _options.Version(round);
            var modelPath = Path.Combine(work, "models", version + ".onnx");
            Next(round == 0 ? $"{_options.SeedSteps} steps on base boxes" : $"{_options.RoundSteps} steps on boxes, pseudo boxes and tags");
            string[] datasets = round == 0 ? [_options.BaseDataset] : [_options.BaseDataset, _options.TaggedDataset];
            var pool = new TrainingPool(store, blobs, new TrainingPoolOptions { Datasets = datasets });
            var trained = await TrainAsync(pool, modelPath, round == 0 ? _options.SeedSteps : _options.RoundSteps,
                round == 0 ? _options.LearningRate : _options.RoundLearningRate, weights, cancellationToken);
            weights = trained.WeightsPath;
            var parent = round == 0 ? null : await store.GetModelAsync(_options.Version(round - 1), cancellationToken);
            await ModelRegistration.RegisterFileAsync(store, blobs, modelPath, version, activate: true, parent?.Id, cancellationToken);

            Next($"the workers label with {version}");
            var active = await store.GetActiveModelAsync(cancellationToken) ?? throw new InvalidOperationException($"{version} is not active after activation.");
            // Only this run's datasets: earlier demo runs beside it keep their labels.
            foreach (var dataset in new[] { _options.BaseDataset, _options.TaggedDataset, _options.GoldDataset })
            {
                await store.MarkStaleForRelabelAsync(active.Id, dataset, cancellationToken);
            }

            await LabelUntilIdleAsync(cancellationToken);

            Next($"{split.GroundTruth.ImageIds.Count} gold images");
            var (metrics, _) = await GoldEvaluation.EvaluateAsync(split, blobs, modelPath, new GoldEvaluationOptions { Threads = _options.Threads }, Fraction(), cancellationToken);
            // In the registry too, as a retraining run stores them, so the Models page and `models list` show each round's scores.
            var previous = rows.Count > 0 ? rows[^1] : null;
            await store.SetModelMetricsAsync(version, System.Text.Json.JsonSerializer.Serialize(new
            {
                gold = metrics,
                parent = previous is null ? null : new { version = previous.Version, gold = previous.Metrics },
                demo = new { round },
            }), cancellationToken);
            var human = baseTruth.Images.Sum(i => i.Objects.Count);
            rows.Add(new DemoRow(round == 0 ? "seed" : $"round {round}", version, metrics, round == 0 ? 0 : Math.Max(0, trained.Counts.Boxes - human), trained.Training.SecondsPerStep * trained.Training.Steps));
            LogRow(_logger, rows[^1].Name, metrics.AP, metrics.AP50, metrics.APBase ?? double.NaN, metrics.APNovel ?? double.NaN);
        }

        DemoRow? oracle = null;
        if (_options.Oracle)
        {
            var steps = _options.SeedSteps + (_options.Rounds * _options.RoundSteps);
            Next($"{steps} steps on true boxes of every class");
            var oraclePathOnnx = Path.Combine(work, "models", $"{_options.Prefix}-oracle.onnx");
            var trained = await TrainAsync(new CocoSource(oraclePath, worldFolder), oraclePathOnnx, steps, _options.LearningRate, null, cancellationToken);
            Next($"{split.GroundTruth.ImageIds.Count} gold images");
            var (metrics, _) = await GoldEvaluation.EvaluateAsync(split, blobs, oraclePathOnnx, new GoldEvaluationOptions { Threads = _options.Threads }, Fraction(), cancellationToken);
            oracle = new DemoRow("oracle", "", metrics, 0, trained.Training.SecondsPerStep * trained.Training.Steps);
            LogRow(_logger, "oracle", metrics.AP, metrics.AP50, metrics.APBase ?? double.NaN, metrics.APNovel ?? double.NaN);
        }

        var report = new DemoReport(
            "Bootstrap demo",
            $"{world.ClassNames.Count} classes ({world.NovelClasses.Count} novel), {_options.ImageSize}px, {_options.BaseImages} base scenes, "
                + $"{_options.TaggedImages} tag-only images ({(_options.Tags == DemoTags.All ? "every class" : "base classes only")}), {_options.GoldImages} gold scenes; "
                + $"preset {_options.Preset}, seed {_options.SeedSteps} steps, {_options.Rounds} round(s) of {_options.RoundSteps}, batch {_options.BatchSize}, {_options.Threads} thread(s)",
            rows, oracle, clock.Elapsed.TotalMinutes);
        await File.WriteAllTextAsync(Path.Combine(work, "report.md"), $"# {report.Title}\n\n{report.Setup}\n\n{report.ToMarkdown()}", cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(work, "report.json"), report.ToJson(), cancellationToken);
        DemoChart.Save(report, Path.Combine(work, "report.png"));
        return report;
    }

    private async Task<TrainingRunResult> TrainAsync(ITrainingSource source, string modelPath, int steps, float learningRate, string? warmStart, CancellationToken cancellationToken)
    {
        var config = DetectorConfig.Preset(_options.Preset) with { InputSize = _options.ImageSize };
        var request = new TrainingRunRequest
        {
            Source = source,
            Model = config,
            Training = new TrainingOptions
            {
                Steps = steps,
                BatchSize = _options.BatchSize,
                LearningRate = learningRate,
                WarmupSteps = Math.Min(100, steps / 10),
                Threads = _options.Threads,
                Device = _options.Device,
                Seed = _options.Seed,
            },
            Sampler = new BatchSamplerOptions { BatchSize = _options.BatchSize, BoxWeight = 1, TagWeight = _options.TagBatchesPerBoxBatch },
            OutputPath = modelPath,
            WarmStartWeights = warmStart,
        };
        var logger = _services.GetService<ILoggerFactory>()?.CreateLogger("Labeling.Trainer") ?? NullLogger.Instance;
        return await TrainingRun.RunAsync(request, logger, p => Report(p.Step / (double)p.Steps, $"step {p.Step}/{p.Steps}, loss {p.Loss:F3}"), cancellationToken);
    }

    /// <summary>
    /// Queues every pending image and waits until labelling is idle; runs a label worker in this process when
    /// <see cref="DemoOptions.RunWorker"/>, else the host's workers do the work.
    /// </summary>
    private async Task LabelUntilIdleAsync(CancellationToken cancellationToken)
    {
        await _services.GetRequiredService<InboxScanner>().EnqueuePendingAsync(null, cancellationToken);
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var worker = _options.RunWorker ? _services.GetRequiredService<LabelWorker>().RunAsync(stop.Token) : null;
        try
        {
            await _services.GetRequiredService<LabelIdle>().WaitAsync(worker, untilIdle: true,
                p => Report((p.Labelled + p.Failed) / (double)Math.Max(1, p.Images), $"{p.Labelled + p.Failed} / {p.Images} images labelled"), cancellationToken);
        }
        finally
        {
            await stop.CancelAsync();
            if (worker is not null)
            {
                try
                {
                    await worker;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    // the normal way the worker ends
                }
            }
        }
    }

    private void Next(string detail)
    {
        _stage++;
        Report(0, detail);
    }

    private void Report(double fraction, string detail) =>
        _progress?.Report(new DemoProgress(_stages[_stage], _stage, _stages.Count, Math.Clamp(fraction, 0, 1), detail));

    private IProgress<double> Fraction() => new SynchronousProgress(f => Report(f, $"{f:P0} of the gold images"));

    /// <summary>Reports on the caller's thread (Progress&lt;T&gt; would post to the thread pool and reorder reports).</summary>
    private sealed class SynchronousProgress(Action<double> report) : IProgress<double>
    {
        public void Report(double value) => report(value);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Demo {Row}: AP {AP:F3}, AP50 {AP50:F3}, AP-base {Base:F3}, AP-novel {Novel:F3}")]
    private static partial void LogRow(ILogger logger, string row, double ap, double ap50, double @base, double novel);
}
