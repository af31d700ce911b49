using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using Labeling.Blobs;
using Labeling.Detection;
using Labeling.Functions.Batches;
using Labeling.Functions.Ingest;
using Labeling.Imaging;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Sql;
using Labeling.Testing;
using Labeling.Vocabulary;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using SkiaSharp;

namespace Labeling.Benchmarks;

/// <summary>
/// End-to-end labelling on the embedded stack (folder blobs, SQLite queue, SQLite) with the
/// reference model, against the sum of the same work done stage by stage (read + decode, detect,
/// tag policy + write) on the same images with the same thread budget; and the worker's peak
/// memory (VmHWM) while it labels with label messages of <c>--batch</c> images.
/// </summary>
public static class PipelineBenchmarks
{
    private static readonly string[] Tags = ["cat", "dog", "red fox", "coffee cup", "person", "rocket", "motorcycle", "tree", "car", "bird"];

    public static async Task<int> RunAsync(string[] args)
    {
        var count = BenchmarkArgs.Int(args, "--images", 1000);
        var batch = BenchmarkArgs.Int(args, "--batch", 32);
        var root = Path.Combine(Path.GetTempPath(), "labeling-pipebench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            Console.WriteLine($"# Pipeline benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
            Console.WriteLine();
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Ingest:LabelBatchSize"] = batch.ToString(CultureInfo.InvariantCulture),
                ["LabelBatch:ModelBatchSize"] = "8",
                ["LabelBatch:ModelCacheFolder"] = Path.Combine(root, "models"),
                ["LabelWorker:Concurrency"] = "1",
            }).Build();
            var services = new ServiceCollection()
                .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
                .AddLabelingDatabase(o => o.ConnectionString = $"Data Source={Path.Combine(root, "labeling.db")}")
                .AddLabelingLocalBlobs(o => { o.RootPath = Path.Combine(root, "blobs"); o.FlushToDisk = false; })
                .AddLabelingSqliteQueues()
                .AddLabelingFunctions(configuration);
            await using var provider = services.BuildServiceProvider();
            provider.GetRequiredService<LabelsDatabase>().Migrate();
            var blobs = provider.GetRequiredService<IBlobStore>();
            var store = provider.GetRequiredService<ILabelStore>();
            await blobs.CreateIfNotExistsAsync(CancellationToken.None);

            var jpegBytes = await WriteImagesAsync(blobs, count);
            Console.WriteLine($"{count} JPEGs, 1024×768, quality 90 ({jpegBytes / count / 1024} KiB on average), made from the five shared photographs (seeded crops); tags from folders, {Tags.Length} classes.");
            var modelPath = Path.Combine(root, "reference.onnx");
            DetectorModels.ReferenceRegionEmbedding(modelPath, inputSize: 512, k: 100, d: 256);
            await using (var file = File.OpenRead(modelPath))
            {
                await blobs.WriteAsync("models/reference.onnx", file, overwrite: true, CancellationToken.None);
            }

