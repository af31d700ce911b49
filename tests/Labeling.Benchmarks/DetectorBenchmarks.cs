using System.Diagnostics;
using System.Globalization;
using Labeling.Detection;
using Labeling.Imaging;
using Labeling.Testing;
using Labeling.Vocabulary;
using SkiaSharp;

namespace Labeling.Benchmarks;

/// <summary>
/// Detector runtime speed, measured in one run so the figures compare: decode + letterbox of a
/// 1024×768 JPEG into a 512×512 input (full decode vs reduced-scale decode), and the reference
/// region-embedding model (512×512, K=100, D=256, four convolutions) per batch at batch 1 and 8.
/// </summary>
public static class DetectorBenchmarks
{
    public static int Run(string[] args)
    {
        var iterations = BenchmarkArgs.Int(args, "--iterations", 40);
        var threads = BenchmarkArgs.Int(args, "--threads", 0);
        var root = Path.Combine(Path.GetTempPath(), "labeling-detbench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        try
        {
            Console.WriteLine($"# Detector benchmarks — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {iterations} iterations, intra-op threads {(threads == 0 ? "default" : threads)}");
            Console.WriteLine();
            var jpeg = MakeJpeg();
            Console.WriteLine($"Input: a 1024×768 JPEG (quality 90, {jpeg.Length / 1024} KiB) made from shared/data/images/coffee.png.");
            Console.WriteLine();
            DecodeRows(jpeg, iterations);
            Console.WriteLine();
            DetectorRows(root, jpeg, iterations, threads);
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static void DecodeRows(byte[] jpeg, int iterations)
    {
        float[] mean = [0.485f, 0.456f, 0.406f];
        float[] std = [0.229f, 0.224f, 0.225f];
        var input = new float[3 * 512 * 512];
        var full = new ImageDecodeOptions();
        var reduced = new ImageDecodeOptions { TargetLongSide = 512 };
        double Once(ImageDecodeOptions options)
        {
            var clock = Stopwatch.StartNew();
            var result = ImageDecoder.Decode(jpeg, options);
            Letterbox.Fill(result.Image!, 512, 512, mean, std, input);
            return clock.Elapsed.TotalMilliseconds;
        }

        for (var i = 0; i < 5; i++)
        {
            Once(full);
            Once(reduced);
        }

        var a = new List<double>();
        var b = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            a.Add(Once(full));
            b.Add(Once(reduced));
        }

        Console.WriteLine("| decode + letterbox to 512×512 | median ms/image | p90 ms/image |");
        Console.WriteLine("| --- | ---: | ---: |");
        Console.WriteLine($"| full decode (1024×768) | {Median(a):F2} | {P90(a):F2} |");
        Console.WriteLine($"| reduced-scale decode (512×384) | {Median(b):F2} | {P90(b):F2} |");
        Console.WriteLine($"Reduced/full = {Median(b) / Median(a):F2}.");
    }

    private static void DetectorRows(string root, byte[] jpeg, int iterations, int threads)
    {
        var model = Path.Combine(root, "reference.onnx");
        DetectorModels.ReferenceRegionEmbedding(model, inputSize: 512, k: 100, d: 256);
        using var detector = OnnxDetector.Load(model, new DetectorOptions { IntraOpThreads = threads });
        var vocabulary = Labeling.Vocabulary.Vocabulary.Create(new HashBowEncoder(256), ["red fox", "cat", "dog", "coffee cup", "person", "car", "striped star", "blue triangle", "tree", "bicycle"]);
        var image = ImageDecoder.Decode(jpeg, new ImageDecodeOptions { TargetLongSide = 512 }).Image!;
        var request = new DetectionRequest { Vocabulary = vocabulary, ClassesPerImage = null, ScoreThreshold = 0.05f };
        double Once(int batch)
        {
            var images = Enumerable.Repeat(image, batch).ToList();
            var clock = Stopwatch.StartNew();
            detector.Detect(images, request, CancellationToken.None);
            return clock.Elapsed.TotalMilliseconds;
        }

        for (var i = 0; i < 3; i++)
        {
            Once(1);
            Once(8);
        }

        var one = new List<double>();
        var eight = new List<double>();
        for (var i = 0; i < iterations; i++)
        {
            one.Add(Once(1));
            eight.Add(Once(8));
        }

        Console.WriteLine($"Reference region-embedding model: 512×512 input, K=100, D=256, 4 convolutions; 10 classes scored per image; provider {detector.ExecutionProvider}.");
        Console.WriteLine("Each batch includes letterboxing the decoded image, the ONNX Runtime run, scoring, NMS.");
        Console.WriteLine();
        Console.WriteLine("| batch | median ms/batch | p90 ms/batch | median ms/image |");
        Console.WriteLine("| ---: | ---: | ---: | ---: |");
        Console.WriteLine($"| 1 | {Median(one):F2} | {P90(one):F2} | {Median(one):F2} |");
        Console.WriteLine($"| 8 | {Median(eight):F2} | {P90(eight):F2} | {Median(eight) / 8:F2} |");
        Console.WriteLine($"Per image, batch 8 / batch 1 = {Median(eight) / 8 / Median(one):F2}.");
    }

    private static byte[] MakeJpeg()
    {
        var source = RepoPaths.SharedData("images", "coffee.png");
        using var original = SKBitmap.Decode(source) ?? throw new FileNotFoundException("shared test image missing", source);
        using var resized = original.Resize(new SKImageInfo(1024, 768), new SKSamplingOptions(SKFilterMode.Linear));
        using var encoded = resized.Encode(SKEncodedImageFormat.Jpeg, 90);
        return encoded.ToArray();
    }

    private static double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);

    private static double P90(List<double> values) => values.Order().ElementAt(Math.Min(values.Count - 1, (int)(values.Count * 0.9)));
}
