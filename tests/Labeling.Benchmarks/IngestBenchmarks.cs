using System.Diagnostics;
using System.Security.Cryptography;
using Labeling.Blobs;
using Labeling.Functions.Ingest;
using Labeling.Sql;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Labeling.Benchmarks;

/// <summary>
/// What hashing every new image costs the inbox scan (content identity is the SHA-256 of the bytes, read at
/// registration; on Azure the listing's MD5 used to be free): N images of S KiB in a local blob folder, scanned into a
/// fresh SQLite database, against reading and hashing the same files alone.
/// Usage: <c>dotnet run -c Release --project tests/Labeling.Benchmarks -- ingest [--images N] [--kib S]</c>.
/// </summary>
public static class IngestBenchmarks
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = BenchmarkArgs.Int(args, "--images", 2000);
        var kib = BenchmarkArgs.Int(args, "--kib", 256);
        var root = Path.Combine(Path.GetTempPath(), "labeling-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        var services = new ServiceCollection()
            .AddLogging(b => b.SetMinimumLevel(LogLevel.Warning))
            .AddLabelingDatabase(o => o.ConnectionString = $"Data Source={Path.Combine(root, "labeling.db")}")
            .AddLabelingLocalBlobs(o => { o.RootPath = Path.Combine(root, "blobs"); o.FlushToDisk = false; })
            .AddLabelingSqliteQueues()
            .AddLabelingFunctions(new ConfigurationBuilder().Build());
        await using var provider = services.BuildServiceProvider();
        provider.GetRequiredService<LabelsDatabase>().Migrate();
        var blobs = provider.GetRequiredService<IBlobStore>();
        await blobs.CreateIfNotExistsAsync(CancellationToken.None);
        var random = new Random(1);
        var bytes = new byte[kib * 1024];
        var names = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            random.NextBytes(bytes);
            var name = $"inbox/bench/c{i % 20}/{i:D6}.jpg";
            using var content = new MemoryStream(bytes);
            await blobs.WriteAsync(name, content, overwrite: false, CancellationToken.None);
            names.Add(name);
        }

        Console.WriteLine($"# Ingest benchmark — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        Console.WriteLine($"{count:N0} images × {kib} KiB ({count * (long)kib / 1024.0:N0} MiB), local folder store (page cache warm), SQLite.");
        Console.WriteLine();

        var sha = Stopwatch.StartNew();
        foreach (var name in names)
        {
            await ContentHash.ComputeAsync(blobs, name, long.MaxValue, withMd5: false, CancellationToken.None);
        }

        sha.Stop();
        var md5 = Stopwatch.StartNew();
        foreach (var name in names)
        {
            await using var stream = await blobs.OpenReadAsync(name, CancellationToken.None);
#pragma warning disable CA5351 // what the scan computed before, measured for comparison
            await MD5.HashDataAsync(stream);
#pragma warning restore CA5351
        }

        md5.Stop();
        var scanner = provider.GetRequiredService<InboxScanner>();
        var scan = Stopwatch.StartNew();
        var report = await scanner.ScanAsync(CancellationToken.None);
        scan.Stop();
        var rescan = Stopwatch.StartNew();
        await scanner.ScanAsync(CancellationToken.None);
        rescan.Stop();

        double MiBs(TimeSpan t) => count * (double)kib / 1024 / t.TotalSeconds;
        Console.WriteLine("| step | time (s) | images/s | MiB/s |");
        Console.WriteLine("| --- | ---: | ---: | ---: |");
        Console.WriteLine($"| SHA-256 of every file alone | {sha.Elapsed.TotalSeconds:F2} | {count / sha.Elapsed.TotalSeconds:N0} | {MiBs(sha.Elapsed):N0} |");
        Console.WriteLine($"| MD5 of every file alone (before) | {md5.Elapsed.TotalSeconds:F2} | {count / md5.Elapsed.TotalSeconds:N0} | {MiBs(md5.Elapsed):N0} |");
        Console.WriteLine($"| first scan: list, hash, register, tag, queue | {scan.Elapsed.TotalSeconds:F2} | {report.ImagesCreated / scan.Elapsed.TotalSeconds:N0} | {MiBs(scan.Elapsed):N0} |");
        Console.WriteLine($"| second scan: nothing new (no file read) | {rescan.Elapsed.TotalSeconds:F2} | {count / rescan.Elapsed.TotalSeconds:N0} | |");
        Console.WriteLine();
        Console.WriteLine($"Hashing is {sha.Elapsed / scan.Elapsed:P0} of the first scan.");
        Directory.Delete(root, recursive: true);
        return 0;
    }
}
