using System.CommandLine;
using Labeling.Blobs;
using Labeling.Labels;
using Labeling.Trainer.Data;
using Labeling.Trainer.Model;
using Labeling.Trainer.Training;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command TrainCommand(CliContext context)
    {
        var cocoOption = new Option<FileInfo?>("--coco") { Description = "Train from a COCO annotations file (images beside it, or under --images) instead of the label store's pool." };
        var imagesOption = new Option<DirectoryInfo?>("--images") { Description = "The image folder of --coco (default: the file's folder)." };
        var datasetOption = new Option<string[]>("--dataset") { Description = "Pool only these datasets (repeatable; default: all).", AllowMultipleArgumentsPerToken = true };
        var stepsOption = new Option<int>("--steps") { Description = "Optimiser steps.", DefaultValueFactory = _ => 2000 };
        var batchOption = new Option<int>("--batch") { Description = "Images per step.", DefaultValueFactory = _ => 8 };
        var presetOption = new Option<string>("--preset") { Description = "Model size: tiny, small (CPU) or base.", DefaultValueFactory = _ => "small" };
        var outOption = new Option<FileInfo>("--out") { Description = "The exported ONNX model (its weights go beside it as .weights).", Required = true };
        var lrOption = new Option<float>("--lr") { Description = "Peak learning rate (AdamW, warm-up then cosine).", DefaultValueFactory = _ => 2e-3f };
        var threadsOption = new Option<int>("--threads") { Description = "libtorch threads.", DefaultValueFactory = _ => 1 };
        var deviceOption = new Option<string>("--device") { Description = "cpu, cuda or auto.", DefaultValueFactory = _ => "cpu" };
        var seedOption = new Option<int>("--seed") { Description = "Seed of the weights and the data order.", DefaultValueFactory = _ => 1 };
        var checkpointsOption = new Option<DirectoryInfo?>("--checkpoints") { Description = "Checkpoint folder; a run with a checkpoint there resumes from it." };
        var warmStartOption = new Option<FileInfo?>("--warm-start") { Description = "Start from a previous run's .weights file." };
        var registerOption = new Option<string?>("--register") { Description = "Register the exported model under this version (as `models add` does)." };
        var activateOption = new Option<bool>("--activate") { Description = "With --register: make it the active model." };
        var command = new Command("train", "Train the open-vocabulary detector (TorchSharp) on the label store's pool (human boxes, confident pseudo boxes, tag-only images) or a COCO file, and export it as a region-embedding/1 ONNX model.");
        foreach (var option in new Option[] { cocoOption, imagesOption, datasetOption, stepsOption, batchOption, presetOption, outOption, lrOption, threadsOption, deviceOption, seedOption, checkpointsOption, warmStartOption, registerOption, activateOption })
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            DetectorConfig config;
            try
            {
                config = DetectorConfig.Preset(parse.GetValue(presetOption)!);
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message);
            }

            var register = parse.GetValue(registerOption);
            if (parse.GetValue(activateOption) && register is null)
            {
                throw new CliException("--activate needs --register VERSION.");
            }

            var training = new TrainingOptions
            {
                Steps = parse.GetValue(stepsOption),
                BatchSize = parse.GetValue(batchOption),
                LearningRate = parse.GetValue(lrOption),
                Threads = parse.GetValue(threadsOption),
                Device = parse.GetValue(deviceOption)!,
                Seed = parse.GetValue(seedOption),
                CheckpointFolder = parse.GetValue(checkpointsOption)?.FullName,
                WarmupSteps = Math.Min(100, Math.Max(1, parse.GetValue(stepsOption) / 10)),
            };
            try
            {
                training.Validate();
            }
            catch (ArgumentException e)
            {
                throw new CliException(e.Message);
            }

            ITrainingSource source;
            if (parse.GetValue(cocoOption) is { } coco)
            {
                if (!coco.Exists)
                {
                    throw new CliException($"COCO file '{coco.FullName}' does not exist.");
                }

                source = new CocoSource(coco.FullName, parse.GetValue(imagesOption)?.FullName ?? coco.DirectoryName!);
            }
            else
            {
                var datasets = parse.GetValue(datasetOption);
                source = new TrainingPool(services.GetRequiredService<ILabelStore>(), services.GetRequiredService<IBlobStore>(),
                    new TrainingPoolOptions { Datasets = datasets is { Length: > 0 } ? datasets : null });
            }

            var output = parse.GetRequiredValue(outOption);
            var request = new TrainingRunRequest
            {
                Source = source,
                Model = config,
                Training = training,
                Sampler = new BatchSamplerOptions { BatchSize = training.BatchSize },
                OutputPath = output.FullName,
                WarmStartWeights = parse.GetValue(warmStartOption)?.FullName,
            };

            var json = parse.GetValue(context.JsonOption);
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Labeling.Trainer");
            TrainingRunResult result;
            if (json)
            {
                result = await TrainingRun.RunAsync(request, logger, null, cancellationToken);
            }
            else
            {
                result = null!;
                await context.Console().Progress()
                    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
                    .StartAsync(async progress =>
                    {
                        var task = progress.AddTask("training", maxValue: training.Steps);
                        result = await TrainingRun.RunAsync(request, logger, p =>
                        {
                            task.Value = p.Step;
                            task.Description = $"step {p.Step}/{p.Steps} · loss {p.Loss:F3} · {p.StepsPerSecond:F1} steps/s";
                        }, cancellationToken);
                    });
            }

            object? registered = null;
            if (register is not null)
            {
                var (id, contract, _, blob, sha256) = await RegisterModelFileAsync(services, new FileInfo(result.OnnxPath), register, parse.GetValue(activateOption), cancellationToken);
                registered = new { id, version = register, contract, blob, sha256, status = parse.GetValue(activateOption) ? "active" : "candidate" };
            }

            var summary = new
            {
                steps = result.Training.Steps,
                skippedSteps = result.Training.SkippedSteps,
                firstLoss = result.Training.FirstLoss,
                lastLoss = result.Training.LastLoss,
                loss = new
                {
                    smoothedFirst = result.Training.Loss.SmoothedFirst,
                    smoothedFirstStep = result.Training.Loss.SmoothedFirstStep,
                    smoothedLast = result.Training.Loss.SmoothedLast,
                    smoothedLastStep = result.Training.Loss.SmoothedLastStep,
                    firstBatch = new { loss = result.Training.Loss.FirstBatchLoss, boxImages = result.Training.Loss.FirstBatchBoxImages, tagOnlyImages = result.Training.Loss.FirstBatchTagOnlyImages },
                },
                secondsPerStep = result.Training.SecondsPerStep,
                boxImages = result.Counts.BoxImages,
                tagOnlyImages = result.Counts.TagOnlyImages,
                classes = result.ClassNames,
                onnx = result.OnnxPath,
                weights = result.WeightsPath,
                registered,
            };
            if (json)
            {
                await WriteJsonAsync(context.Output, summary);
            }
            else
            {
                await context.Output.WriteLineAsync(
                    $"Trained {result.Training.Steps} steps on {result.Counts.BoxImages} box image(s) and {result.Counts.TagOnlyImages} tag-only image(s), {result.ClassNames.Count} classes: "
                    + $"{result.Training.Loss.Describe()}; {result.Training.SkippedSteps} step(s) skipped, {result.Training.SecondsPerStep * 1000:F0} ms/step. "
                    + $"Model: {result.OnnxPath}{(register is null ? "" : $"; registered as {register}")}.");
            }

            return 0;
        });
        return command;
    }
}
