using System.Diagnostics;
using Labeling.Trainer;
using Labeling.Trainer.Data;
using Labeling.Trainer.Model;
using Labeling.Trainer.Training;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;

namespace Labeling.Benchmarks;

/// <summary>
/// Trainer speed in one run: ms per training step (batch 8 of 256×256 shapes, box data, the
/// preset's model) at 1 and 2 libtorch threads in alternating rounds, then the time to export the
/// model to ONNX and to run the parity check (TorchSharp vs ONNX Runtime on one image).
/// </summary>
public static class TrainerBenchmarks
{
    public static int Run(string[] args)
    {
        var steps = BenchmarkArgs.Int(args, "--steps", 10);
        var rounds = BenchmarkArgs.Int(args, "--rounds", 3);
        var preset = args.SkipWhile(a => a != "--preset").Skip(1).FirstOrDefault() ?? "small";
        TorchRuntime.Initialise(1);
        var config = DetectorConfig.Preset(preset);
        Console.WriteLine($"# Trainer benchmarks — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, preset {preset} ({config.InputSize}², K={config.Proposals}, D={config.EmbeddingDim}), batch 8, {steps} timed steps × {rounds} rounds per thread count");
        var world = new ShapesWorld(new ShapesWorldOptions { Seed = 3, Width = config.InputSize, Height = config.InputSize, MinSize = Math.Max(8, config.InputSize / 10), MaxSize = config.InputSize * 3 / 8 });
        var augment = AugmentOptions.None(config.InputSize) with { Mean = config.Mean, Std = config.Std };
        var batch = Enumerable.Range(0, 8).Select(i =>
        {
            var s = world.Generate(i);
            var image = Labeling.Imaging.ImageDecoder.Decode(s.Png, new Labeling.Imaging.ImageDecodeOptions()).Image!;
            var sample = new TrainingSample($"{i}", image, s.Objects.Select(o => new TrainingBox(o.X1, o.Y1, o.X2, o.Y2, o.ClassName)).ToList(), s.Tags, SampleKind.BoxData);
            return Augment.Prepare(sample, augment);
        }).ToList();
        var names = world.ClassNames;
        var encoder = new Labeling.Vocabulary.HashBowEncoder(config.EmbeddingDim);
        var text = new float[names.Count, config.EmbeddingDim];
        for (var i = 0; i < names.Count; i++)
        {
            var row = encoder.Encode(names[i]);
            for (var j = 0; j < row.Length; j++)
            {
                text[i, j] = row[j];
            }
        }

        torch.manual_seed(1);
        using var model = new OpenVocabularyDetector(config);
        var timings = new Dictionary<int, List<double>> { [1] = [], [2] = [] };
        for (var round = 0; round < rounds; round++)
        {
            foreach (var threads in new[] { 1, 2 })
            {
                // Two warm-up steps (allocator, oneDNN primitives), then the timed ones.
                var options = new TrainingOptions { Steps = steps + 2, BatchSize = 8, Threads = threads, ReportEvery = 1, WarmupSteps = 1 };
                var trainer = new DetectorTrainer(model, options, NullLogger.Instance);
                var stamps = new List<TimeSpan>();
                var clock = Stopwatch.StartNew();
                trainer.Train(Enumerable.Repeat<IReadOnlyList<PreparedSample>>(batch, steps + 2), names, text, _ => stamps.Add(clock.Elapsed), CancellationToken.None);
                timings[threads].Add((stamps[^1] - stamps[1]).TotalMilliseconds / steps);
            }
        }

        Console.WriteLine();
        Console.WriteLine("| threads | ms per step (median of rounds) | rounds | ratio to 1 thread |");
        Console.WriteLine("| --- | --- | --- | --- |");
        var one = Median(timings[1]);
        foreach (var (threads, values) in timings)
        {
            Console.WriteLine($"| {threads} | {Median(values):F0} | {string.Join(", ", values.Select(v => v.ToString("F0")))} | {Median(values) / one:F2} |");
        }

        TorchRuntime.Initialise(1);
        model.eval();
        var path = Path.Combine(Path.GetTempPath(), $"labeling-trainer-bench-{Guid.NewGuid():N}.onnx");
        try
        {
            var clock = Stopwatch.StartNew();
            DetectorOnnxExport.Export(model, path);
            var export = clock.Elapsed;
            clock.Restart();
            using var input = torch.tensor(batch[0].Chw, [1, 3, config.InputSize, config.InputSize]);
            var (boxes, objectness, embeddings) = model.call(input);
            using var session = new InferenceSession(path);
            using var results = session.Run([NamedOnnxValue.CreateFromTensor("images", new DenseTensor<float>(batch[0].Chw, [1, 3, config.InputSize, config.InputSize]))]);
            var onnx = results.ToDictionary(r => r.Name, r => r.AsEnumerable<float>().ToArray());
            var worst = new[] { (boxes, "boxes"), (objectness, "objectness"), (embeddings, "embeddings") }
                .Max(p => p.Item1.data<float>().ToArray().Zip(onnx[p.Item2], (a, b) => Math.Abs(a - b)).Max());
            var parity = clock.Elapsed;
            Console.WriteLine();
            Console.WriteLine($"| export to ONNX | parity check (TorchSharp + ONNX Runtime session + compare, 1 image) | largest difference | file |");
            Console.WriteLine("| --- | --- | --- | --- |");
            Console.WriteLine($"| {export.TotalMilliseconds:F0} ms | {parity.TotalMilliseconds:F0} ms | {worst:E1} | {new FileInfo(path).Length / 1024} KiB |");
        }
        finally
        {
            File.Delete(path);
        }

        return 0;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
