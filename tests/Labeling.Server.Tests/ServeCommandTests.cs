using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Labeling.Cli;

namespace Labeling.Server.Tests;

/// <summary><c>labeling serve</c> and <c>labeling worker</c> run in-process as a user runs them, stopped by cancellation (Ctrl+C).</summary>
public sealed partial class ServeCommandTests : IAsyncLifetime
{
    private readonly Workspace _workspace = new(new { Jobs = new { ScanInbox = "0 0 1 1 *" } });

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync() => await _workspace.DisposeAsync();

    /// <summary>Starts a long-running command; returns when it prints the address it listens on.</summary>
    private async Task<(Task<int> Run, Uri Address, CancellationTokenSource Stop, StringWriter Error)> StartAsync(params string[] args)
    {
        var output = new AddressWriter();
        var error = new StringWriter();
        var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        var run = Task.Run(() => LabelingCli.RunAsync([.. args, "--urls", "http://127.0.0.1:0", "--config", _workspace.Config], output, error, stop.Token), Ct);
        var first = await Task.WhenAny(output.Address, run).WaitAsync(TimeSpan.FromMinutes(1), Ct);
        Assert.True(first == output.Address, $"{args[0]} ended before listening: exit {(run.IsCompleted ? run.Result : -1)}, {error}");
        return (run, await output.Address, stop, error);
    }

    [Fact]
    public async Task Serve_StartsTheHostOnTheEmbeddedStack_DashboardAnswers_StopsCleanly()
    {
        var (run, address, stop, error) = await StartAsync("serve");
        using var http = new HttpClient { BaseAddress = address };
        var dashboard = await http.GetStringAsync("/hangfire", Ct);
        Assert.Contains("Labeling jobs", dashboard);
        Assert.Contains("Images labelled", dashboard);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/review", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz", Ct)).StatusCode);
        Assert.True(File.Exists(Path.Combine(_workspace.Folder, "data", "labeling.db")), "serve migrates the embedded database on start");

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromMinutes(1), Ct));
        Assert.Equal("", error.ToString());
    }

    [Fact]
    public async Task Worker_LabelsTheQueueAlone_WithoutADashboard()
    {
        await _workspace.AddModelAsync();
        await _workspace.CliAsync("ingest", _workspace.PhotosFolder(), "--dataset", "pets");
        var (run, address, stop, _) = await StartAsync("worker");
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/readyz", Ct)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("/hangfire", Ct)).StatusCode);

        var deadline = DateTime.UtcNow.AddMinutes(1);
        JsonElement status;
        while ((status = JsonDocument.Parse(await _workspace.CliAsync("status", "--json")).RootElement).GetProperty("datasets")[0].GetProperty("labelled").GetInt64() < 4)
        {
            Assert.True(DateTime.UtcNow < deadline, $"the worker did not label the queue in a minute: {status}");
            await Task.Delay(100, Ct);
        }

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromMinutes(1), Ct));
    }

    [Fact]
    public async Task Serve_WithBadSettings_SaysWhatIsWrong_AndExits1()
    {
        await using var workspace = new Workspace(new { Access = new { User = "ana" } });
        using var output = new StringWriter();
        using var error = new StringWriter();
        var code = await LabelingCli.RunAsync(["serve", "--urls", "http://127.0.0.1:0", "--config", workspace.Config], output, error, Ct);
        Assert.Equal(1, code);
        Assert.StartsWith("error: ", error.ToString());
        Assert.Contains("Server:Access:User and Server:Access:Password go together", error.ToString());
    }

    [Fact]
    public async Task Serve_OnABusyPort_SaysSo_AndExits1()
    {
        var (run, address, stop, _) = await StartAsync("serve");
        using var output = new StringWriter();
        using var error = new StringWriter();
        await using var second = new Workspace();
        var code = await LabelingCli.RunAsync(["serve", "--urls", address.ToString().TrimEnd('/'), "--config", second.Config], output, error, Ct);
        Assert.Equal(1, code);
        Assert.Contains("address already in use", error.ToString(), StringComparison.OrdinalIgnoreCase);
        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromMinutes(1), Ct));
    }

    /// <summary><c>labeling worker</c>'s counters sit behind the host's access gate (same settings, same rules); its health probes do not.</summary>
    [Fact]
    public async Task Worker_Stats_AreBehindTheAccessGate_HealthProbesAreNot()
    {
        var (run, address, stop, _) = await StartAsync("worker");
        using var http = new HttpClient { BaseAddress = address };
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/stats", Ct)).StatusCode);

        foreach (var (path, expected) in new[] { ("/stats", HttpStatusCode.Forbidden), ("/healthz", HttpStatusCode.OK), ("/readyz", HttpStatusCode.OK) })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Host = "rebind.example";
            using var response = await http.SendAsync(request, Ct);
            Assert.True(response.StatusCode == expected, $"GET {path} with Host rebind.example answered {(int)response.StatusCode}, not {(int)expected}");
        }

        using var forged = new HttpRequestMessage(HttpMethod.Get, "/stats");
        forged.Headers.Add("X-Forwarded-For", "127.0.0.1");
        Assert.Equal(HttpStatusCode.Forbidden, (await http.SendAsync(forged, Ct)).StatusCode);

        await stop.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromMinutes(1), Ct));
    }

    [Fact]
    public async Task Serve_WithCredentials_OnAPlainHttpNetworkBind_SaysWhatIsWrong_AndExits1()
    {
        await using var workspace = new Workspace(new { Access = new { Token = "0123456789abcdef0123" } });
        using var output = new StringWriter();
        using var error = new StringWriter();
        // A deadline, not a wait: a host that starts anyway would otherwise run until the test run ends.
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromSeconds(60));
        var code = await LabelingCli.RunAsync(["serve", "--urls", "http://0.0.0.0:0", "--config", workspace.Config], output, error, deadline.Token);
        Assert.True(code == 1, $"serve exited {code}: {error}{output}");
        Assert.StartsWith("error: ", error.ToString(), StringComparison.Ordinal);
        Assert.Contains("Server:Access:AllowInsecureHttp", error.ToString(), StringComparison.Ordinal);
        Assert.Single(error.ToString().Trim().Split('\n'));
    }

    /// <summary>Completes <see cref="Address"/> with the first address the command prints (<c>listening on http://…:</c>).</summary>
    private sealed partial class AddressWriter : StringWriter
    {
        private readonly TaskCompletionSource<Uri> _address = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<Uri> Address => _address.Task;

        public override Task WriteLineAsync(string? value)
        {
            if (value is not null && Listening().Match(value) is { Success: true } match)
            {
                _address.TrySetResult(new Uri(match.Groups[1].Value));
            }

            return base.WriteLineAsync(value);
        }

        [GeneratedRegex(@"^listening on (http://[^\s:]+:\d+)")]
        private static partial Regex Listening();
    }
}
