using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Labeling.Server.Tests;

/// <summary>
/// Crash safety with a real process: <c>labeling serve</c> runs as a child process, is killed (SIGKILL) while its
/// retrain job trains, and a new host started on the same workspace resumes the run from its last checkpoint — with
/// the in-memory job storage, which forgets the job with the process, so only the host's own recovery can do it.
/// </summary>
public sealed class HostKillTests(PostgresFixture postgres, AzuriteFixture azurite)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <param name="scaleOut">False: the embedded stack (SQLite, local blobs and queue, in-memory job storage). True: labels
    /// and Hangfire's jobs in PostgreSQL, blobs and queues in Azurite (the killed host's job stays in Hangfire's storage).</param>
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task HostKilledMidTraining_NextHostResumesTheRunFromItsCheckpoint_AndRegistersTheCandidate(bool scaleOut)
    {
        await using var workspace = scaleOut
            ? new Workspace(new { Jobs = Workspace.QuietJobs, WorkersInProcess = true }, await postgres.Server.CreateDatabaseAsync("kill", Ct), azurite.Server.ConnectionString)
            : new Workspace();
        var work = Path.Combine(workspace.Folder, "data", "retraining");
        workspace.SetSection("Retraining", new
        {
            WorkFolder = work,
            Steps = 400,
            CheckpointEvery = 5,
            Threads = 1,
            Gate = new { APTolerance = 1.0, APNovelTolerance = 1.0 }, // toy models score ~0: the gate is not what is tested
        });
        // A toy store with a gold split and an active model (with weights for the warm start).
        await workspace.CliAsync("demo", "--work", Path.Combine(workspace.Folder, "data", "demo"), "--image-size", "64", "--preset", "tiny",
            "--base-images", "8", "--tagged-images", "6", "--gold-images", "4", "--seed-steps", "2", "--rounds", "0", "--no-oracle", "--threads", "1");

        int killedPid, checkpointStep;
        await using (var first = await HostProcess.StartAsync(workspace))
        {
            // "Trigger now" on the recurring-jobs page.
            using var form = new FormUrlEncodedContent([new KeyValuePair<string, string>("jobs[]", LabelingJobs.RetrainId)]);
            Assert.Equal(HttpStatusCode.NoContent, await DashboardCommand.PostAsync(first.Http, "/hangfire/recurring/trigger", form, "/hangfire/recurring"));

            // Killed as soon as the run has a checkpoint: no chance to record anything.
            checkpointStep = await WaitForCheckpointAsync(work, first);
            killedPid = first.Pid;
            first.Kill();
        }

        using (var runs = JsonDocument.Parse(await workspace.CliAsync("models", "runs", "--json")))
        {
            var run = Assert.Single(runs.RootElement.EnumerateArray());
            Assert.Equal("running", run.GetProperty("status").GetString());
            Assert.Contains($"/{killedPid}/", run.GetProperty("owner").GetString(), StringComparison.Ordinal);
        }

        // Until a host claims it, `models runs` names it interrupted and says how to continue it.
        Assert.Contains("was interrupted: the next `labeling serve` resumes it, or `labeling retrain --resume auto-", await workspace.CliAsync("models", "runs"), StringComparison.Ordinal);

        await using var second = await HostProcess.StartAsync(workspace);
        var version = await WaitForFinishedRunAsync(second);
        // Named by the first job's start and id (kept with the job), not by the id alone, which the second host reuses.
        Assert.Matches(@"^auto-\d{8}-\d{6}-\d+$", version);

        using (var runs = JsonDocument.Parse(await workspace.CliAsync("models", "runs", "--json")))
        {
            var all = runs.RootElement.EnumerateArray().ToList();
            Assert.Equal(2, all.Count);
            Assert.Equal(("failed", version), (all[0].GetProperty("status").GetString(), all[0].GetProperty("version").GetString()));
            Assert.Contains($"/{killedPid}/", all[0].GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Contains("is gone; resumed from its last checkpoint", all[0].GetProperty("error").GetString(), StringComparison.Ordinal);
            Assert.Equal(("succeeded", version, version), (all[1].GetProperty("status").GetString(), all[1].GetProperty("version").GetString(), all[1].GetProperty("model").GetString()));
            Assert.Contains($"/{second.Pid}/", all[1].GetProperty("owner").GetString(), StringComparison.Ordinal);
            // It continued from the checkpoint the killed host left (at least the one seen before the kill), not from step 0.
            Assert.InRange(all[1].GetProperty("resumedFromStep").GetInt32(), checkpointStep, 399);
            TestContext.Current.TestOutputHelper?.WriteLine($"killed after the checkpoint of step {checkpointStep}; resumed at step {all[1].GetProperty("resumedFromStep").GetInt32()}");
        }

        Assert.Contains(second.Output, line => line.Contains($"Training resumed at step", StringComparison.Ordinal));

        // The dashboard's Models page and the API show both records: the interrupted run and the one that resumed it.
        using (var api = JsonDocument.Parse(await second.Http.GetStringAsync("/api/training-runs", Ct)))
        {
            Assert.Equal(["failed", "succeeded"], api.RootElement.EnumerateArray().Select(r => r.GetProperty("status").GetString()));
            Assert.Equal(JsonValueKind.Number, api.RootElement[1].GetProperty("resumedFromStep").ValueKind);
        }

        // On PostgreSQL the dead host's job was still "processing" in Hangfire's storage: it is deleted with the reason.
        // (The in-memory storage died with the host.)
        var deleted = await second.Http.GetStringAsync("/hangfire/jobs/deleted", Ct);
        Assert.Equal(scaleOut, deleted.Contains("Retrain the detector", StringComparison.Ordinal));
        Assert.DoesNotContain("Retrain the detector", await second.Http.GetStringAsync("/hangfire/jobs/processing", Ct), StringComparison.Ordinal);

        var page = await second.Http.GetStringAsync("/hangfire/models", Ct);
        Assert.Equal(2, System.Text.RegularExpressions.Regex.Count(page, "data-testid=\"run-row\""));
        Assert.Contains("is gone; resumed from its last checkpoint", page, StringComparison.Ordinal);
    }

    /// <summary>Waits until a run's checkpoint folder names a step (polling the file the trainer renames into place last).</summary>
    private static async Task<int> WaitForCheckpointAsync(string work, HostProcess host)
    {
        var deadline = DateTime.UtcNow.AddMinutes(3);
        while (true)
        {
            foreach (var stepFile in Directory.Exists(work) ? Directory.EnumerateFiles(work, "step.txt", SearchOption.AllDirectories) : [])
            {
                if (int.TryParse(await ReadSharedAsync(stepFile), out var step) && step > 0)
                {
                    return step;
                }
            }

            Assert.True(DateTime.UtcNow < deadline && !host.Exited, $"No checkpoint within 3 minutes; host output:\n{string.Join('\n', host.Output)}");
            await Task.Delay(20, Ct);
        }
    }

    private static async Task<string> ReadSharedAsync(string path)
    {
        try
        {
            return await File.ReadAllTextAsync(path, Ct);
        }
        catch (IOException)
        {
            return ""; // replaced while read
        }
    }

    /// <summary>
    /// Polls <c>/api/training-runs</c> until a run has ended (its record is written last, after the model is registered,
    /// gated and the relabel queued); returns its candidate's version.
    /// </summary>
    private static async Task<string> WaitForFinishedRunAsync(HostProcess host)
    {
        var deadline = DateTime.UtcNow.AddMinutes(5);
        while (true)
        {
            using var runs = JsonDocument.Parse(await host.Http.GetStringAsync("/api/training-runs", Ct));
            if (runs.RootElement.EnumerateArray().FirstOrDefault(r => r.GetProperty("status").GetString() is "succeeded" or "failed" && r.GetProperty("error").ValueKind == JsonValueKind.Null)
                is { ValueKind: JsonValueKind.Object } run)
            {
                return run.GetProperty("version").GetString()!;
            }

            Assert.True(DateTime.UtcNow < deadline && !host.Exited, $"No run ended within 5 minutes; host output:\n{string.Join('\n', host.Output)}");
            await Task.Delay(200, Ct);
        }
    }

    /// <summary><c>labeling serve</c> as a child process (the CLI built beside the tests) on a free loopback port.</summary>
    private sealed class HostProcess : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();

        private HostProcess(Process process, Uri address)
        {
            _process = process;
            Http = new HttpClient { BaseAddress = address };
        }

        public HttpClient Http { get; }

        public int Pid => _process.Id;

        public bool Exited => _process.HasExited;

        public IReadOnlyCollection<string> Output => _output;

        public static async Task<HostProcess> StartAsync(Workspace workspace)
        {
            var port = FreePort();
            var start = new ProcessStartInfo("dotnet")
            {
                WorkingDirectory = workspace.Folder,
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "labeling.dll"), "serve", "--config", workspace.Config, "--urls", $"http://127.0.0.1:{port}" })
            {
                start.ArgumentList.Add(arg);
            }

            var process = Process.Start(start) ?? throw new InvalidOperationException("labeling serve did not start.");
            var host = new HostProcess(process, new Uri($"http://127.0.0.1:{port}"));
            process.OutputDataReceived += (_, e) => host.Collect(e.Data);
            process.ErrorDataReceived += (_, e) => host.Collect(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            var deadline = DateTime.UtcNow.AddMinutes(1);
            while (true)
            {
                try
                {
                    using var response = await host.Http.GetAsync("/hangfire", Ct);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return host;
                    }
                }
                catch (HttpRequestException)
                {
                    // not listening yet
                }

                if (process.HasExited || DateTime.UtcNow > deadline)
                {
                    await host.DisposeAsync();
                    Assert.Fail($"labeling serve did not answer within a minute; its output:\n{string.Join('\n', host.Output)}");
                }

                await Task.Delay(100, Ct);
            }
        }

        private void Collect(string? line)
        {
            if (line is not null)
            {
                _output.Enqueue(line);
            }
        }

        /// <summary>SIGKILL: the process gets no chance to clean up or record anything.</summary>
        public void Kill()
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
                await _process.WaitForExitAsync(CancellationToken.None);
            }

            _process.Dispose();
        }

        private static int FreePort()
        {
            using var listener = new TcpListener(IPAddress.Loopback, 0);
            listener.Start();
            return ((IPEndPoint)listener.LocalEndpoint).Port;
        }
    }
}
