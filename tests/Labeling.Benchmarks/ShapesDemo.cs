using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Labeling.Cli;
using Labeling.Trainer.Data;

namespace Labeling.Benchmarks;

/// <summary>
/// The trainer's end-to-end check, through the same commands a user runs: generate shapes, ingest a
/// boxed training set, <c>labeling train --register v1 --activate</c> from the label store's pool,
/// ingest held-out images that carry only tags, label them with <c>labeling work --until-idle</c>,
/// read the stored boxes back with <c>labeling query</c>, and score them: AP at IoU 0.5 per class
/// (all-point interpolated, as VOC and COCO compute it) against the generator's ground truth.
/// </summary>
public static class ShapesDemo
{
    public static async Task<int> RunAsync(string[] args)
    {
        var train = BenchmarkArgs.Int(args, "--train", 400);
        var test = BenchmarkArgs.Int(args, "--test", 100);
        var steps = BenchmarkArgs.Int(args, "--steps", 1500);
        var threads = BenchmarkArgs.Int(args, "--threads", 2);
        var keep = args.SkipWhile(a => a != "--keep").Skip(1).FirstOrDefault();
        var root = keep ?? Path.Combine(Path.GetTempPath(), "labeling-shapes-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var config = Path.Combine(root, "labeling.json");
        var data = Path.Combine(root, "data");
        File.WriteAllText(config, JsonSerializer.Serialize(new
        {
            Database = new { ConnectionString = $"Data Source={Path.Combine(data, "labeling.db")}" },
            LocalBlobStore = new { RootPath = Path.Combine(data, "blobs"), FlushToDisk = false },
            LabelBatch = new { ModelCacheFolder = Path.Combine(data, "models") },
        }));
        try
        {
            Console.WriteLine($"# Shapes demo — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores: {train} boxed training images, {test} held-out tag-only images, {steps} steps, {threads} thread(s)");
            var clock = Stopwatch.StartNew();
            var trainFolder = Path.Combine(root, "shapes-train");
            var testFolder = Path.Combine(root, "shapes-test");
            new ShapesWorld(new ShapesWorldOptions { Seed = 1 }).WriteFolder(trainFolder, train, new ShapesFolderOptions { BoxedCount = train });
            var truth = new ShapesWorld(new ShapesWorldOptions { Seed = 2 }).WriteFolder(testFolder, test, new ShapesFolderOptions { BoxedCount = 0 });

            await Cli(config, "ingest", trainFolder, "--dataset", "shapes-train");
            var trainClock = Stopwatch.StartNew();
            var trained = JsonDocument.Parse(await Cli(config, "train", "--steps", $"{steps}", "--batch", "8", "--preset", "small",
                "--threads", $"{threads}", "--out", Path.Combine(root, "shapes-v1.onnx"), "--register", "v1", "--activate", "--json")).RootElement;
            var trainSeconds = trainClock.Elapsed.TotalSeconds;
            await Cli(config, "ingest", testFolder, "--dataset", "shapes-test");
            await Cli(config, "work", "--until-idle");
            var boxes = JsonDocument.Parse(await Cli(config, "query", "--dataset", "shapes-test", "--format", "json", "--limit", "100000")).RootElement;

            var detections = boxes.EnumerateArray().Select(b => (
                Image: Path.GetFileName(b.GetProperty("imagePath").GetString()!),
                Class: b.GetProperty("className").GetString()!,
                Score: b.GetProperty("score").ValueKind == JsonValueKind.Number ? b.GetProperty("score").GetSingle() : 0f,
                Box: new[] { b.GetProperty("x1").GetSingle(), b.GetProperty("y1").GetSingle(), b.GetProperty("x2").GetSingle(), b.GetProperty("y2").GetSingle() })).ToList();
            var objects = truth.Images.SelectMany(i => i.Objects.Select(o => (Image: Path.GetFileName(i.Path), Class: o.ClassName, Box: o.Box.ToArray()))).ToList();

            Console.WriteLine();
            Console.WriteLine($"Training: loss {trained.GetProperty("firstLoss").GetSingle():F3} → {trained.GetProperty("lastLoss").GetSingle():F3}, "
                + $"{trained.GetProperty("skippedSteps").GetInt32()} skipped, {trained.GetProperty("secondsPerStep").GetDouble() * 1000:F0} ms/step, {trainSeconds:F0} s in all.");
            Console.WriteLine();
            Console.WriteLine("| class | objects | boxes stored | AP50 |");
            Console.WriteLine("| --- | --- | --- | --- |");
            var aps = new List<double>();
            foreach (var name in truth.Classes)
            {
                var ap = AveragePrecision(detections.Where(d => d.Class == name).Select(d => (d.Image, d.Score, d.Box)).ToList(),
                    objects.Where(o => o.Class == name).Select(o => (o.Image, o.Box)).ToList());
                aps.Add(ap);
                Console.WriteLine($"| {name} | {objects.Count(o => o.Class == name)} | {detections.Count(d => d.Class == name)} | {ap:F3} |");
            }

            Console.WriteLine($"| **mean** | {objects.Count} | {detections.Count} | **{aps.Average():F3}** |");
            Console.WriteLine();
            Console.WriteLine($"Whole run: {clock.Elapsed.TotalMinutes:F1} min. Folder: {(keep is null ? "(deleted)" : root)}");
            return aps.Average() >= 0.8 ? 0 : 1;
        }
        finally
        {
            if (keep is null)
            {
                Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
                Directory.Delete(root, recursive: true);
            }
        }
    }

    /// <summary>AP at IoU 0.5: detections by descending score, each matched to the best unmatched object of its image; all-point interpolated precision over recall.</summary>
    public static double AveragePrecision(IReadOnlyList<(string Image, float Score, float[] Box)> detections, IReadOnlyList<(string Image, float[] Box)> objects)
    {
        if (objects.Count == 0)
        {
            return double.NaN;
        }

        var used = new HashSet<int>();
        var tp = new List<int>();
        foreach (var d in detections.OrderByDescending(d => d.Score))
        {
            var best = -1;
            var bestIou = 0.5;
            for (var i = 0; i < objects.Count; i++)
            {
                if (objects[i].Image != d.Image || used.Contains(i))
                {
                    continue;
                }

                var iou = Iou(d.Box, objects[i].Box);
                if (iou >= bestIou)
                {
                    (best, bestIou) = (i, iou);
                }
            }

            tp.Add(best >= 0 ? 1 : 0);
            if (best >= 0)
            {
                used.Add(best);
            }
        }

        var precision = new double[tp.Count];
        var recall = new double[tp.Count];
        var hits = 0;
        for (var i = 0; i < tp.Count; i++)
        {
            hits += tp[i];
            precision[i] = hits / (double)(i + 1);
            recall[i] = hits / (double)objects.Count;
        }

        for (var i = tp.Count - 2; i >= 0; i--)
        {
            precision[i] = Math.Max(precision[i], precision[i + 1]);
        }

        var ap = 0.0;
        var previous = 0.0;
        for (var i = 0; i < tp.Count; i++)
        {
            ap += (recall[i] - previous) * precision[i];
            previous = recall[i];
        }

        return ap;
    }

    private static double Iou(float[] a, float[] b)
    {
        var w = Math.Max(0, Math.Min(a[2], b[2]) - Math.Max(a[0], b[0]));
        var h = Math.Max(0, Math.Min(a[3], b[3]) - Math.Max(a[1], b[1]));
        var inter = (double)w * h;
        var union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter;
        return union > 0 ? inter / union : 0;
    }

    private static async Task<string> Cli(string config, params string[] args)
    {
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LabelingCli.RunAsync([.. args, "--config", config], output, error, CancellationToken.None);
        if (code != 0)
        {
            throw new InvalidOperationException($"labeling {string.Join(' ', args)} exited {code}: {error}{output}");
        }

        return output.ToString();
    }
}
