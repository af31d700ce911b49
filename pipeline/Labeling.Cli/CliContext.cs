using System.CommandLine;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Labeling.Cli;

/// <summary>What every command shares: the global options, the writers, and one way to run and fail.</summary>
internal sealed record CliContext(Option<FileInfo?> ConfigOption, Option<bool> JsonOption, TextWriter Output, TextWriter Error)
{
    /// <summary>
    /// Sets <paramref name="command"/>'s action: loads the settings, builds the services, runs
    /// <paramref name="run"/>; any failure is printed as <c>error: …</c> (redacted) with exit code 1.
    /// </summary>
    public void SetAction(Command command, Func<ParseResult, ServiceProvider, CancellationToken, Task<int>> run)
    {
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var settings = CliSettings.Load(parse.GetValue(ConfigOption));
                await using var services = CliServices.Build(settings);
                // Every command brings the schema up to date first (a no-op when it is), so no
                // command fails on a fresh folder with a bare "unable to open database file".
                await Task.Run(services.GetRequiredService<Labeling.Sql.LabelsDatabase>().Migrate, cancellationToken);
                return await run(parse, services, cancellationToken);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                var message = e is Microsoft.Extensions.Options.OptionsValidationException v ? string.Join(" ", v.Failures) : e.Message;
                await Error.WriteLineAsync($"error: {CliSettings.Redact(message)}");
                return 1;
            }
        });
    }

    /// <summary>The width of output that is not a terminal (a pipe, a file) without <c>COLUMNS</c>: wide enough that tables are never cut or wrapped.</summary>
    public const int PipedWidth = 4096;

    /// <summary>
    /// A Spectre console on <see cref="Output"/> (no colours unless it is the terminal), as wide as
    /// <see cref="ConsoleWidth"/> says.
    /// </summary>
    public IAnsiConsole Console()
    {
        var isConsole = ReferenceEquals(Output, System.Console.Out);
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(Output),
            Ansi = isConsole ? AnsiSupport.Detect : AnsiSupport.No,
            Interactive = isConsole ? InteractionSupport.Detect : InteractionSupport.No,
        });
        if (ConsoleWidth(Environment.GetEnvironmentVariable("COLUMNS"), isConsole && !System.Console.IsOutputRedirected) is { } width)
        {
            console.Profile.Width = width;
        }

        return console;
    }

    /// <summary>
    /// The table width: <c>COLUMNS</c> when it is a positive number; else the terminal's own width
    /// (null: let Spectre detect it); else, for a pipe or a file, <see cref="PipedWidth"/> (Spectre
    /// would otherwise assume 80 and cut every table).
    /// </summary>
    internal static int? ConsoleWidth(string? columns, bool terminal) =>
        int.TryParse(columns, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var width) && width > 0 ? width
        : terminal ? null
        : PipedWidth;
}
