using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Text;
using Labeling.Testing;

namespace Labeling.Functions.Tests.Host;

/// <summary>
/// Builds the worker host (<c>labeling-worker.dll</c>) once per test run, in the configuration of the
/// test binaries, when it is missing or older than its sources. The test project does not reference
/// the host project: the host runs as a child process, as in production.
/// </summary>
public sealed class WorkerHostBuildFixture : IAsyncLifetime
{
    public string DllPath { get; private set; } = "";

    public static string Configuration()
    {
        // .../bin/<Configuration>/net10.0/linux-x64/
        var dir = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar));
        while (dir is not null && dir.Parent?.Name != "bin")
        {
            dir = dir.Parent;
        }

        return dir?.Name ?? "Debug";
    }

    public async ValueTask InitializeAsync()
    {
        var root = RepoPaths.Root();
        var configuration = Configuration();
        var project = Path.Combine(root, "functions", "Labeling.Functions.Host", "Labeling.Functions.Host.csproj");
        DllPath = Path.Combine(root, "functions", "Labeling.Functions.Host", "bin", configuration, "net10.0", "linux-x64", "labeling-worker.dll");
        if (File.Exists(DllPath) && File.GetLastWriteTimeUtc(DllPath) >= NewestSource(root))
        {
            return;
        }

        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = root,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        // --no-restore, unless the host was never restored in this checkout (then the packages come from the local cache).
        var restored = File.Exists(Path.Combine(Path.GetDirectoryName(project)!, "obj", "project.assets.json"));
        foreach (var arg in restored ? new[] { "build", project, "-c", configuration, "--no-restore", "-v", "q" } : ["build", project, "-c", configuration, "-v", "q"])
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet build did not start.");
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        if (process.ExitCode != 0 || !File.Exists(DllPath))
        {
            throw new InvalidOperationException($"Building the worker host failed (exit {process.ExitCode}):\n{await stdout}\n{await stderr}");
        }
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private static DateTime NewestSource(string root)
    {
        var newest = DateTime.MinValue;
        foreach (var folder in new[] { "functions", "pipeline" })
        {
            foreach (var file in Directory.EnumerateFiles(Path.Combine(root, folder), "*", SearchOption.AllDirectories))
            {
                if (file.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    || file.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                    || !(file.EndsWith(".cs", StringComparison.Ordinal) || file.EndsWith(".csproj", StringComparison.Ordinal) || file.EndsWith(".json", StringComparison.Ordinal)))
                {
                    continue;
                }

                var time = File.GetLastWriteTimeUtc(file);
                if (time > newest)
                {
                    newest = time;
                }
            }
        }

        return newest;
    }
}

/// <summary>One <c>labeling-worker</c> child process: configuration by command-line arguments, output captured, killed (whole tree) on dispose.</summary>
public sealed class WorkerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly HttpClient _http;

    private WorkerProcess(Process process, int port, string name)
    {
        _process = process;
        Port = port;
        Name = name;
        _http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(5) };
    }

    public int Port { get; }

    public string Name { get; }

    public int Pid => _process.Id;

    public bool HasExited => _process.HasExited;

    public int ExitCode => _process.ExitCode;

    /// <summary>Starts the host in <paramref name="workingDirectory"/> with <paramref name="settings"/> as <c>--Key value</c> arguments.</summary>
    public static WorkerProcess Start(string dllPath, string workingDirectory, IReadOnlyDictionary<string, string> settings, string name = "worker")
    {
        Directory.CreateDirectory(workingDirectory);
        var port = FreePort();
        var start = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(dllPath);
        foreach (var (key, value) in settings.Append(new("urls", $"http://127.0.0.1:{port}")))
        {
            start.ArgumentList.Add("--" + key);
            start.ArgumentList.Add(value);
        }

        start.Environment["DOTNET_ENVIRONMENT"] = "Production";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var worker = new WorkerProcess(process, port, name);
        process.OutputDataReceived += (_, e) => worker.Append(e.Data);
        process.ErrorDataReceived += (_, e) => worker.Append(e.Data);
        if (!process.Start())
        {
            throw new InvalidOperationException("The worker host did not start.");
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return worker;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    /// <summary>All the process wrote so far, for failure messages.</summary>
    public string Output()
    {
        lock (_output)
        {
            return $"---- {Name} (pid {_process.Id}, port {Port}) ----\n{_output}";
        }
    }

    /// <summary>GET <paramref name="path"/> with <paramref name="headers"/> (<c>Host</c> included): status code and body, or null when the host does not answer.</summary>
    public async Task<(HttpStatusCode Status, string Body)?> GetAsync(string path, params (string Name, string Value)[] headers)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            foreach (var (name, value) in headers)
            {
                if (name == "Host")
                {
                    request.Headers.Host = value;
                }
                else
                {
                    request.Headers.Add(name, value);
                }
            }

            using var response = await _http.SendAsync(request, TestContext.Current.CancellationToken);
            return (response.StatusCode, await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken));
        }
        catch (HttpRequestException)
        {
            return null;
        }
        catch (TaskCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    /// <summary>Polls <c>/readyz</c> until it answers 200 (deadline 60 s); fails with the output when the process exits or the deadline passes.</summary>
    public async Task WaitReadyAsync()
    {
        await Poll.UntilAsync(async () =>
        {
            if (_process.HasExited)
            {
                throw new InvalidOperationException($"The worker host exited with {_process.ExitCode} before it was ready.\n{Output()}");
            }

            return (await GetAsync("/readyz"))?.Status == HttpStatusCode.OK;
        }, TimeSpan.FromSeconds(60), () => "the worker host to be ready\n" + Output());
    }

    /// <summary>SIGKILL of the whole process tree.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        await _process.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>SIGTERM: asks the host to shut down gracefully.</summary>
    public async Task TerminateAsync()
    {
        using var kill = Process.Start(new ProcessStartInfo("kill") { ArgumentList = { "-TERM", _process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture) }, UseShellExecute = false })
            ?? throw new InvalidOperationException("kill did not start.");
        await kill.WaitForExitAsync(TestContext.Current.CancellationToken);
    }

    /// <summary>Waits for the process to exit; false when it has not within <paramref name="timeout"/>.</summary>
    public async Task<bool> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        cts.CancelAfter(timeout);
        try
        {
            await _process.WaitForExitAsync(cts.Token);
            return true;
        }
        catch (OperationCanceledException) when (!TestContext.Current.CancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }

            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await _process.WaitForExitAsync(cts.Token);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException)
        {
        }

        _http.Dispose();
        _process.Dispose();
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>Polling of observable state with a deadline (no sleeps as synchronisation).</summary>
public static class Poll
{
    public static async Task UntilAsync(Func<Task<bool>> condition, TimeSpan deadline, Func<string> what)
    {
        var watch = Stopwatch.StartNew();
        while (true)
        {
            if (await condition())
            {
                return;
            }

            if (watch.Elapsed > deadline)
            {
                throw new TimeoutException($"Timed out after {deadline} waiting for {what()}");
            }

            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }
}
