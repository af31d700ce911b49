using System.Diagnostics;
using System.Globalization;
using Labeling.Labels;
using Labeling.Queues;
using Labeling.Schema;
using Labeling.Sql;
using Labeling.Testing;
using Microsoft.Extensions.Options;

namespace Labeling.Benchmarks;

/// <summary>
/// Throughput of the storage side on real backends, each measured in the same run so the
/// figures compare (this machine is shared and noisy): boxes written per second by each label
/// store, and messages per second through the embedded queue (send + receive + delete).
/// Usage: <c>dotnet run -c Release --project tests/Labeling.Benchmarks -- storage [--boxes N] [--messages N] [--rounds N] [--images-per-call N] [--without-indexes]</c>
/// (the last adds a pass without the two secondary box indexes, to show what they cost).
/// </summary>
public static class StorageBenchmarks
{
    private const int BoxesPerImage = 100;

    public static async Task<int> RunAsync(string[] args)
    {
        var boxes = BenchmarkArgs.Int(args, "--boxes", 1_000_000);
        var messages = BenchmarkArgs.Int(args, "--messages", 20_000);
        var rounds = BenchmarkArgs.Int(args, "--rounds", 2);
        var bare = args.Contains("--without-indexes");
        var imagesPerCall = BenchmarkArgs.Int(args, "--images-per-call", 200); // one WriteLabels call = one worker batch

        var images = Math.Max(1, boxes / BoxesPerImage);
        var root = Path.Combine(Path.GetTempPath(), "labeling-bench-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(root);
        Console.WriteLine($"# Storage benchmarks — {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
        Console.WriteLine($"{images:N0} images × {BoxesPerImage} boxes = {images * BoxesPerImage:N0} boxes per round, {imagesPerCall} images per WriteLabels call; {rounds} rounds.");
        Console.WriteLine();

        try
        {
            await using var postgres = await PostgresServer.StartAsync(durable: true);
            var pgConnection = await postgres.CreateDatabaseAsync("bench");
            await using var pg = LabelsDatabase.Create(new DatabaseOptions { Provider = DatabaseProvider.Postgres, ConnectionString = pgConnection });
            await using var sqlite = LabelsDatabase.Create(new DatabaseOptions { ConnectionString = $"Data Source={Path.Combine(root, "bench.db")}" });
            pg.Migrate();
            sqlite.Migrate();
            var stores = new (string Name, ILabelStore Store)[] { ("SQLite", new SqliteLabelStore(sqlite)), ("PostgreSQL", new PostgresLabelStore(pg)) };
            var seeded = new List<(string Name, ILabelStore Store, long Model, long[] Images, long[] Classes)>();
            foreach (var (name, store) in stores)
            {
                var (model, imageIds, classIds) = await SeedAsync(store, images);
                seeded.Add((name, store, model, imageIds, classIds));
            }

            Console.WriteLine("| store | indexes | round | write into empty (boxes/s) | replace same (image, model) (boxes/s) |");
            Console.WriteLine("| --- | --- | --- | ---: | ---: |");
            var variants = bare ? new[] { "required", "none" } : ["required"];
            var medians = new Dictionary<(string Store, string Indexes), double>();
            foreach (var variant in variants)
            {
                if (variant == "none")
                {
                    // What the two secondary indexes cost: the same writes without them.
                    await ExecuteAsync(sqlite, "DROP INDEX ix_boxes_class_score; DROP INDEX ix_boxes_image_model;");
                    await ExecuteAsync(pg, "DROP INDEX ix_boxes_class_score; DROP INDEX ix_boxes_image_model;");
                }

                var firsts = seeded.ToDictionary(s => s.Name, _ => new List<double>());
                for (var round = 1; round <= rounds; round++)
                {
                    // Alternate the stores within a round so background noise hits both alike.
                    foreach (var (name, store, model, imageIds, classIds) in seeded)
                    {
                        await DeleteBoxesAsync(name == "SQLite" ? sqlite : pg);
                        var first = await WriteAllAsync(store, model, imageIds, classIds, imagesPerCall);
                        var replace = await WriteAllAsync(store, model, imageIds, classIds, imagesPerCall);
                        firsts[name].Add(first);
                        Console.WriteLine($"| {name} | {variant} | {round} | {first:N0} | {replace:N0} |");
                    }
                }

                foreach (var (name, values) in firsts)
                {
                    medians[(name, variant)] = Median(values);
                }
            }

            Console.WriteLine();
            Console.WriteLine($"Median write into empty with the required indexes: SQLite {medians[("SQLite", "required")]:N0} boxes/s, PostgreSQL {medians[("PostgreSQL", "required")]:N0} boxes/s (PostgreSQL/SQLite = {medians[("PostgreSQL", "required")] / medians[("SQLite", "required")]:F2}).");
            if (bare)
            {
                Console.WriteLine($"Without the secondary indexes: SQLite ×{medians[("SQLite", "none")] / medians[("SQLite", "required")]:F2}, PostgreSQL ×{medians[("PostgreSQL", "none")] / medians[("PostgreSQL", "required")]:F2}.");
            }

            Console.WriteLine();

            var queueDb = LabelsDatabase.Create(new DatabaseOptions { ConnectionString = $"Data Source={Path.Combine(root, "queue.db")}" });
            await using (queueDb)
            {
                queueDb.Migrate();
                var factory = new SqliteWorkQueueFactory(queueDb, Options.Create(new WorkQueueOptions()), TimeProvider.System);
                Console.WriteLine("| queue | round | messages | send (msg/s) | receive + delete (msg/s) | send + receive + delete (msg/s) |");
                Console.WriteLine("| --- | --- | ---: | ---: | ---: | ---: |");
                for (var round = 1; round <= rounds; round++)
                {
                    var (send, drain, total) = await QueueRoundAsync(factory.GetQueue($"bench-{round}"), messages);
                    Console.WriteLine($"| SQLite | {round} | {messages:N0} | {send:N0} | {drain:N0} | {total:N0} |");
                }
            }

            return 0;
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<(long Model, long[] Images, long[] Classes)> SeedAsync(ILabelStore store, int images)
    {
        var dataset = await store.EnsureDatasetAsync("bench", CancellationToken.None);
        var ids = new List<long>(images);
        foreach (var chunk in Enumerable.Range(0, images).Chunk(1000))
        {
            var registered = await store.RegisterImagesAsync(dataset, chunk.Select(i => new NewImage($"inbox/bench/{i:D7}.jpg", $"h{i}", 640, 480)).ToList(), CancellationToken.None);
            ids.AddRange(registered.Select(r => r.ImageId));
        }

        var classes = await store.EnsureClassesAsync(Enumerable.Range(0, 50).Select(i => $"class {i}"), CancellationToken.None);
        var model = await store.RegisterModelAsync(new NewModel("bench-v1", "region-embedding/1", "models/bench.onnx", new string('0', 64)), CancellationToken.None);
        return (model, ids.ToArray(), classes.Values.ToArray());
    }

    private static async Task<double> WriteAllAsync(ILabelStore store, long model, long[] images, long[] classes, int imagesPerCall)
    {
        var random = new Random(42);
        var batches = images.Chunk(imagesPerCall).Select(chunk => chunk.Select(id => new ImageLabels(id,
            Enumerable.Range(0, BoxesPerImage).Select(b =>
            {
                var x = (float)(random.NextDouble() * 600);
                var y = (float)(random.NextDouble() * 440);
                return new BoxData(classes[b % classes.Length], x, y, x + 40, y + 40, (float)random.NextDouble(), BoxSource.Pseudo);
            }).ToList(), [])).ToList()).ToList();

        var clock = Stopwatch.StartNew();
        foreach (var batch in batches)
        {
            await store.WriteLabelsAsync(model, batch, CancellationToken.None);
        }

        return images.Length * (double)BoxesPerImage / clock.Elapsed.TotalSeconds;
    }

    private static async Task ExecuteAsync(LabelsDatabase database, string sql)
    {
        await using var connection = await database.DataSource.OpenConnectionAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        await command.ExecuteNonQueryAsync();
    }

    private static async Task DeleteBoxesAsync(LabelsDatabase database)
    {
        var postgres = database.Provider == DatabaseProvider.Postgres;
        await ExecuteAsync(database, postgres ? "TRUNCATE boxes" : "DELETE FROM boxes");
        await ExecuteAsync(database, postgres ? "VACUUM ANALYZE boxes" : "VACUUM");
    }

    private static async Task<(double Send, double Drain, double Total)> QueueRoundAsync(IWorkQueue queue, int messages)
    {
        var body = """{"v":1,"batch":"00000000-0000-0000-0000-000000000000","imageIds":[1,2,3,4,5,6,7,8]}""";
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < messages; i++)
        {
            await queue.SendAsync(body, null, CancellationToken.None);
        }

        var sent = clock.Elapsed;
        var done = 0;
        while (done < messages)
        {
            var batch = await queue.ReceiveAsync(32, TimeSpan.FromMinutes(5), CancellationToken.None);
            if (batch.Count == 0)
            {
                throw new InvalidOperationException($"queue ran dry after {done} of {messages} messages");
            }

            foreach (var message in batch)
            {
                await queue.DeleteAsync(message, CancellationToken.None);
            }

            done += batch.Count;
        }

        var total = clock.Elapsed;
        return (messages / sent.TotalSeconds, messages / (total - sent).TotalSeconds, messages / total.TotalSeconds);
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }
}
