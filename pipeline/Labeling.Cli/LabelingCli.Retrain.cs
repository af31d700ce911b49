using System.CommandLine;
using Labeling.Blobs;
using Labeling.Bootstrap;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command RetrainCommand(CliContext context)
    {
        var defaults = new RetrainingOptions();
        var stepsOption = new Option<int>("--steps") { Description = "Training steps of the candidate.", DefaultValueFactory = _ => defaults.Steps };
        var lrOption = new Option<float>("--lr") { Description = "Peak learning rate.", DefaultValueFactory = _ => defaults.LearningRate };
        var threadsOption = new Option<int>("--threads") { Description = "libtorch and ONNX Runtime threads.", DefaultValueFactory = _ => defaults.Threads };
        var datasetOption = new Option<string[]>("--dataset") { Description = "Pool and gold split from these datasets only (repeatable; default: all).", AllowMultipleArgumentsPerToken = true };
        var apToleranceOption = new Option<double>("--ap-tolerance") { Description = "Largest drop in gold AP the gate lets through.", DefaultValueFactory = _ => defaults.Gate.APTolerance };
        var novelToleranceOption = new Option<double>("--novel-tolerance") { Description = "Largest drop in gold AP-novel the gate lets through.", DefaultValueFactory = _ => defaults.Gate.APNovelTolerance };
        var workOption = new Option<DirectoryInfo?>("--work") { Description = "Where the run's files go (default ./data/retraining)." };
        var resumeOption = new Option<string?>("--resume") { Description = "Continue the run that builds this candidate version (its process died) from its last checkpoint; `labeling models runs` lists them." };
        var command = new Command("retrain", "One retraining run now: warm-start from the active model, train on the pool, score candidate and active model on the gold split, then promote (and send images to be relabelled) or reject with the reason.");
        foreach (var option in new Option[] { stepsOption, lrOption, threadsOption, datasetOption, apToleranceOption, novelToleranceOption, workOption, resumeOption })
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var datasets = parse.GetValue(datasetOption);
            var options = defaults with
            {
                Steps = parse.GetValue(stepsOption),
                LearningRate = parse.GetValue(lrOption),
                Threads = parse.GetValue(threadsOption),
                Datasets = datasets is { Length: > 0 } ? datasets : null,
                Gate = new GateOptions { APTolerance = parse.GetValue(apToleranceOption), APNovelTolerance = parse.GetValue(novelToleranceOption) },
                WorkFolder = parse.GetValue(workOption)?.FullName ?? defaults.WorkFolder,
            };
            try
            {
                options.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message);
            }

            var retrainer = new Retrainer(services.GetRequiredService<ILabelStore>(), services.GetRequiredService<IBlobStore>(),
                services.GetRequiredService<InboxScanner>(), services.GetService<ILoggerFactory>());
            var resume = parse.GetValue(resumeOption);
            Task<RetrainOutcome> RunAsync(Action<string, double>? progress) => resume is null
                ? retrainer.RunAsync(options, null, progress, cancellationToken)
                : retrainer.ResumeAsync(options, resume, progress, cancellationToken);
            RetrainOutcome outcome;
            if (parse.GetValue(context.JsonOption))
            {
                outcome = await RunAsync(null);
                await WriteJsonAsync(context.Output, new
                {
                    outcome.Version, outcome.Parent, outcome.WarmStarted, promoted = outcome.Decision.Promote, reason = outcome.Decision.Reason,
                    gold = outcome.Candidate, parentGold = outcome.Active, outcome.Relabelled, outcome.ResumedFromStep,
                    pool = new { outcome.Pool.BoxImages, outcome.Pool.TagOnlyImages, outcome.Pool.Boxes },
                });
                return outcome.Decision.Promote ? 0 : 3;
            }

            RetrainOutcome? result = null;
            await context.Console().Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var task = ctx.AddTask("Retraining", maxValue: 1);
                    result = await RunAsync((text, fraction) =>
                    {
                        task.Value = fraction;
                        task.Description = Markup.Escape(text.Length > 90 ? text[..90] + "…" : text);
                    });
                    task.Value = 1;
                });
            outcome = result!;
            await context.Output.WriteLineAsync(outcome.Summary);
            // Exit code 3: the run worked but the gate kept the active model (scripts can tell the two apart).
            return outcome.Decision.Promote ? 0 : 3;
        });
        return command;
    }
}
