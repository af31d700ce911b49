using System.CommandLine;
using Labeling.Bootstrap;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command DemoCommand(CliContext context)
    {
        var quickOption = new Option<bool>("--quick") { Description = "A smaller world and fewer steps: within 15 minutes on 2 cores (the default aims at accuracy)." };
        var workOption = new Option<DirectoryInfo?>("--work") { Description = "Where the world's copy, the models, the report and the chart go (default ./data/demo)." };
        var roundsOption = new Option<int?>("--rounds") { Description = "Bootstrap rounds after the seed." };
        var seedStepsOption = new Option<int?>("--seed-steps") { Description = "Training steps of the seed detector." };
        var roundStepsOption = new Option<int?>("--round-steps") { Description = "Training steps of each round." };
        var baseOption = new Option<int?>("--base-images") { Description = "Boxed scenes of the base classes." };
        var taggedOption = new Option<int?>("--tagged-images") { Description = "Tag-only images." };
        var goldOption = new Option<int?>("--gold-images") { Description = "Boxed gold scenes (evaluation)." };
        var sizeOption = new Option<int?>("--image-size") { Description = "Image side and model input size (multiple of 16)." };
        var presetOption = new Option<string?>("--preset") { Description = "Model size: tiny, small or base." };
        var threadsOption = new Option<int?>("--threads") { Description = "libtorch and ONNX Runtime threads (default: every core)." };
        var tagsOption = new Option<DemoTags>("--tags") { Description = "Classes of the tag-only images: All, or BaseOnly (the control run).", DefaultValueFactory = _ => DemoTags.All };
        var noOracleOption = new Option<bool>("--no-oracle") { Description = "Skip the oracle (the detector trained with boxes of every class)." };
        var prefixOption = new Option<string?>("--prefix") { Description = "Prefix of the datasets and model versions (default demo)." };
        var command = new Command("demo", "The bootstrap loop on a generated open-vocabulary world: seed detector on base boxes, workers label tag-only images, retrain on pseudo boxes and tags, label again, evaluate every round on the gold split beside the oracle; prints and saves the table and a chart.");
        foreach (var option in new Option[] { quickOption, workOption, roundsOption, seedStepsOption, roundStepsOption, baseOption, taggedOption, goldOption, sizeOption, presetOption, threadsOption, tagsOption, noOracleOption, prefixOption })
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var defaults = parse.GetValue(quickOption) ? DemoOptions.Quick : new DemoOptions();
            var options = defaults with
            {
                WorkFolder = parse.GetValue(workOption)?.FullName ?? defaults.WorkFolder,
                Rounds = parse.GetValue(roundsOption) ?? defaults.Rounds,
                SeedSteps = parse.GetValue(seedStepsOption) ?? defaults.SeedSteps,
                RoundSteps = parse.GetValue(roundStepsOption) ?? defaults.RoundSteps,
                BaseImages = parse.GetValue(baseOption) ?? defaults.BaseImages,
                TaggedImages = parse.GetValue(taggedOption) ?? defaults.TaggedImages,
                GoldImages = parse.GetValue(goldOption) ?? defaults.GoldImages,
                ImageSize = parse.GetValue(sizeOption) ?? defaults.ImageSize,
                Preset = parse.GetValue(presetOption) ?? defaults.Preset,
                Threads = parse.GetValue(threadsOption) ?? defaults.Threads,
                Tags = parse.GetValue(tagsOption),
                Oracle = !parse.GetValue(noOracleOption),
                Prefix = parse.GetValue(prefixOption) ?? defaults.Prefix,
            };
            BootstrapDemo demo;
            try
            {
                demo = new BootstrapDemo(services, options);
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message);
            }

            DemoReport report;
            if (parse.GetValue(context.JsonOption))
            {
                report = await demo.RunAsync(null, cancellationToken);
                await context.Output.WriteLineAsync(report.ToJson());
                return 0;
            }

            DemoReport? result = null;
            await context.Console().Progress()
                .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn())
                .StartAsync(async ctx =>
                {
                    var tasks = demo.Stages.Select(s => ctx.AddTask(Markup.Escape(s), autoStart: false, maxValue: 1)).ToList();
                    var progress = new DemoProgressReporter(p =>
                    {
                        for (var i = 0; i < p.StageIndex; i++)
                        {
                            tasks[i].Value = 1;
                            tasks[i].StopTask();
                        }

                        var task = tasks[p.StageIndex];
                        task.StartTask();
                        task.Value = p.Fraction;
                        task.Description = Markup.Escape($"{p.Stage}: {p.Detail}");
                    });
                    result = await demo.RunAsync(progress, cancellationToken);
                    tasks.ForEach(t => { t.Value = 1; t.StopTask(); });
                });
            report = result!;
            await context.Output.WriteLineAsync();
            await context.Output.WriteLineAsync(report.Setup);
            await context.Output.WriteLineAsync();
            await context.Output.WriteAsync(report.ToMarkdown());
            await context.Output.WriteLineAsync();
            await context.Output.WriteLineAsync($"Done in {report.Minutes:F1} min. Report: {Path.Combine(options.WorkFolder, "report.md")}. `labeling serve` shows the models and boxes.");
            return 0;
        });
        return command;
    }

    /// <summary>Applies reports on the reporting thread, in order.</summary>
    private sealed class DemoProgressReporter(Action<DemoProgress> apply) : IProgress<DemoProgress>
    {
        public void Report(DemoProgress value) => apply(value);
    }
}
