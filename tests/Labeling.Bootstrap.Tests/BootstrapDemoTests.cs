using System.Security.Cryptography;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Labels;
using Labeling.Sql;
using Labeling.Testing;
using Labeling.Trainer.Data;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Labeling.Bootstrap.Tests;

/// <summary>
/// The whole bootstrap loop at toy size through the real parts — blob inbox, scan, trainer, label worker, registry,
/// gold evaluation — once on the embedded stack and once on PostgreSQL + Azurite. The numbers are meaningless at
/// this size; what is checked is that every stage happened and left what it should in the store.
/// </summary>
public abstract class BootstrapDemoContract : IAsyncDisposable
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected TempFolder Folder { get; } = new();

    private ServiceProvider? _services;

    /// <summary>The backend settings (Storage:Mode, Database, blob and queue sections).</summary>
    protected abstract Task<Dictionary<string, string?>> BackendSettingsAsync();

    private DemoOptions Options => new()
    {
        WorkFolder = Path.Combine(Folder.Path, "demo"),
        ImageSize = 64,
        Preset = "tiny",
        BaseImages = 8,
        TaggedImages = 6,
        GoldImages = 4,
        SeedSteps = 2,
        Rounds = 1,
        RoundSteps = 2,
        Threads = 1,
    };

    private async Task<IServiceProvider> ServicesAsync()
    {
        var settings = await BackendSettingsAsync();
        settings["LabelBatch:ModelCacheFolder"] = Path.Combine(Folder.Path, "model-cache");
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection().AddLogging().AddMetrics();
        services.AddLabelingBackends(configuration);
        services.AddLabelingFunctions(configuration);
        _services = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        _services.GetRequiredService<LabelsDatabase>().Migrate();
        return _services;
    }

    /// <summary>A store the toy demo seeded (its seed model active, a gold split), and a retrainer on it.</summary>
    private async Task<(ILabelStore Store, Retrainer Retrainer)> SeededStoreAsync()
    {
        var services = await ServicesAsync();
        await new BootstrapDemo(services, Options with { Oracle = false, Rounds = 0 }).RunAsync(null, Ct);
        var store = services.GetRequiredService<ILabelStore>();
        return (store, new Retrainer(store, services.GetRequiredService<IBlobStore>(), services.GetRequiredService<Labeling.Functions.Ingest.InboxScanner>()));
    }

    public async ValueTask DisposeAsync()
    {
        if (_services is not null)
        {
            await _services.DisposeAsync();
        }

        Folder.Dispose();
        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Demo_RunsEveryStage_AndLeavesItsModelsBoxesAndReportBehind()
    {
        var services = await ServicesAsync();
        var options = Options;
        var demo = new BootstrapDemo(services, options);
        var stages = new List<string>();

        var report = await demo.RunAsync(new SynchronousProgress<DemoProgress>(p =>
        {
            if (stages.Count == 0 || stages[^1] != p.Stage)
            {
                stages.Add(p.Stage);
            }
        }), Ct);

        Assert.Equal(demo.Stages, stages);
        Assert.Equal(["seed", "round 1"], report.Rounds.Select(r => r.Name));
        Assert.Equal("oracle", report.Oracle?.Name);
        Assert.All(report.Rounds.Append(report.Oracle!), row =>
        {
            Assert.Equal(options.GoldImages, row.Metrics.Images);
            Assert.InRange(row.Metrics.AP, 0, 1);
            Assert.InRange(row.Metrics.APBase ?? 0, 0, 1);
            Assert.InRange(row.Metrics.APNovel ?? 0, 0, 1);
        });

        // The store: both models registered with the bytes the blob holds, the last one active, every image labelled.
        var store = services.GetRequiredService<ILabelStore>();
        var blobs = services.GetRequiredService<IBlobStore>();
        Assert.Equal("demo-r1", (await store.GetActiveModelAsync(Ct))?.Version);
        Assert.Equal((await store.GetModelAsync("demo-seed", Ct))!.Id, (await store.GetModelAsync("demo-r1", Ct))!.ParentId);
        // Each round's gold scores are in the registry too, with its parent's, as a retraining run stores them.
        using (var metrics = JsonDocument.Parse((await store.GetModelAsync("demo-r1", Ct))!.Metrics!))
        {
            Assert.Equal(report.Rounds[1].Metrics.AP, metrics.RootElement.GetProperty("gold").GetProperty("AP").GetDouble());
            Assert.Equal("demo-seed", metrics.RootElement.GetProperty("parent").GetProperty("version").GetString());
            Assert.Equal(report.Rounds[0].Metrics.AP, metrics.RootElement.GetProperty("parent").GetProperty("gold").GetProperty("AP").GetDouble());
        }

        foreach (var version in new[] { "demo-seed", "demo-r1" })
        {
            var model = await store.GetModelAsync(version, Ct);
            Assert.NotNull(model);
            await using var stream = await blobs.OpenReadAsync(model.BlobUri, Ct);
            Assert.Equal(model.Sha256, Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, Ct)));
        }

        var progress = await store.GetProgressAsync(null, Ct);
        Assert.Equal(options.BaseImages + options.TaggedImages + options.GoldImages, progress.Sum(d => d.Images));
        Assert.Equal(0, progress.Sum(d => d.Pending + d.Queued));
        Assert.Equal(progress.Sum(d => d.Images), progress.Sum(d => d.Labelled + d.Failed));

        // The report files say what the returned report says.
        using var json = JsonDocument.Parse(await File.ReadAllTextAsync(Path.Combine(options.WorkFolder, "report.json"), Ct));
        Assert.Equal(report.Rounds[1].Metrics.AP, json.RootElement.GetProperty("rounds")[1].GetProperty("metrics").GetProperty("AP").GetDouble());
        Assert.Contains("| round 1 |", await File.ReadAllTextAsync(Path.Combine(options.WorkFolder, "report.md"), Ct), StringComparison.Ordinal);
        var png = await File.ReadAllBytesAsync(Path.Combine(options.WorkFolder, "report.png"), Ct);
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);

        // The gold split the rows were scored on: the gold scenes, base classes from the base set only.
        var split = await GoldEvaluation.LoadSplitAsync(store, null, Ct);
        var world = new OpenWorld(new OpenWorldOptions { Seed = options.Seed, ImageSize = options.ImageSize });
        Assert.Equal(options.GoldImages, split.GroundTruth.ImageIds.Count);
        Assert.NotEmpty(split.BaseClasses);
        Assert.Subset(world.BaseClasses.ToHashSet(), split.BaseClasses.ToHashSet());

        // A second run would mix with the first one's models: refused, naming the way out.
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => new BootstrapDemo(services, options).RunAsync(null, Ct));
        Assert.Contains("registered already", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retrain_AfterTheDemo_WarmStartsFromTheActiveModel_StoresItsMetrics_AndPromotesThroughTheGate()
    {
        var services = await ServicesAsync();
        await new BootstrapDemo(services, Options with { Oracle = false }).RunAsync(null, Ct);
        var store = services.GetRequiredService<ILabelStore>();
        var parent = (await store.GetActiveModelAsync(Ct))!;
        var labelledBefore = (await store.GetProgressAsync(null, Ct)).Sum(d => d.Labelled);
        var retrainer = new Retrainer(store, services.GetRequiredService<IBlobStore>(), services.GetRequiredService<Labeling.Functions.Ingest.InboxScanner>());
        var options = new RetrainingOptions
        {
            WorkFolder = Path.Combine(Folder.Path, "retraining"),
            Steps = 2,
            Threads = 1,
            Gate = new GateOptions { APTolerance = 1, APNovelTolerance = 1 }, // toy models score ~0: let it through
        };
        var steps = new List<string>();

        var outcome = await retrainer.RunAsync(options, "job-1", (text, _) => steps.Add(text), Ct);

        Assert.Equal(("auto-job-1", "demo-r1", true), (outcome.Version, outcome.Parent, outcome.WarmStarted));
        Assert.True(outcome.Decision.Promote);
        Assert.NotNull(outcome.Active);
        Assert.Equal(outcome.Summary, steps[^1]);
        var candidate = (await store.GetModelAsync("auto-job-1", Ct))!;
        Assert.Equal((ModelStatus.Active, parent.Id), (candidate.Status, candidate.ParentId));
        Assert.Equal(ModelStatus.Retired, (await store.GetModelAsync("demo-r1", Ct))!.Status);
        using (var metrics = JsonDocument.Parse(candidate.Metrics!))
        {
            Assert.Equal(outcome.Candidate.AP, metrics.RootElement.GetProperty("gold").GetProperty("AP").GetDouble());
            Assert.Equal("demo-r1", metrics.RootElement.GetProperty("parent").GetProperty("version").GetString());
            Assert.Equal(outcome.Decision.Reason, metrics.RootElement.GetProperty("gate").GetProperty("Reason").GetString());
            Assert.True(metrics.RootElement.GetProperty("policy").GetProperty("warmStart").GetBoolean());
            // The pool the run saw, for the growth trigger of the next one: every non-gold image of the demo.
            Assert.Equal(Options.BaseImages + Options.TaggedImages, metrics.RootElement.GetProperty("store").GetProperty("images").GetInt64());
        }

        // The run's record: succeeded, from demo-r1, to the candidate, which points back at it.
        var run = Assert.Single(await store.ListTrainingRunsAsync(Ct));
        Assert.Equal((TrainingRunStatus.Succeeded, parent.Id, candidate.Id, run.Id), (run.Status, run.ParentModelId, run.ModelId, candidate.TrainingRunId));

        // A relabel generation: every image demo-r1 labelled went back to the workers.
        Assert.True(labelledBefore > 0);
        Assert.Equal(labelledBefore, outcome.Relabelled);
        Assert.Equal(outcome.Relabelled, (await store.GetProgressAsync(null, Ct)).Sum(d => d.Queued));
        // The candidate's training files travel with it, so the next run warm-starts from it.
        var blobs = services.GetRequiredService<IBlobStore>();
        Assert.NotNull(await blobs.GetPropertiesAsync("models/auto-job-1.weights", Ct));
        Assert.NotNull(await blobs.GetPropertiesAsync("models/auto-job-1.config.json", Ct));
        // The same run twice is refused (its version exists).
        var again = await Assert.ThrowsAsync<InvalidOperationException>(() => retrainer.RunAsync(options, "job-1", null, Ct));
        Assert.Contains("registered already", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Retrain_KilledMidTraining_ResumesFromItsLastCheckpoint_WhenTheSameRunStartsAgain()
    {
        var services = await ServicesAsync();
        await new BootstrapDemo(services, Options with { Oracle = false, Rounds = 0 }).RunAsync(null, Ct);
        var logs = new CapturingLoggerProvider();
        using var loggers = LoggerFactory.Create(b => b.AddProvider(logs));
        var retrainer = new Retrainer(services.GetRequiredService<ILabelStore>(), services.GetRequiredService<IBlobStore>(),
            services.GetRequiredService<Labeling.Functions.Ingest.InboxScanner>(), loggers);
        var options = new RetrainingOptions { WorkFolder = Path.Combine(Folder.Path, "retraining"), Steps = 8, CheckpointEvery = 2, Threads = 1 };

        // The host dies at step 4 (its checkpoint is written right after the report): the run stops there.
        using var kill = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => retrainer.RunAsync(options, "job-7", (text, _) =>
        {
            if (text.EndsWith("step 4/8", StringComparison.Ordinal))
            {
                kill.Cancel();
            }
        }, kill.Token));
        Assert.Null(await services.GetRequiredService<ILabelStore>().GetModelAsync("auto-job-7", Ct));

        // Hangfire runs the same job again: same id, same version folder, training picks up at step 4.
        var outcome = await retrainer.RunAsync(options, "job-7", null, Ct);

        Assert.Contains(logs.Messages, m => m.Contains("Training resumed at step 4", StringComparison.Ordinal));
        // Two run records: the killed one cancelled, the second succeeded.
        Assert.Equal([TrainingRunStatus.Cancelled, TrainingRunStatus.Succeeded], (await services.GetRequiredService<ILabelStore>().ListTrainingRunsAsync(Ct)).Select(r => r.Status));
        Assert.Equal("auto-job-7", outcome.Version);
        Assert.NotNull(await services.GetRequiredService<ILabelStore>().GetModelAsync("auto-job-7", Ct));
    }

    /// <summary>
    /// Resume is exact: a run stopped at step 10 of 12 and resumed in a new <see cref="Retrainer"/> call makes the same
    /// ONNX file, byte for byte, as a run that never stopped (on the pool's box and tag-only batches, from a warm start).
    /// </summary>
    [Fact]
    public async Task Retrain_Resumed_GivesTheSameModelAsAnUnbrokenRun()
    {
        var (store, retrainer) = await SeededStoreAsync();
        var options = new RetrainingOptions
        {
            WorkFolder = Path.Combine(Folder.Path, "retraining"), Steps = 12, CheckpointEvery = 2, Threads = 1, RelabelAfterPromotion = false,
            Gate = new GateOptions { APTolerance = 1, APNovelTolerance = 1 },
        };
        // Both runs start from the same parent: a promotion is undone before the next run.
        var parent = (await store.GetActiveModelAsync(Ct))!.Version;
        var straight = await retrainer.RunAsync(options, "straight", null, Ct);
        if (straight.Decision.Promote)
        {
            Assert.Equal(parent, await store.RollbackModelAsync(straight.Version, Ct));
        }

        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => retrainer.RunAsync(options, "broken", (text, _) =>
            {
                if (text.EndsWith("step 10/12", StringComparison.Ordinal))
                {
                    stop.Cancel();
                }
            }, stop.Token));
        }

        var resumed = await retrainer.RunAsync(options, "broken", null, Ct);

        Assert.Equal(10, resumed.ResumedFromStep);
        Assert.Equal(File.ReadAllBytes(Path.Combine(options.WorkFolder, "auto-straight", "auto-straight.onnx")), File.ReadAllBytes(Path.Combine(options.WorkFolder, "auto-broken", "auto-broken.onnx")));
    }

    [Fact]
    public async Task Retrain_WhoseProcessDied_IsClaimedOnce_AndResumedFromItsCheckpoint()
    {
        var (store, retrainer) = await SeededStoreAsync();
        var options = new RetrainingOptions { WorkFolder = Path.Combine(Folder.Path, "retraining"), Steps = 8, CheckpointEvery = 2, Threads = 1 };
        // Training gets to step 4 and writes its checkpoint…
        using (var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => retrainer.RunAsync(options, "job-9", (text, _) =>
            {
                if (text.EndsWith("step 4/8", StringComparison.Ordinal))
                {
                    stop.Cancel();
                }
            }, stop.Token));
        }

        // …and its process dies without a word: the record says running, owned by a process that is gone.
        var dead = await TrainingRecoveryTests.DeadOwnerAsync();
        var orphan = await store.StartTrainingRunAsync(new NewTrainingRun(null, "{}", "auto-job-9", dead), Ct);
        var live = await store.StartTrainingRunAsync(new NewTrainingRun(null, "{}", "auto-job-10", RunOwner.Current), Ct);

        Assert.Equal(["auto-job-9"], await TrainingRecovery.ClaimOrphansAsync(store, options, DateTimeOffset.UtcNow, Ct));
        Assert.Empty(await TrainingRecovery.ClaimOrphansAsync(store, options, DateTimeOffset.UtcNow, Ct)); // claimed once
        var outcome = await retrainer.ResumeAsync(options, "auto-job-9", null, Ct);

        Assert.Equal(("auto-job-9", (int?)4), (outcome.Version, outcome.ResumedFromStep));
        Assert.Contains("(resumed at step 4)", outcome.Summary, StringComparison.Ordinal);
        var runs = await store.ListTrainingRunsAsync(Ct);
        var claimed = runs.Single(r => r.Id == orphan);
        Assert.Equal(TrainingRunStatus.Failed, claimed.Status);
        Assert.Contains($"its process {dead} is gone; resumed from its last checkpoint", claimed.Error, StringComparison.Ordinal);
        Assert.Equal(TrainingRunStatus.Running, runs.Single(r => r.Id == live).Status); // a live process's run is left alone
        var twice = await Assert.ThrowsAsync<InvalidOperationException>(() => retrainer.ResumeAsync(options, "auto-job-10", null, Ct));
        Assert.Contains($"Training run {live} of auto-job-10 is in progress (process {RunOwner.Current}", twice.Message, StringComparison.Ordinal);
        var resumed = runs[^1];
        Assert.Equal((TrainingRunStatus.Succeeded, "auto-job-9", (int?)4, RunOwner.Current), (resumed.Status, resumed.Version, resumed.ResumedFromStep, resumed.Owner));
        Assert.Equal(resumed.Id, (await store.GetModelAsync("auto-job-9", Ct))!.TrainingRunId);
        using var metrics = JsonDocument.Parse((await store.GetModelAsync("auto-job-9", Ct))!.Metrics!);
        Assert.Equal(4, metrics.RootElement.GetProperty("policy").GetProperty("resumedFromStep").GetInt32());
    }

    [Fact]
    public async Task Retrain_WhoseRecordWasTakenOver_StopsItsTraining_AndSaysWhy()
    {
        var (store, retrainer) = await SeededStoreAsync();
        // A long run with a fast heartbeat; once training reports, another host (here: the test) claims its record.
        var options = new RetrainingOptions
        {
            WorkFolder = Path.Combine(Folder.Path, "retraining"), Steps = 100_000, CheckpointEvery = 1000, Threads = 1,
            HeartbeatEvery = TimeSpan.FromMilliseconds(50), OrphanAfter = TimeSpan.FromSeconds(1),
        };
        var claimed = 0;
        // Should the heartbeat never notice, the run is cancelled instead and the assertion below fails.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        limit.CancelAfter(TimeSpan.FromMinutes(2));

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => retrainer.RunAsync(options, "job-11", (text, _) =>
        {
            if (text.Contains("step ", StringComparison.Ordinal) && Interlocked.Exchange(ref claimed, 1) == 0)
            {
                var run = store.ListTrainingRunsAsync(Ct).GetAwaiter().GetResult().Single(r => r.Version == "auto-job-11");
                Assert.True(store.InterruptTrainingRunAsync(run.Id, "interrupted: taken for dead", Ct).GetAwaiter().GetResult());
            }
        }, limit.Token));

        Assert.Contains("another host took it for dead", error.Message, StringComparison.Ordinal);
        // The record keeps the claimer's reason, not a "cancelled" of the stopped process.
        var record = Assert.Single(await store.ListTrainingRunsAsync(Ct));
        Assert.Equal((TrainingRunStatus.Failed, "interrupted: taken for dead"), (record.Status, record.Error));
        Assert.Null(await store.GetModelAsync("auto-job-11", Ct));
    }

    [Fact]
    public async Task Retrain_WithoutAGoldSplit_FailsBeforeTraining_AndRegistersNothing()
    {
        var services = await ServicesAsync();
        var store = services.GetRequiredService<ILabelStore>();
        var retrainer = new Retrainer(store, services.GetRequiredService<IBlobStore>(), services.GetRequiredService<Labeling.Functions.Ingest.InboxScanner>());

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            retrainer.RunAsync(new RetrainingOptions { WorkFolder = Path.Combine(Folder.Path, "r"), Steps = 1, Threads = 1 }, null, null, Ct));

        Assert.Contains("no gold boxes", error.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ListModelsAsync(Ct));
    }

    [Fact]
    public async Task GoldSplit_OfAStoreWithoutGoldBoxes_SaysHowToMakeOne()
    {
        var services = await ServicesAsync();

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => GoldEvaluation.LoadSplitAsync(services.GetRequiredService<ILabelStore>(), null, Ct));

        Assert.Contains("split \"val\"", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Keeps every formatted log message.</summary>
    private sealed class CapturingLoggerProvider : ILoggerProvider
    {
        private readonly System.Collections.Concurrent.ConcurrentQueue<string> _messages = new();

        public IReadOnlyCollection<string> Messages => _messages;

        public ILogger CreateLogger(string categoryName) => new Logger(_messages);

        public void Dispose()
        {
        }

        private sealed class Logger(System.Collections.Concurrent.ConcurrentQueue<string> messages) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                messages.Enqueue(formatter(state, exception));
        }
    }

    /// <summary>Reports on the caller's thread, in order.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}

