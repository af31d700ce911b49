using System.CommandLine;
using Labeling.Hosting;
using Labeling.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command ServeCommand(CliContext context)
    {
        var urlsOption = UrlsOption("http://127.0.0.1:5080");
        var command = new Command(
            "serve",
            "Run the host: the Hangfire dashboard (/hangfire) with the recurring jobs, the HTTP API (/api, /openapi/v1.json), the review page (/review) and, in embedded mode, the label workers. Local-only unless Server:Access is configured.");
        command.Options.Add(urlsOption);
        SetHostAction(context, command, urlsOption, builder => builder.AddLabelingServer(), app => app.MapLabelingServer(), "dashboard {0}/hangfire · review {0}/review · API {0}/openapi/v1.json");
        return command;
    }

    private static Command WorkerCommand(CliContext context)
    {
        var urlsOption = UrlsOption("http://127.0.0.1:5081");
        var command = new Command(
            "worker",
            "Run the label workers alone (scale-out: start as many as the queue needs), with /healthz, /readyz and /stats. Set Worker:ScanInterval to scan the inbox from here too.");
        command.Options.Add(urlsOption);
        SetHostAction(context, command, urlsOption, builder => builder.AddLabelingWorker(), app => app.MapLabelingWorkerEndpoints(), "health {0}/readyz · counters {0}/stats");
        return command;
    }

    private const string HostLogCategory = "Microsoft.Extensions.Hosting.Internal.Host";

    /// <summary>The address Kestrel could not bind because it is in use, from its "Failed to bind to address URL: address already in use." error.</summary>
    private static Uri? AddressInUse(IOException e)
    {
        for (Exception? inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (inner is Microsoft.AspNetCore.Connections.AddressInUseException
                || inner is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.AddressAlreadyInUse })
            {
                var match = System.Text.RegularExpressions.Regex.Match(e.Message, @"address (\S+?):? address already in use", System.Text.RegularExpressions.RegexOptions.IgnoreCase);
                return match.Success && Uri.TryCreate(match.Groups[1].Value.TrimEnd(':'), UriKind.Absolute, out var uri) ? uri : null;
            }
        }

        return null;
    }

    private static Option<string> UrlsOption(string defaultUrl) => new("--urls")
    {
        Description = $"Where to listen, ';'-separated (default {defaultUrl}; port 0 picks a free one). A non-loopback address needs Server:Access credentials for remote users, and https:// for them (or Server:Access:AllowInsecureHttp).",
        DefaultValueFactory = _ => defaultUrl,
    };

    private static void SetHostAction(
        CliContext context, Command command, Option<string> urlsOption,
        Action<WebApplicationBuilder> add, Action<WebApplication> map, string banner)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var settings = CliSettings.Load(parse.GetValue(context.ConfigOption));
                var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = [], ContentRootPath = Environment.CurrentDirectory });
                // ASP.NET Core logs two lines per request at Information: the dashboard and the review page poll every few
                // seconds, which would bury the lines that say what changed. A default below every other source, so
                // Logging:LogLevel:Microsoft.AspNetCore in labeling.json or the environment still wins.
                builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Memory.MemoryConfigurationSource
                {
                    InitialData = new Dictionary<string, string?> { ["Logging:LogLevel:Microsoft.AspNetCore"] = "Warning" },
                });
                builder.Configuration.AddConfiguration(settings.Configuration);
                builder.WebHost.UseUrls(parse.GetValue(urlsOption)!);
                // A start that fails (a port in use) is reported below in one line; the host would
                // also log it as "Hosting failed to start" with the whole stack trace. Later host
                // errors (a crashed background service) are logged as usual.
                var starting = true;
                builder.Logging.AddFilter(HostLogCategory, level => level >= LogLevel.Warning && !(starting && level >= LogLevel.Error));
                add(builder);
                await using var app = builder.Build();
                map(app);
                await app.StartAsync(cancellationToken);
                starting = false;
                foreach (var address in app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [])
                {
                    await context.Output.WriteLineAsync($"listening on {address}: {string.Format(System.Globalization.CultureInfo.InvariantCulture, banner, address)}");
                }

                await app.WaitForShutdownAsync(cancellationToken);
                return 0;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return 0;
            }
            catch (IOException e) when (AddressInUse(e) is { } address)
            {
                await context.Error.WriteLineAsync(
                    $"error: port {address.Port} is in use: {e.Message.TrimEnd('.')}; pick another with --urls (e.g. --urls http://127.0.0.1:0 for any free port).");
                return 1;
            }
            catch (Exception e)
            {
                var message = e is Microsoft.Extensions.Options.OptionsValidationException v ? string.Join(" ", v.Failures) : e.Message;
                await context.Error.WriteLineAsync($"error: {CliSettings.Redact(message)}");
                return 1;
            }
        });
    }
}
