using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;

namespace Labeling.Testing;

/// <summary>
/// A private Azurite (Azure Blob and Queue emulator) process for tests: free ports, in memory or
/// in a temporary folder, stopped and cleaned up on dispose (or when the test host exits).
/// Azurite comes from <c>infra/local/node_modules</c> (<c>npm ci --prefix infra/local</c>).
/// </summary>
public sealed class AzuriteServer : IAsyncDisposable
{
    /// <summary>The well-known development account every Azurite serves.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The well-known development account key (public, not a secret).</summary>
    public const string AccountKey = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private const int StartAttempts = 3;
    private const int OutputTailLines = 60;
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(10);

    private readonly string _executable;
    private readonly string _tempDir;
    private readonly bool _inMemory;
    private readonly Queue<string> _output = new();
    private readonly EventHandler _onProcessExit;
    private Process? _process;
    private bool _disposed;

    private AzuriteServer(string executable, string tempDir, bool inMemory, int blobPort, int queuePort, int tablePort)
    {
        _executable = executable;
        _tempDir = tempDir;
        _inMemory = inMemory;
        BlobPort = blobPort;
        QueuePort = queuePort;
        TablePort = tablePort;
        _onProcessExit = (_, _) => OnHostExit();
        AppDomain.CurrentDomain.ProcessExit += _onProcessExit;
    }

    /// <summary>Port of the Blob service on 127.0.0.1.</summary>
    public int BlobPort { get; private set; }

    /// <summary>Port of the Queue service on 127.0.0.1.</summary>
    public int QueuePort { get; private set; }

    /// <summary>Port of the Table service on 127.0.0.1 (unused, but Azurite always starts it).</summary>
    public int TablePort { get; private set; }

    /// <summary>True when the data lives in memory only (lost on stop); false when it lives in a temporary folder.</summary>
    public bool InMemory => _inMemory;

    /// <summary>Connection string for the development account on this server's ports.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol=http;AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint=http://127.0.0.1:{BlobPort}/{AccountName};QueueEndpoint=http://127.0.0.1:{QueuePort}/{AccountName};";

    /// <summary>
    /// Starts Azurite on free ports and returns once its Blob and Queue services accept connections.
    /// With <paramref name="inMemory"/> false the data is kept in a temporary folder, so it survives <see cref="RestartAsync"/>.
    /// </summary>
    public static async Task<AzuriteServer> StartAsync(bool inMemory = true, CancellationToken ct = default)
    {
        var executable = FindExecutable();
        var tempDir = Directory.CreateTempSubdirectory("labeling-azurite-").FullName;
        Exception? last = null;
        for (var attempt = 1; attempt <= StartAttempts; attempt++)
        {
            var ports = PickFreePorts(3);
            var server = new AzuriteServer(executable, tempDir, inMemory, ports[0], ports[1], ports[2]);
            try
            {
                await server.LaunchAsync(ct);
                return server;
            }
            catch (AzuriteStartException e)
            {
                // Most likely a port taken between picking and binding: try again on new ports.
                last = e;
                server.Detach();
            }
            catch
            {
                server.Detach();
                TryDeleteDirectory(tempDir);
                throw;
            }
        }

        TryDeleteDirectory(tempDir);
        throw new InvalidOperationException($"Azurite did not start after {StartAttempts} attempts.", last);
    }

    /// <summary>Stops Azurite (gracefully, so disk data is saved; killed if it does not exit in time) and waits for it to exit.</summary>
    public async Task StopAsync(CancellationToken ct = default)
    {
        var process = _process;
        if (process is null)
        {
            return;
        }

        if (!process.HasExited && !OperatingSystem.IsWindows())
        {
            // SIGTERM makes Azurite close its servers and save its metadata (it autosaves only every 5 s).
            _ = SysKill(process.Id, SigTerm);
            using var graceful = CancellationTokenSource.CreateLinkedTokenSource(ct);
            graceful.CancelAfter(GracefulStopTimeout);
            try
            {
                await process.WaitForExitAsync(graceful.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                // It did not stop in time: kill it below.
            }
        }

        KillProcess();
        await process.WaitForExitAsync(ct);
        process.Dispose();
        _process = null;
    }

    /// <summary>
    /// Stops Azurite and starts it again on the same ports (and, for disk persistence, the same
    /// folder, so blobs and messages survive; in memory everything is lost).
    /// </summary>
    public async Task RestartAsync(CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        await StopAsync(ct);
        try
        {
            await LaunchAsync(ct);
        }
        catch (AzuriteStartException e)
        {
            throw new InvalidOperationException($"Azurite did not restart on ports {BlobPort}/{QueuePort}/{TablePort}.", e);
        }
    }

    /// <summary>Kills Azurite and deletes its temporary folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        var process = _process;
        KillProcess();
        if (process is not null)
        {
            using var cts = new CancellationTokenSource(GracefulStopTimeout);
            try
            {
                await process.WaitForExitAsync(cts.Token);
            }
            catch (OperationCanceledException)
            {
                // Killed but not reaped in time; nothing more to do.
            }

            process.Dispose();
            _process = null;
        }

        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
        TryDeleteDirectory(_tempDir);
    }

    /// <summary>The last lines Azurite wrote to stdout and stderr.</summary>
    public string OutputTail()
    {
        lock (_output)
        {
            return string.Join(Environment.NewLine, _output);
        }
    }

