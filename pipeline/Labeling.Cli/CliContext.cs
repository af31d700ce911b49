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

    /// <summary>A Spectre console on <see cref="Output"/> (no colours unless it is the terminal).</summary>
    public IAnsiConsole Console() => AnsiConsole.Create(new AnsiConsoleSettings
    {
        Out = new AnsiConsoleOutput(Output),
        Ansi = ReferenceEquals(Output, System.Console.Out) ? AnsiSupport.Detect : AnsiSupport.No,
        Interactive = ReferenceEquals(Output, System.Console.Out) ? InteractionSupport.Detect : InteractionSupport.No,
    });
}
