using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Labeling.Testing;

/// <summary>
/// A throwaway PostgreSQL server from the machine's binaries, on a free loopback port, with its
/// data directory under /tmp. initdb and pg_ctl refuse to run as root, so as root they run as
/// the <c>postgres</c> user through <c>runuser</c>. Each test gets its own database.
/// </summary>
public sealed class PostgresServer : IAsyncDisposable
{
    private static readonly string[] BinDirs = ["/usr/lib/postgresql/17/bin", "/usr/lib/postgresql/16/bin", "/usr/lib/postgresql/15/bin"];
    private readonly string _bin;
    private readonly string _root;
    private readonly bool _asPostgresUser;
    private int _databases;
    private bool _running;

    private PostgresServer(string bin, string root, int port, bool asPostgresUser)
    {
        _bin = bin;
        _root = root;
        Port = port;
        _asPostgresUser = asPostgresUser;
    }

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; private set; }

    private string DataDir => Path.Combine(_root, "data");

    /// <summary>Connection string of the <c>postgres</c> maintenance database.</summary>
    public string AdminConnectionString => ConnectionStringFor("postgres");

    /// <summary>Connection string of database <paramref name="database"/> (trust authentication on loopback).</summary>
    public string ConnectionStringFor(string database) =>
        new NpgsqlConnectionStringBuilder
        {
            Host = "127.0.0.1",
            Port = Port,
            Username = "postgres",
            Database = database,
            Pooling = true,
            Timeout = 15,
            CommandTimeout = 300,
        }.ToString();

    /// <summary>
    /// Runs initdb and starts the server. <paramref name="durable"/> false turns off fsync and
    /// full-page writes (tests); benchmarks keep the defaults.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(bool durable = false, CancellationToken cancellationToken = default)
    {
        var bin = BinDirs.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")))
            ?? throw new InvalidOperationException(
                $"PostgreSQL server binaries not found in {string.Join(", ", BinDirs)}. Install them with: apt-get install -y postgresql");
        var asPostgres = Environment.UserName == "root";
        var root = Path.Combine(Path.GetTempPath(), "labeling-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(root);
        if (asPostgres)
        {
            await RunAsync("chown", ["postgres:postgres", root], cancellationToken);
        }

        Exception? last = null;
        for (var attempt = 0; attempt < 3; attempt++)
        {
            var server = new PostgresServer(bin, root, FreePort(), asPostgres);
            try
            {
                if (attempt == 0)
                {
                    await server.PgAsync("initdb", ["-D", server.DataDir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], cancellationToken);
                    var conf = string.Join('\n',
                        "listen_addresses = '127.0.0.1'",
                        $"unix_socket_directories = '{root}'",
                        "max_connections = 200",
                        "shared_buffers = 256MB",
                        // Bulk-load settings any box-heavy server wants: fewer forced checkpoints mid-COPY.
                        "max_wal_size = 4GB",
                        "wal_buffers = 16MB",
                        "checkpoint_timeout = 15min",
                        durable ? "" : "fsync = off",
                        durable ? "" : "full_page_writes = off",
                        durable ? "" : "synchronous_commit = off") + "\n";
                    await File.AppendAllTextAsync(Path.Combine(server.DataDir, "postgresql.conf"), conf, cancellationToken);
                }

                await server.StartServerAsync(cancellationToken);
                AppDomain.CurrentDomain.ProcessExit += (_, _) => server.StopNow();
                return server;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                last = e; // most likely the port was taken between probing and binding: try another
            }
        }

        throw new InvalidOperationException($"PostgreSQL did not start in {root}: {last?.Message}", last);
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        await PgAsync("pg_ctl", ["-D", DataDir, "-l", Path.Combine(_root, "server.log"), "-o", $"-p {Port} -k {_root}", "-w", "-t", "60", "start"], cancellationToken);
        _running = true;
    }

    /// <summary>Stops the server (fast shutdown): connections fail until <see cref="StartAgainAsync"/>.</summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        if (_running)
        {
            await PgAsync("pg_ctl", ["-D", DataDir, "-m", "fast", "-w", "stop"], cancellationToken);
            _running = false;
        }
    }

    /// <summary>Starts a stopped server again on the same port with the same data.</summary>
    public Task StartAgainAsync(CancellationToken cancellationToken = default) => StartServerAsync(cancellationToken);

    /// <summary>Creates an empty database with a unique name and returns its connection string.</summary>
    public async Task<string> CreateDatabaseAsync(string prefix = "t", CancellationToken cancellationToken = default)
    {
        var name = $"{prefix}_{Interlocked.Increment(ref _databases)}_{Guid.NewGuid().ToString("N")[..8]}".ToLowerInvariant();
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = $"CREATE DATABASE \"{name}\"";
        await command.ExecuteNonQueryAsync(cancellationToken);
        return ConnectionStringFor(name);
    }

    public async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        try
        {
            await StopAsync();
        }
        catch (InvalidOperationException)
        {
            StopNow();
        }

        try
        {
            Directory.Delete(_root, recursive: true);
        }
        catch (IOException)
        {
            // a leftover temp folder is not worth failing a test run over
        }
    }

    private void StopNow()
    {
        if (!_running)
        {
            return;
        }

        try
        {
            var pidFile = Path.Combine(DataDir, "postmaster.pid");
            if (File.Exists(pidFile) && int.TryParse(File.ReadLines(pidFile).First(), out var pid))
            {
                Process.GetProcessById(pid).Kill();
            }
        }
        catch (Exception e) when (e is IOException or ArgumentException or InvalidOperationException or System.ComponentModel.Win32Exception)
        {
            // already gone
        }

        _running = false;
    }

    private Task PgAsync(string tool, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var exe = Path.Combine(_bin, tool);
        return _asPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", exe, .. args], cancellationToken)
            : RunAsync(exe, args, cancellationToken);
    }

    private static async Task RunAsync(string file, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var a in args)
        {
            info.ArgumentList.Add(a);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
        var stdout = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var stderr = process.StandardError.ReadToEndAsync(cancellationToken);
        await process.WaitForExitAsync(cancellationToken);
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException(
                $"{Path.GetFileName(file)} {string.Join(' ', info.ArgumentList)} exited with {process.ExitCode}: {await stderr}{await stdout}");
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