    private async Task LaunchAsync(CancellationToken ct)
    {
        lock (_output)
        {
            _output.Clear();
        }

        var blobListening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var queueListening = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var info = new ProcessStartInfo(_executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            WorkingDirectory = _tempDir,
        };
        foreach (var arg in Arguments())
        {
            info.ArgumentList.Add(arg);
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            Remember(e.Data);
            if (e.Data.Contains("Blob service is successfully listening", StringComparison.Ordinal))
            {
                blobListening.TrySetResult();
            }
            else if (e.Data.Contains("Queue service is successfully listening", StringComparison.Ordinal))
            {
                queueListening.TrySetResult();
            }
        };
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                Remember(e.Data);
            }
        };

        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            process.Dispose();
            throw new InvalidOperationException($"Could not run Azurite at '{_executable}' (is Node.js on the PATH?): {e.Message}", e);
        }

        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(StartTimeout);
        var exited = process.WaitForExitAsync(CancellationToken.None);
        try
        {
            // Azurite prints "successfully listening" once it holds the port; checking that as well as
            // connecting rules out answering a stranger that took the port after we picked it.
            var listening = Task.WhenAll(blobListening.Task, queueListening.Task);
            var first = await Task.WhenAny(listening, exited).WaitAsync(deadline.Token);
            if (first == exited)
            {
                await exited; // let the output readers drain
                throw new AzuriteStartException($"Azurite exited with code {process.ExitCode} while starting.{Tail()}");
            }

            while (!(await AcceptsAsync(BlobPort, deadline.Token) && await AcceptsAsync(QueuePort, deadline.Token)))
            {
                // Poll until the deadline, waking at once if Azurite dies.
                await Task.WhenAny(Task.Delay(50, deadline.Token), exited);
                if (exited.IsCompleted)
                {
                    throw new AzuriteStartException($"Azurite exited with code {process.ExitCode} while starting.{Tail()}");
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            KillProcess();
            throw new AzuriteStartException($"Azurite did not accept connections on ports {BlobPort} (blob) and {QueuePort} (queue) within {StartTimeout.TotalSeconds:0} s.{Tail()}");
        }
        catch
        {
            KillProcess();
            throw;
        }
    }

    private IEnumerable<string> Arguments()
    {
        string[] common =
        [
            "--disableTelemetry", "--skipApiVersionCheck", "--loose", "--silent",
            "--blobHost", "127.0.0.1", "--blobPort", BlobPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--queueHost", "127.0.0.1", "--queuePort", QueuePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--tableHost", "127.0.0.1", "--tablePort", TablePort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ];
        // Azurite refuses --inMemoryPersistence together with --location.
        return _inMemory ? [.. common, "--inMemoryPersistence"] : [.. common, "--location", Path.Combine(_tempDir, "data")];
    }

    private static async Task<bool> AcceptsAsync(int port, CancellationToken ct)
    {
        using var client = new TcpClient();
        try
        {
            await client.ConnectAsync(IPAddress.Loopback, port, ct);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    private static int[] PickFreePorts(int count)
    {
        // Hold every listener until all are picked so the ports differ.
        var listeners = new List<TcpListener>();
        try
        {
            for (var i = 0; i < count; i++)
            {
                var listener = new TcpListener(IPAddress.Loopback, 0);
                listener.Start();
                listeners.Add(listener);
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    private static string FindExecutable()
    {
        var name = OperatingSystem.IsWindows() ? "azurite.cmd" : "azurite";
        var path = Path.Combine(RepoPaths.Root(), "infra", "local", "node_modules", ".bin", name);
        if (!File.Exists(path))
        {
            throw new InvalidOperationException($"Azurite is not installed ('{path}' is missing). Run infra/local/install.sh (npm ci in infra/local) first.");
        }

        return path;
    }

    private void Remember(string line)
    {
        lock (_output)
        {
            _output.Enqueue(line);
            while (_output.Count > OutputTailLines)
            {
                _output.Dequeue();
            }
        }
    }

    private string Tail()
    {
        var tail = OutputTail();
        return tail.Length == 0 ? " Azurite wrote nothing." : $" Azurite's output:{Environment.NewLine}{tail}";
    }

    private void KillProcess()
    {
        try
        {
            var process = _process;
            if (process is not null && !process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already exited, or never started.
        }
        catch (System.ComponentModel.Win32Exception)
        {
            // Exiting while we kill it.
        }
    }

    // The test host is exiting without having disposed this server.
    private void OnHostExit()
    {
        KillProcess();
        try
        {
            _process?.WaitForExit(TimeSpan.FromSeconds(2));
        }
        catch (InvalidOperationException)
        {
        }

        TryDeleteDirectory(_tempDir);
    }

    // A failed start attempt: kill it and forget it, leaving the shared temp folder to the caller.
    private void Detach()
    {
        KillProcess();
        _process?.WaitForExit(GracefulStopTimeout);
        _process?.Dispose();
        _process = null;
        _disposed = true;
        AppDomain.CurrentDomain.ProcessExit -= _onProcessExit;
    }

    private static void TryDeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        catch (IOException)
        {
            // Best effort: a temp folder left behind is harmless.
        }
        catch (UnauthorizedAccessException)
        {
        }
    }

    private const int SigTerm = 15;

    // DllImport rather than LibraryImport: the generated stub would need AllowUnsafeBlocks for nothing.
    [DllImport("libc", EntryPoint = "kill")]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SysKill(int pid, int signal);

    private sealed class AzuriteStartException(string message) : Exception(message);
}
