using System.CommandLine;
using Labeling.Blobs;
using Labeling.Functions.Ingest;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Spectre.Console;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private static Command IngestCommand(CliContext context)
    {
        var folderArgument = new Argument<DirectoryInfo>("FOLDER") { Description = "A local folder: tag folders of images, and optionally tags.csv, tags.jsonl, annotations.json." };
        var datasetOption = new Option<string>("--dataset") { Description = "The dataset the images belong to (the inbox folder inbox/<dataset>/).", Required = true };
        var command = new Command("ingest", "Copy FOLDER into the blob inbox (inbox/<dataset>/…, relative paths kept, symbolic links skipped), then scan the inbox: register the images with their tags and queue them for labelling.");
        command.Arguments.Add(folderArgument);
        command.Options.Add(datasetOption);
        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var folder = parse.GetRequiredValue(folderArgument);
            var dataset = parse.GetRequiredValue(datasetOption).Trim();
            var json = parse.GetValue(context.JsonOption);
            if (!folder.Exists)
            {
                throw new CliException($"Folder '{folder.FullName}' does not exist.");
            }

            if (dataset.Length == 0 || dataset.Contains('/', StringComparison.Ordinal) || dataset.Contains('\\', StringComparison.Ordinal) || dataset is "." or "..")
            {
                throw new CliException($"Dataset name '{dataset}' must be one non-empty path segment.");
            }

            var files = folder.EnumerateFiles("*", new EnumerationOptions
            {
                RecurseSubdirectories = true,
                AttributesToSkip = FileAttributes.ReparsePoint | FileAttributes.Hidden | FileAttributes.System,
                IgnoreInaccessible = true,
            }).Where(f => f.LinkTarget is null).OrderBy(f => f.FullName, StringComparer.Ordinal).ToList();

            var blobs = services.GetRequiredService<IBlobStore>();
            await blobs.CreateIfNotExistsAsync(cancellationToken);
            var prefix = services.GetRequiredService<IOptions<IngestOptions>>().Value.Prefix;
            long bytes = 0;

            async Task CopyAsync(Action<long>? advance)
            {
                foreach (var file in files)
                {
                    var relative = Path.GetRelativePath(folder.FullName, file.FullName).Replace(Path.DirectorySeparatorChar, '/');
                    await using (var stream = file.OpenRead())
                    {
                        await blobs.WriteAsync($"{prefix}{dataset}/{relative}", stream, overwrite: true, cancellationToken);
                    }

                    bytes += file.Length;
                    advance?.Invoke(file.Length);
                }
            }

            if (json || files.Count == 0)
            {
                await CopyAsync(null);
            }
            else
            {
                var total = files.Sum(f => f.Length);
                await context.Console().Progress().StartAsync(async progress =>
                {
                    var task = progress.AddTask($"Copying {files.Count} file(s) to {prefix}{Markup.Escape(dataset)}/", maxValue: Math.Max(total, 1));
                    await CopyAsync(n => task.Increment(n));
                    task.Value = task.MaxValue;
                });
            }

            var report = await services.GetRequiredService<InboxScanner>().ScanAsync(cancellationToken);
            if (json)
            {
                await WriteJsonAsync(context.Output, new { dataset, filesCopied = files.Count, bytesCopied = bytes, scan = report });
                return 0;
            }

            await context.Output.WriteLineAsync($"Copied {files.Count} file(s), {bytes:N0} bytes, to {prefix}{dataset}/.");
            await context.Output.WriteLineAsync(
                $"Scan: {report.BlobsListed} blob(s) listed, {report.ImagesCreated} image(s) registered, {report.AlreadyRegistered} already registered ({report.ImagesChanged} with new bytes), " +
                $"{report.Duplicates} duplicate(s), {report.TagsAdded} tag(s), {report.HumanBoxes} human box(es), {report.MessagesSent} label message(s) queued.");
            foreach (var problem in report.Problems)
            {
                await context.Output.WriteLineAsync($"  problem: {problem}");
            }

            return 0;
        });
        return command;
    }
}
