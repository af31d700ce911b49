using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Labeling.Server.Tests;

/// <summary><c>labeling serve</c> on a port another process holds, as a child process (so its console logs are seen too).</summary>
public sealed class ServeBusyPortTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Serve_OnAPortInUse_PrintsOneLineNamingThePort_NoStackTrace_AndNoWorkerStarted()
    {
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Demo = new { RunOnFreshStart = false } });
        using var busy = new TcpListener(IPAddress.Loopback, 0);
        busy.Start();
        var port = ((IPEndPoint)busy.LocalEndpoint).Port;
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

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync(Ct);
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        using (var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct))
        {
            timeout.CancelAfter(TimeSpan.FromMinutes(2));
            try
            {
                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
            {
                process.Kill(entireProcessTree: true);
                Assert.Fail($"serve on a busy port did not exit in 2 minutes: {await stdout}{await stderr}");
            }
        }

        var (output, error) = (await stdout, await stderr);
        var all = output + error;
        Assert.NotEqual(0, process.ExitCode);
        var errorLine = Assert.Single(error.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        Assert.StartsWith($"error: port {port} is in use", errorLine, StringComparison.Ordinal);
        Assert.Contains("--urls", errorLine, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Exception", all, StringComparison.Ordinal);
        Assert.DoesNotContain("worker started", all, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task Serve_Polled_LogsNoLinePerRequest_AndSaysOnceThatLabellingWaitsForAModel()
    {
        await using var workspace = new Workspace(new { Jobs = Workspace.QuietJobs, Demo = new { RunOnFreshStart = false } });
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workspace.Folder,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { Path.Combine(AppContext.BaseDirectory, "labeling.dll"), "serve", "--config", workspace.Config, "--urls", "http://127.0.0.1:0" })
        {
            start.ArgumentList.Add(arg);
        }

        start.Environment["LABELING_LabelWorker__StateRecheckDelay"] = "00:00:00.100";
        using var process = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        var stderr = process.StandardError.ReadToEndAsync(Ct);
        Uri? address = null;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            while (address is null && await process.StandardOutput.ReadLineAsync(timeout.Token) is { } line)
            {
                output.AppendLine(line);
                if (System.Text.RegularExpressions.Regex.Match(line, @"^listening on (http://\S+): ") is { Success: true } m)
                {
                    address = new Uri(m.Groups[1].Value);
                }
            }

            Assert.True(address is not null, $"serve did not say where it listens: {output}");
            using var http = new HttpClient { BaseAddress = address };
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("/api/progress", Ct)).StatusCode);
            }

            // The in-process workers have checked many times by now (every 100 ms) and still wait for a model.
            var deadline = DateTime.UtcNow.AddSeconds(30);
            string? state;
            while ((state = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/api/progress", Ct)).RootElement.GetProperty("workers").GetProperty("reason").GetString()) != "noModel")
            {
                Assert.True(DateTime.UtcNow < deadline, $"the workers never said they wait for a model ({state})");
                await Task.Delay(50, Ct);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
        }

        var all = output + await process.StandardOutput.ReadToEndAsync(CancellationToken.None) + await stderr;
        Assert.DoesNotContain("Request starting", all, StringComparison.Ordinal);
        Assert.DoesNotContain("Request finished", all, StringComparison.Ordinal);
        Assert.Equal(1, all.Split("Labelling waits").Length - 1);
        Assert.DoesNotContain("   at ", all, StringComparison.Ordinal);
    }
}
