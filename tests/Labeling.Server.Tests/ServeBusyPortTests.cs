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
}
