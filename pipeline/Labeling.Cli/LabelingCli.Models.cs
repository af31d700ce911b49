using System.CommandLine;
using System.Globalization;
using Labeling.Blobs;
using Labeling.Bootstrap;
using Labeling.Detection;
using Labeling.Functions.Models;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command ModelsCommand(CliContext context)
    {
        var command = new Command("models", "Register, list, activate (promote), reject and roll back detector models.");
        command.Subcommands.Add(ModelsAddCommand(context));
        command.Subcommands.Add(ModelsListCommand(context));
        command.Subcommands.Add(ModelsActivateCommand(context));
        command.Subcommands.Add(ModelsRejectCommand(context));
        command.Subcommands.Add(ModelsRollbackCommand(context));
        command.Subcommands.Add(ModelsRunsCommand(context));
        return command;
    }

    private static Command ModelsRunsCommand(CliContext context)
    {
        var command = new Command("runs", "List the retraining runs: the candidate each builds, its parent, how it ended (or that it runs, with its process and last heartbeat), the checkpoint step it resumed from, the model it made.");
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var store = services.GetRequiredService<ILabelStore>();
            var runs = await store.ListTrainingRunsAsync(cancellationToken);
            var models = (await store.ListModelsAsync(cancellationToken)).ToDictionary(m => m.Id, m => m.Version);
            string? Version(long? id) => id is { } key && models.TryGetValue(key, out var v) ? v : null;
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, runs.Select(r => new
                {
                    r.Id, r.Version, status = r.Status.ToString().ToLowerInvariant(), parent = Version(r.ParentModelId), model = Version(r.ModelId),
                    r.Owner, r.StartedAt, r.HeartbeatAt, r.ResumedFromStep, r.Error,
                }));
                return 0;
            }

            if (runs.Count == 0)
            {
                await context.Output.WriteLineAsync("No retraining runs yet: `labeling retrain`, or the retrain job on the dashboard.");
                return 0;
            }

            var table = new Table().AddColumns("Run", "Candidate", "Parent", "Status", "Resumed at", "Started", "Last heartbeat", "Model", "Error");
            var orphanAfter = new RetrainingOptions().OrphanAfter;
            var orphans = new List<string>();
            foreach (var r in runs)
            {
                // A run whose process died still says running until a host claims it: say so, and how to continue it.
                var why = r.Status == TrainingRunStatus.Running ? TrainingRecovery.WhyOrphaned(r, orphanAfter, DateTimeOffset.UtcNow) : null;
                if (why is not null && r.Version is not null)
                {
                    orphans.Add(r.Version);
                }

                table.AddRow(r.Id.ToString(CultureInfo.InvariantCulture), Markup.Escape(r.Version ?? "-"), Markup.Escape(Version(r.ParentModelId) ?? "-"),
                    why is null ? r.Status.ToString().ToLowerInvariant() : $"[red]interrupted[/] ({Markup.Escape(why)})",
                    r.ResumedFromStep?.ToString(CultureInfo.InvariantCulture) ?? "", $"{r.StartedAt:u}", $"{r.HeartbeatAt:u}",
                    Markup.Escape(Version(r.ModelId) ?? ""), Markup.Escape(r.Error ?? ""));
            }

            context.Console().Write(table);
            foreach (var version in orphans)
            {
                await context.Output.WriteLineAsync($"{version} was interrupted: the next `labeling serve` resumes it, or `labeling retrain --resume {version}` now.");
            }

            return 0;
        });
        return command;
    }

    private static Command ModelsAddCommand(CliContext context)
    {
        var fileArgument = new Argument<FileInfo>("FILE") { Description = "The ONNX detector file (region-embedding/1 or fixed-vocabulary/1)." };
        var versionOption = new Option<string>("--version") { Description = "The model version, e.g. v1 (stored as blob models/<version>.onnx).", Required = true };
        var activateOption = new Option<bool>("--activate") { Description = "Make it the active model right away." };
        var command = new Command("add", "Check that FILE is a detector, upload it to models/<version>.onnx and register it (optionally activate it).");
        command.Arguments.Add(fileArgument);
        command.Options.Add(versionOption);
        command.Options.Add(activateOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var file = parse.GetRequiredValue(fileArgument);
            var version = parse.GetRequiredValue(versionOption).Trim();
            var activate = parse.GetValue(activateOption);
            var (id, contract, info, blobName, sha256) = await RegisterModelFileAsync(services, file, version, activate, cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new { id, version, contract, embeddingSpace = info.EmbeddingSpace, blob = blobName, sha256, status = activate ? "active" : "candidate" });
            }
            else
            {
                await context.Output.WriteLineAsync($"Registered model {version} ({contract}{(info.EmbeddingSpace is null ? "" : ", space " + info.EmbeddingSpace)}) as {blobName}, sha256 {sha256}{(activate ? "; it is active now" : "")}.");
            }

            return 0;
        });
        return command;
    }

    /// <summary>What <c>models add</c> and <c>train --register</c> do: <see cref="ModelRegistration.RegisterFileAsync(ILabelStore, IBlobStore, string, string, bool, long?, long, CancellationToken)"/>, within Detector:MaxModelBytes.</summary>
    private static async Task<(long Id, string Contract, DetectorInfo Info, string BlobName, string Sha256)> RegisterModelFileAsync(
        IServiceProvider services, FileInfo file, string version, bool activate, CancellationToken cancellationToken)
    {
        var detector = services.GetRequiredService<Microsoft.Extensions.Options.IOptions<DetectorOptions>>().Value;
        var model = await ModelRegistration.RegisterFileAsync(
            services.GetRequiredService<ILabelStore>(), services.GetRequiredService<IBlobStore>(), file.FullName, version, activate, parentId: null, detector.MaxModelBytes, cancellationToken);
        return (model.Id, model.Contract, model.Info, model.BlobName, model.Sha256);
    }

    private static Command ModelsListCommand(CliContext context)
    {
        var command = new Command("list", "List the registered models: version, parent, status (and why), gold AP and AP-novel when a retraining run scored them.");
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var models = await services.GetRequiredService<ILabelStore>().ListModelsAsync(cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, models.Select(m => new
                {
                    m.Version, m.Contract, space = m.EmbeddingSpace, status = m.Status.ToString().ToLowerInvariant(), reason = m.StatusReason,
                    parent = models.FirstOrDefault(p => p.Id == m.ParentId)?.Version, trainingRun = m.TrainingRunId, blob = m.BlobUri, m.Sha256,
                    metrics = m.Metrics is null ? (System.Text.Json.JsonElement?)null : System.Text.Json.JsonDocument.Parse(m.Metrics).RootElement.Clone(),
                }));
                return 0;
            }

            if (models.Count == 0)
            {
                await context.Output.WriteLineAsync("No models are registered: add one with `labeling models add FILE --version V --activate`.");
                return 0;
            }

            var table = new Table().AddColumns("Version", "Parent", "Contract", "Status", "AP", "AP-novel", "Why");
            foreach (var m in models)
            {
                var (ap, novel) = GoldScores(m.Metrics);
                table.AddRow(Markup.Escape(m.Version), Markup.Escape(models.FirstOrDefault(p => p.Id == m.ParentId)?.Version ?? "-"), Markup.Escape(m.Contract),
                    m.Status.ToString().ToLowerInvariant(), ap, novel, Markup.Escape(m.StatusReason ?? ""));
            }

            context.Console().Write(table);
            return 0;
        });
        return command;
    }

    private static Command ModelsActivateCommand(CliContext context)
    {
        var versionArgument = new Argument<string>("VERSION") { Description = "The registered model version to make active." };
        var command = new Command("activate", "Make a registered model the active one (the previous active model is retired).");
        command.Arguments.Add(versionArgument);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var version = parse.GetRequiredValue(versionArgument);
            var store = services.GetRequiredService<ILabelStore>();
            if (await store.GetModelAsync(version, cancellationToken) is null)
            {
                throw new CliException($"No model version '{version}' is registered.");
            }

            var changed = await store.ActivateModelAsync(version, cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new { version, status = "active", changed });
            }
            else
            {
                await context.Output.WriteLineAsync(changed ? $"Model {version} is active." : $"Model {version} is active already: nothing changed.");
            }

            return 0;
        });
        return command;
    }

    /// <summary>AP and AP-novel from a model's stored metrics (what the retrain job writes), "-" when absent.</summary>
    private static (string AP, string APNovel) GoldScores(string? metrics)
    {
        if (metrics is null)
        {
            return ("-", "-");
        }

        using var document = System.Text.Json.JsonDocument.Parse(metrics);
        if (!document.RootElement.TryGetProperty("gold", out var gold))
        {
            return ("-", "-");
        }

        static string Read(System.Text.Json.JsonElement gold, string name) =>
            gold.TryGetProperty(name, out var v) && v.ValueKind == System.Text.Json.JsonValueKind.Number
                ? v.GetDouble().ToString("F3", System.Globalization.CultureInfo.InvariantCulture)
                : "-";
        return (Read(gold, "AP"), Read(gold, "APnovel"));
    }

    private static Command ModelsRejectCommand(CliContext context)
    {
        var versionArgument = new Argument<string>("VERSION") { Description = "The model to reject." };
        var reasonOption = new Option<string>("--reason") { Description = "Why (kept in the registry).", Required = true };
        var command = new Command("reject", "Mark a model rejected, with the reason; the active model cannot be rejected (roll back first).");
        command.Arguments.Add(versionArgument);
        command.Options.Add(reasonOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var version = parse.GetRequiredValue(versionArgument);
            var reason = parse.GetRequiredValue(reasonOption);
            await services.GetRequiredService<ILabelStore>().RejectModelAsync(version, reason, cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new { version, status = "rejected", reason });
            }
            else
            {
                await context.Output.WriteLineAsync($"Model {version} is rejected: {reason}");
            }

            return 0;
        });
        return command;
    }

    private static Command ModelsRollbackCommand(CliContext context)
    {
        var versionArgument = new Argument<string?>("VERSION")
        {
            Description = "The active model to roll back from; refused when another one is active (someone acted first). Default: the active one.",
            Arity = ArgumentArity.ZeroOrOne,
        };
        var command = new Command("rollback", "Make the previously active model active again; the current one becomes rejected (\"rolled back\").");
        command.Arguments.Add(versionArgument);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var store = services.GetRequiredService<ILabelStore>();
            var current = await store.GetActiveModelAsync(cancellationToken)
                ?? throw new CliException("No model is active: nothing to roll back.");
            var version = parse.GetValue(versionArgument) ?? current.Version;
            // Conditional in the store: only while VERSION is still the active model when the rollback runs.
            var previous = await store.RollbackModelAsync(version, cancellationToken);
            if (previous is null)
            {
                var now = await store.GetActiveModelAsync(cancellationToken);
                throw new CliException(now is null ? "No model is active: nothing to roll back."
                    : now.Version != version ? $"{version} is not the active model ({now.Version} is): nothing rolled back."
                    : $"{version} is the first model ever active: there is nothing to roll back to.");
            }

            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new { active = previous, rolledBack = version });
            }
            else
            {
                await context.Output.WriteLineAsync($"Model {previous} is active again; {version} is rejected (rolled back). Run the relabel job (or `labeling work`) to relabel with it.");
            }

            return 0;
        });
        return command;
    }
}
