using System.CommandLine;
using System.Text.Json;
using Labeling.Sql;

namespace Labeling.Cli;

/// <summary>The <c>labeling</c> command line: one place that builds every command.</summary>
public static partial class LabelingCli
{
    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };

    /// <summary>Parses <paramref name="args"/>, runs the command, returns the exit code (0 ok, 1 failed, 2 bad usage).</summary>
    public static async Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var configOption = new Option<FileInfo?>("--config")
        {
            Description = "A JSON settings file (default: ./labeling.json when present). Environment variables LABELING_<Section>__<Key> override it.",
            Recursive = true,
        };
        var jsonOption = new Option<bool>("--json") { Description = "Print machine-readable JSON.", Recursive = true };

        var root = new RootCommand("Labeling: turns image-level tags into box-level detection data. With no configuration every command uses the embedded defaults under ./data.");
        root.Options.Add(configOption);
        root.Options.Add(jsonOption);
        root.Subcommands.Add(MigrateCommand(configOption, jsonOption, output, error));
        var context = new CliContext(configOption, jsonOption, output, error);
        root.Subcommands.Add(ServeCommand(context));
        root.Subcommands.Add(WorkerCommand(context));
        root.Subcommands.Add(ModelsCommand(context));
        root.Subcommands.Add(IngestCommand(context));
        root.Subcommands.Add(WorkCommand(context));
        root.Subcommands.Add(StatusCommand(context));
        root.Subcommands.Add(FailuresCommand(context));
        root.Subcommands.Add(RetryCommand(context));
        root.Subcommands.Add(DeadLettersCommand(context));
        root.Subcommands.Add(DatasetsCommand(context));
        root.Subcommands.Add(DatasetCommand(context));
        root.Subcommands.Add(QueryCommand(context));
        root.Subcommands.Add(RenderCommand(context));
        root.Subcommands.Add(ExportCommand(context));
        root.Subcommands.Add(TrainCommand(context));
        root.Subcommands.Add(RetrainCommand(context));
        root.Subcommands.Add(DiffCommand(context));
        root.Subcommands.Add(EvalCommand(context));
        root.Subcommands.Add(DemoCommand(context));

        var parse = root.Parse(args.Length == 0 ? ["--help"] : args);
        if (parse.Errors.Count > 0)
        {
            return await ParseErrors.WriteAsync(parse, error);
        }

        var configuration = new InvocationConfiguration { Output = output, Error = error };
        return await parse.InvokeAsync(configuration, cancellationToken);
    }

    private static async Task WriteJsonAsync(TextWriter output, object value) => await output.WriteLineAsync(JsonSerializer.Serialize(value, Json));

    private static Command MigrateCommand(Option<FileInfo?> configOption, Option<bool> jsonOption, TextWriter output, TextWriter error)
    {
        var databaseOption = new Option<string?>("--database")
        {
            Description = "Path of a SQLite database file to migrate (overrides the configured database).",
        };
        var command = new Command("migrate", "Create or upgrade the labels database schema (SQLite or PostgreSQL). Running it again is a no-op.");
        command.Options.Add(databaseOption);
        command.SetAction(async (parse, cancellationToken) =>
        {
            try
            {
                var settings = CliSettings.Load(parse.GetValue(configOption));
                var options = settings.Database;
                if (parse.GetValue(databaseOption) is { } file)
                {
                    options = new DatabaseOptions { Provider = Schema.DatabaseProvider.Sqlite, ConnectionString = $"Data Source={file}" };
                }

                await using var database = LabelsDatabase.Create(options);
                var result = await Task.Run(database.Migrate, cancellationToken);
                if (parse.GetValue(jsonOption))
                {
                    await output.WriteLineAsync(JsonSerializer.Serialize(new { provider = options.Provider.ToString().ToLowerInvariant(), applied = result.Applied, alreadyApplied = result.AlreadyApplied }, Json));
                }
                else if (result.Applied.Count == 0)
                {
                    await output.WriteLineAsync($"{options.Provider} database is up to date ({result.AlreadyApplied.Count} migrations applied before).");
                }
                else
                {
                    await output.WriteLineAsync($"Applied {result.Applied.Count} migration(s) to the {options.Provider} database: {string.Join(", ", result.Applied)}.");
                }

                return 0;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                await error.WriteLineAsync($"error: {CliSettings.Redact(e.Message)}");
                return 1;
            }
        });
        return command;
    }
}
