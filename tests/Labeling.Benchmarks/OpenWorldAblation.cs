using System.Diagnostics;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Bootstrap;
using Labeling.Evaluation;
using Labeling.Trainer.Data;
using Labeling.Trainer.Model;
using Labeling.Trainer.Training;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Benchmarks;

/// <summary>
/// The trainer's side of the bootstrap demo without the store and the workers, for ablations: train on the synthetic
/// world's base boxes (and, with <c>--tagged N</c>, Detic's image-label loss on tag-only images of every class, or of
/// base classes only with <c>--tags base</c>; <c>--detic-proposal largest|objectness</c>; <c>--tag-batches N</c> tag-only
/// batches per box batch, default 1), then score the model on the gold split exactly as the demo does (COCO AP,
/// AP-base, AP-novel). Every knob of the loss is an option, so one run answers one question.
/// </summary>
public static class OpenWorldAblation
{
    public static async Task<int> RunAsync(string[] args)
    {
        var baseImages = BenchmarkArgs.Int(args, "--base", 400);
        var tagged = BenchmarkArgs.Int(args, "--tagged", 0);
        var gold = BenchmarkArgs.Int(args, "--gold", 200);
        var size = BenchmarkArgs.Int(args, "--size", 128);
        var seed = BenchmarkArgs.Int(args, "--seed", 1500);
        var steps = BenchmarkArgs.Int(args, "--steps", 600);
        var threads = BenchmarkArgs.Int(args, "--threads", 2);
        var tags = BenchmarkArgs.Text(args, "--tags", "all");
        var oracle = args.Contains("--oracle");
        var defaults = new TrainingOptions();
        var training = new TrainingOptions
        {
            Steps = steps,
            BatchSize = BenchmarkArgs.Int(args, "--batch", 8),
            LearningRate = BenchmarkArgs.Float(args, "--lr", 2e-3f),
            WarmupSteps = Math.Min(100, steps / 10),
            Threads = threads,
            Seed = seed,
            ClassificationWeight = BenchmarkArgs.Float(args, "--cls-weight", defaults.ClassificationWeight),
            SoftWeight = BenchmarkArgs.Float(args, "--soft", defaults.SoftWeight),
            DeticWeight = BenchmarkArgs.Float(args, "--detic", defaults.DeticWeight),
            DeticProposal = BenchmarkArgs.Text(args, "--detic-proposal", "largest") == "objectness" ? DeticProposal.HighestObjectness : DeticProposal.Largest,
        };
        var root = Path.Combine(Path.GetTempPath(), "labeling-openworld-" + Guid.NewGuid().ToString("N")[..8]);
        var container = Path.Combine(root, "blobs", "labeling");
        try
        {
            var clock = Stopwatch.StartNew();
            var world = new OpenWorld(new OpenWorldOptions { Seed = seed, ImageSize = size });
            var baseTruth = world.WriteSet(Path.Combine(container, "base"), OpenWorldSet.Base, baseImages);
            var taggedTruth = world.WriteSet(Path.Combine(container, "tagged"), OpenWorldSet.Tagged, tagged, tags == "base" ? world.BaseClasses : null);
            var goldTruth = world.WriteSet(Path.Combine(container, "gold"), OpenWorldSet.Gold, gold);

            // Base images with boxes (of every class for the oracle); tag-only images as crowd regions, which CocoSource reads as tags.
            var annotations = Path.Combine(root, "train.json");
            await File.WriteAllTextAsync(annotations, TrainingJson(world, baseTruth, taggedTruth, oracle));
            var generate = clock.Elapsed;

            var model = Path.Combine(root, "model.onnx");
            var trained = await TrainingRun.RunAsync(new TrainingRunRequest
            {
                Source = new CocoSource(annotations, container),
                Model = DetectorConfig.Preset(BenchmarkArgs.Text(args, "--preset", "small")) with { InputSize = size },
                Training = training,
                Sampler = new BatchSamplerOptions { BatchSize = training.BatchSize, BoxWeight = 1, TagWeight = BenchmarkArgs.Int(args, "--tag-batches", 1) },
                OutputPath = model,
            }, NullLogger.Instance, p =>
            {
                if (p.Step % 100 == 0)
                {
                    Console.Error.WriteLine($"step {p.Step}/{p.Steps} loss {p.Loss:F3} " + string.Join(' ', p.Parts.Select(kv => $"{kv.Key} {kv.Value:F3}")));
                }
            }, CancellationToken.None);
            var train = clock.Elapsed - generate;

            var split = Split(world, goldTruth);
            await using var services = new ServiceCollection()
                .AddLabelingLocalBlobs(o => (o.RootPath, o.FlushToDisk) = (Path.Combine(root, "blobs"), false))
                .BuildServiceProvider();
            var blobs = services.GetRequiredService<IBlobStore>();
            var (metrics, result) = await GoldEvaluation.EvaluateAsync(split, blobs, model, new GoldEvaluationOptions { Threads = threads }, null, CancellationToken.None);
            Console.WriteLine(string.Join(' ', args));
            Console.WriteLine($"  AP {metrics.AP:F3}  AP50 {metrics.AP50:F3}  AP-base {metrics.APBase:F3}  AP-novel {metrics.APNovel:F3}  AP50-base {metrics.AP50Base:F3}  AP50-novel {metrics.AP50Novel:F3}  "
                + $"(train {train.TotalSeconds:F0} s, {trained.Training.SecondsPerStep:F3} s/step, last loss {trained.Training.LastLoss:F3})");
            Console.WriteLine("  AP50 per class: " + string.Join(", ", result.PerCategoryAt(0.5).Select(c => $"{c.Name} {c.AveragePrecision:F2}")));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static string TrainingJson(OpenWorld world, ShapesGroundTruth baseTruth, ShapesGroundTruth taggedTruth, bool oracle)
    {
        var ids = world.ClassNames.Select((name, i) => (name, id: i + 1)).ToDictionary(p => p.name, p => p.id);
        var images = new List<object>();
        var annotations = new List<object>();
        void Add(string folder, ShapesGroundTruthImage image, bool crowd)
        {
            var imageId = images.Count + 1;
            images.Add(new { id = imageId, file_name = $"{folder}/{image.Path}", width = image.Width, height = image.Height });
            foreach (var o in image.Objects)
            {
                var (x, y, w, h) = (o.Box[0], o.Box[1], o.Box[2] - o.Box[0], o.Box[3] - o.Box[1]);
                annotations.Add(new { id = annotations.Count + 1, image_id = imageId, category_id = ids[o.ClassName], bbox = new[] { x, y, w, h }, area = w * h, iscrowd = crowd ? 1 : 0 });
            }
        }

        foreach (var image in baseTruth.Images)
        {
            Add("base", image, crowd: false);
        }

        foreach (var image in taggedTruth.Images)
        {
            Add("tagged", image, crowd: !oracle);
        }

        return JsonSerializer.Serialize(new
        {
            split = "train",
            images,
            annotations,
            categories = world.ClassNames.Select(n => new { id = ids[n], name = n }),
        });
    }

    private static GoldSplit Split(OpenWorld world, ShapesGroundTruth goldTruth)
    {
        var classes = world.ClassNames.Order(StringComparer.Ordinal).ToList();
        var ids = classes.Select((name, i) => (name, id: (long)i + 1)).ToDictionary(p => p.name, p => p.id);
        long annotationId = 0;
        var truth = new CocoDataset(
            goldTruth.Images.Select((_, i) => (long)i + 1),
            classes.Select(c => new CocoCategory(ids[c], c)),
            goldTruth.Images.SelectMany((image, i) => image.Objects.Select(o => new CocoAnnotation(
                ++annotationId, i + 1, ids[o.ClassName], new CocoBox(o.Box[0], o.Box[1], o.Box[2] - o.Box[0], o.Box[3] - o.Box[1]),
                (o.Box[2] - o.Box[0]) * (o.Box[3] - o.Box[1]), false))));
        return new GoldSplit(truth, goldTruth.Images.Select((image, i) => (id: (long)i + 1, path: $"gold/{image.Path}")).ToDictionary(p => p.id, p => p.path),
            classes, world.BaseClasses.ToHashSet(StringComparer.Ordinal));
    }
}