/// <summary>The demo on the embedded stack: SQLite, local folder blobs, the SQLite queue table.</summary>
public sealed class EmbeddedBootstrapDemoTests : BootstrapDemoContract
{
    protected override Task<Dictionary<string, string?>> BackendSettingsAsync() => Task.FromResult(new Dictionary<string, string?>
    {
        ["Storage:Mode"] = "Embedded",
        ["Database:Provider"] = "Sqlite",
        ["Database:ConnectionString"] = $"Data Source={Path.Combine(Folder.Path, "labeling.db")}",
        ["LocalBlobStore:RootPath"] = Path.Combine(Folder.Path, "blobs"),
        ["LocalBlobStore:FlushToDisk"] = "false",
    });
}

/// <summary>The demo on the scale-out stack: PostgreSQL, Azure Blob Storage and Queues (Azurite).</summary>
public sealed class AzurePostgresBootstrapDemoTests(PostgresFixture postgres, AzuriteFixture azurite) : BootstrapDemoContract
{
    protected override async Task<Dictionary<string, string?>> BackendSettingsAsync() => new()
    {
        ["Storage:Mode"] = "Azure",
        ["Database:Provider"] = "Postgres",
        ["Database:ConnectionString"] = await postgres.Server.CreateDatabaseAsync("demo", Ct),
        ["AzureStorage:ConnectionString"] = azurite.Server.ConnectionString,
        ["AzureStorage:BlobContainer"] = $"demo-{Guid.NewGuid():N}"[..20],
    };
}