            var sha = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(modelPath)));
            await store.RegisterModelAsync(new NewModel("reference", "region-embedding/1", "models/reference.onnx", sha, "hashbow-256"), CancellationToken.None);
            await store.ActivateModelAsync("reference", CancellationToken.None);
            var scan = await provider.GetRequiredService<InboxScanner>().ScanAsync(CancellationToken.None);
            Console.WriteLine($"Scan: {scan.ImagesCreated} images registered, {scan.MessagesSent} label messages of up to {batch} images.");
            Console.WriteLine("Reference region-embedding model: 512×512, K=100, D=256; model batches of 8; label worker concurrency 1; ONNX Runtime default threads.");
            Console.WriteLine();

            // End to end, measured first so the worker's memory peak is its own.
            GC.Collect();
            ResetPeakMemory();
            var worker = new LabelWorker(
                provider.GetRequiredService<IWorkQueueFactory>().GetQueue("label"),
                provider.GetRequiredService<LabelBatchHandler>(),
                provider.GetRequiredService<LabelReadiness>(),
                provider.GetRequiredService<IOptions<LabelWorkerOptions>>(),
                provider.GetRequiredService<IOptions<LabelBatchOptions>>(),
                provider.GetRequiredService<ILogger<LabelWorker>>());
            using var stop = new CancellationTokenSource();
            var clock = Stopwatch.StartNew();
            var run = worker.RunAsync(stop.Token);
            while (true)
            {
                var progress = (await store.GetProgressAsync("bench", CancellationToken.None)).Single();
                if (progress.Pending + progress.Queued == 0)
                {
                    break;
                }

                await Task.Delay(20);
            }

            var endToEnd = clock.Elapsed;
            var peak = PeakMemoryBytes();
            await stop.CancelAsync();
            await run;
            var done = (await store.GetProgressAsync("bench", CancellationToken.None)).Single();

            // The same work stage by stage, same images, same thread budget.
            var ids = await store.GetImageIdsByStatusAsync(ImageStatus.Labelled, "bench", 0, count, CancellationToken.None);
            var images = await store.GetImagesAsync(ids, CancellationToken.None);
            var tags = (await store.GetTagsAsync(ids, CancellationToken.None)).ToLookup(t => t.ImageId);

            clock.Restart();
            var decoded = new DecodedImage[images.Count];
            await Parallel.ForAsync(0, images.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount }, async (i, token) =>
            {
                await using var stream = await blobs.OpenReadAsync(images[i].BlobPath, token);
                using var memory = new MemoryStream();
                await stream.CopyToAsync(memory, token);
                decoded[i] = ImageDecoder.Decode(memory.ToArray(), new ImageDecodeOptions { TargetLongSide = 512 }).Image!;
            });
            var decodeTime = clock.Elapsed;

            var policy = new TagPolicy(new TagPolicyOptions());
            var classNames = Tags.Select(TagName.Normalise).ToList();
            var vocabulary = Labeling.Vocabulary.Vocabulary.Create(new HashBowEncoder(256), classNames);
            var noDiscovery = new Dictionary<string, long>();
            using var detector = OnnxDetector.Load(modelPath, new DetectorOptions());
            var labels = new List<ImageLabels>(images.Count);
            clock.Restart();
            for (var start = 0; start < images.Count; start += 8)
            {
                var slice = Enumerable.Range(start, Math.Min(8, images.Count - start)).ToList();
                var sliceTags = slice.Select(i => (IReadOnlyList<ImageTagRecord>)tags[images[i].Id].ToList()).ToList();
                var request = policy.CreateRequest(classNames, sliceTags, noDiscovery, vocabulary);
                var results = detector.Detect(slice.Select(i => decoded[i]).ToList(), request, CancellationToken.None);
                for (var j = 0; j < slice.Count; j++)
                {
                    labels.Add(policy.Apply(images[slice[j]].Id, sliceTags[j], results[j], classNames, noDiscovery));
                }
            }

            var detectTime = clock.Elapsed;
            var stageModel = await store.RegisterModelAsync(new NewModel("stage-write", "region-embedding/1", "models/reference.onnx", sha, "hashbow-256"), CancellationToken.None);
            clock.Restart();
            foreach (var chunk in labels.Chunk(batch))
            {
                await store.WriteLabelsAsync(stageModel, chunk, CancellationToken.None);
            }

            var writeTime = clock.Elapsed;
            var sum = decodeTime + detectTime + writeTime;

            Console.WriteLine("| measurement | seconds | images/s |");
            Console.WriteLine("| --- | ---: | ---: |");
            Console.WriteLine($"| end to end (scan excluded): {done.Labelled} labelled, {done.Failed} failed | {endToEnd.TotalSeconds:F2} | {count / endToEnd.TotalSeconds:F1} |");
            Console.WriteLine($"| stage: read + decode (parallel {Environment.ProcessorCount}) | {decodeTime.TotalSeconds:F2} | {count / decodeTime.TotalSeconds:F1} |");
            Console.WriteLine($"| stage: detect (batches of 8) + tag policy | {detectTime.TotalSeconds:F2} | {count / detectTime.TotalSeconds:F1} |");
            Console.WriteLine($"| stage: write labels ({batch} images a call) | {writeTime.TotalSeconds:F2} | {count / writeTime.TotalSeconds:F1} |");
            Console.WriteLine($"| sum of the stages | {sum.TotalSeconds:F2} | {count / sum.TotalSeconds:F1} |");
            Console.WriteLine();
            Console.WriteLine($"Overhead ratio, end to end / sum of stages = {endToEnd / sum:F2} (target ≤ 1.10; below 1 means the stages overlap).");
            Console.WriteLine($"Peak resident memory of the labelling process while labelling (VmHWM, batch {batch}): {peak / (1024.0 * 1024.0):F0} MiB (target < 1024 MiB).");
            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<long> WriteImagesAsync(IBlobStore blobs, int count)
    {
        var photos = new[] { "astronaut.png", "chelsea.png", "coffee.png", "rocket.jpg", "motorcycle_left.png" }
            .Select(name => SKBitmap.Decode(RepoPaths.SharedData("images", name)) ?? throw new InvalidDataException(name))
            .ToArray();
        var random = new Random(7);
        long total = 0;
        try
        {
            for (var i = 0; i < count; i++)
            {
                var photo = photos[i % photos.Length];
                var w = (int)(photo.Width * (0.6 + 0.4 * random.NextDouble()));
                var h = (int)(photo.Height * (0.6 + 0.4 * random.NextDouble()));
                var x = random.Next(0, photo.Width - w + 1);
                var y = random.Next(0, photo.Height - h + 1);
                using var target = new SKBitmap(1024, 768);
                using (var canvas = new SKCanvas(target))
                using (var image = SKImage.FromBitmap(photo))
                {
                    canvas.DrawImage(image, SKRect.Create(x, y, w, h), SKRect.Create(0, 0, 1024, 768), new SKSamplingOptions(SKFilterMode.Linear), null);
                }

                using var data = target.Encode(SKEncodedImageFormat.Jpeg, 90);
                using var stream = data.AsStream();
                total += data.Size;
                await blobs.WriteAsync($"inbox/bench/{Tags[i % Tags.Length]}/{i:D5}.jpg", stream, overwrite: true, CancellationToken.None);
            }
        }
        finally
        {
            foreach (var photo in photos)
            {
                photo.Dispose();
            }
        }

        return total;
    }

    // Linux: writing 5 to clear_refs resets the peak resident set size (VmHWM) of the process.
    private static void ResetPeakMemory()
    {
        try
        {
            File.WriteAllText("/proc/self/clear_refs", "5");
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private static long PeakMemoryBytes()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line is null ? Process.GetCurrentProcess().PeakWorkingSet64 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
    }
}
