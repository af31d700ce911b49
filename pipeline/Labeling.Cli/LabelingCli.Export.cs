using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Imaging;
using Labeling.Labels;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private const int ExportPageSize = 1000;

    private static Command ExportCommand(CliContext context)
    {
        var formatOption = new Option<string>("--format") { Description = "coco (DIR/annotations.json) or yolo (DIR/labels/<image path>.txt and DIR/classes.txt); lvis is not implemented yet.", Required = true };
        formatOption.AcceptOnlyFromAmong("coco", "yolo", "lvis");
        var outOption = new Option<DirectoryInfo>("--out") { Description = "The folder to write (coco: DIR/annotations.json).", Required = true };
        var datasetOption = new Option<string?>("--dataset") { Description = "Only this dataset's images and boxes." };
        var modelOption = new Option<string?>("--model") { Description = "Only boxes made by this model version." };
        var minScoreOption = new Option<float?>("--min-score") { Description = "Only boxes scored at least this." };
        var sourceOption = new Option<string?>("--source") { Description = "Only boxes of this source: human, pseudo, weak or discovered." };
        var command = new Command("export", "Write the images and boxes as a detection data set (COCO annotations.json). Images without boxes are kept.");
        foreach (var option in new Option[] { formatOption, outOption, datasetOption, modelOption, minScoreOption, sourceOption })
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var format = parse.GetValue(formatOption)!;
            if (format == "lvis")
            {
                throw new CliException("--format lvis is not implemented yet; use --format coco or yolo.");
            }

            var query = new BoxQuery
            {
                Dataset = parse.GetValue(datasetOption),
                ModelVersion = parse.GetValue(modelOption),
                MinScore = parse.GetValue(minScoreOption),
                Source = ParseSource(parse.GetValue(sourceOption)),
                Limit = ExportPageSize,
            };
            var folder = parse.GetValue(outOption)!;
            folder.Create();
            var path = format == "coco" ? Path.Combine(folder.FullName, "annotations.json") : folder.FullName;
            var summary = format == "coco"
                ? await ExportCocoAsync(services, query, path, context.Error, cancellationToken)
                : await ExportYoloAsync(services, query, folder.FullName, context.Error, cancellationToken);
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new { format, output = path, summary.Images, summary.Annotations, summary.Categories, summary.SkippedImages });
            }
            else
            {
                await context.Output.WriteLineAsync($"Wrote {format} to {path}: {summary.Images} image(s), {summary.Annotations} annotation(s), {summary.Categories} categor(ies).");
            }

            return 0;
        });
        return command;
    }

    private sealed record ExportSummary(long Images, long Annotations, int Categories, long SkippedImages);

    /// <summary>
    /// Streams COCO detection JSON: images a page at a time (every status, in id order within each),
    /// then boxes a page at a time in box id order, then the categories seen. Only the category names
    /// and the ids of images left out (no known size) are kept in memory.
    /// </summary>
    private static async Task<ExportSummary> ExportCocoAsync(ServiceProvider services, BoxQuery query, string path, TextWriter error, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<ILabelStore>();
        var blobs = services.GetRequiredService<IBlobStore>();
        var skipped = new HashSet<long>();
        var categories = new Dictionary<string, int>(StringComparer.Ordinal);
        long images = 0, annotations = 0;
        var temporary = path + ".tmp";
        await using (var file = File.Create(temporary))
        await using (var json = new Utf8JsonWriter(file))
        {
            json.WriteStartObject();
            json.WriteStartArray("images");
            await foreach (var (image, width, height) in ExportImagesAsync(store, blobs, query.Dataset, skipped, error, cancellationToken))
            {
                json.WriteStartObject();
                json.WriteNumber("id", image.Id);
                json.WriteString("file_name", image.BlobPath);
                json.WriteNumber("width", width);
                json.WriteNumber("height", height);
                json.WriteEndObject();
                if (++images % ExportPageSize == 0)
                {
                    await json.FlushAsync(cancellationToken);
                }
            }

            json.WriteEndArray();
            json.WriteStartArray("annotations");
            long afterBox = 0;
            while (true)
            {
                var page = await store.QueryBoxesAsync(query with { AfterId = afterBox }, cancellationToken);
                foreach (var box in page.Boxes)
                {
                    if (skipped.Contains(box.ImageId))
                    {
                        continue;
                    }

                    if (!categories.TryGetValue(box.ClassName, out var categoryId))
                    {
                        categoryId = categories.Count + 1;
                        categories.Add(box.ClassName, categoryId);
                    }

                    float w = box.X2 - box.X1, h = box.Y2 - box.Y1;
                    json.WriteStartObject();
                    json.WriteNumber("id", box.BoxId);
                    json.WriteNumber("image_id", box.ImageId);
                    json.WriteNumber("category_id", categoryId);
                    json.WriteStartArray("bbox");
                    json.WriteNumberValue(box.X1);
                    json.WriteNumberValue(box.Y1);
                    json.WriteNumberValue(w);
                    json.WriteNumberValue(h);
                    json.WriteEndArray();
                    json.WriteNumber("area", w * h);
                    json.WriteNumber("iscrowd", 0);
                    if (box.Source != BoxSource.Human && box.Score is { } score)
                    {
                        json.WriteNumber("score", score);
                    }

                    json.WriteString("source", box.Source.ToString().ToLowerInvariant());
                    json.WriteEndObject();
                    annotations++;
                }

                await json.FlushAsync(cancellationToken);
                if (page.NextAfterId is not { } next)
                {
                    break;
                }

                afterBox = next;
            }

            json.WriteEndArray();
            json.WriteStartArray("categories");
            foreach (var (name, id) in categories)
            {
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("name", name);
                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        File.Move(temporary, path, overwrite: true);
        return new ExportSummary(images, annotations, categories.Count, skipped.Count);
    }

    /// <summary>
    /// The images to export a page at a time (every status, id order within each) with their displayed
    /// size (stored, or read from the blob's header); one whose size cannot be known is added to
    /// <paramref name="skipped"/> with a warning instead.
    /// </summary>
    private static async IAsyncEnumerable<(ImageRecord Image, int Width, int Height)> ExportImagesAsync(
        ILabelStore store, IBlobStore blobs, string? dataset, HashSet<long> skipped, TextWriter error,
        [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        foreach (var status in Enum.GetValues<ImageStatus>())
        {
            long after = 0;
            while (true)
            {
                var ids = await store.GetImageIdsByStatusAsync(status, dataset, after, ExportPageSize, cancellationToken);
                if (ids.Count == 0)
                {
                    break;
                }

                after = ids[^1];
                foreach (var image in await store.GetImagesAsync(ids, cancellationToken))
                {
                    var (width, height) = (image.Width, image.Height);
                    if (width is null || height is null)
                    {
                        (width, height) = await ReadSizeAsync(blobs, image.BlobPath, cancellationToken);
                    }

                    if (width is null || height is null)
                    {
                        skipped.Add(image.Id);
                        await error.WriteLineAsync($"warning: left out image {image.Id} ('{image.BlobPath}'): its size is unknown and its header cannot be read.");
                        continue;
                    }

                    yield return (image, width.Value, height.Value);
                }
            }
        }
    }

    /// <summary>
    /// Writes YOLO labels: per image DIR/labels/&lt;blob path without extension&gt;.txt with a line
    /// <c>class cx cy w h</c> per box (normalised, clamped to the image; empty for an image without
    /// boxes), and DIR/classes.txt (line n = class n). Boxes are queried image by image.
    /// </summary>
    private static async Task<ExportSummary> ExportYoloAsync(ServiceProvider services, BoxQuery query, string folder, TextWriter error, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<ILabelStore>();
        var blobs = services.GetRequiredService<IBlobStore>();
        var skipped = new HashSet<long>();
        var classes = new Dictionary<string, int>(StringComparer.Ordinal);
        var labels = Path.Combine(folder, "labels");
        long images = 0, annotations = 0;
        await foreach (var (image, width, height) in ExportImagesAsync(store, blobs, query.Dataset, skipped, error, cancellationToken))
        {
            var file = Path.Combine(labels, Path.ChangeExtension(image.BlobPath.Replace('/', Path.DirectorySeparatorChar), ".txt"));
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await using (var writer = new StreamWriter(file))
            {
                long after = 0;
                while (true)
                {
                    var page = await store.QueryBoxesAsync(query with { ImageId = image.Id, AfterId = after }, cancellationToken);
                    foreach (var box in page.Boxes)
                    {
                        if (!classes.TryGetValue(box.ClassName, out var classId))
                        {
                            classId = classes.Count;
                            classes.Add(box.ClassName, classId);
                        }

                        float x1 = Math.Clamp(box.X1, 0, width), x2 = Math.Clamp(box.X2, 0, width);
                        float y1 = Math.Clamp(box.Y1, 0, height), y2 = Math.Clamp(box.Y2, 0, height);
                        await writer.WriteLineAsync(string.Join(' ',
                            classId.ToString(CultureInfo.InvariantCulture),
                            Yolo((x1 + x2) / 2 / width), Yolo((y1 + y2) / 2 / height), Yolo((x2 - x1) / width), Yolo((y2 - y1) / height)));
                        annotations++;
                    }

                    if (page.NextAfterId is not { } next)
                    {
                        break;
                    }

                    after = next;
                }
            }

            images++;
        }

        Directory.CreateDirectory(folder);
        await File.WriteAllLinesAsync(Path.Combine(folder, "classes.txt"), classes.OrderBy(c => c.Value).Select(c => c.Key), cancellationToken);
        return new ExportSummary(images, annotations, classes.Count, skipped.Count);
    }

    private static string Yolo(float value) => value.ToString("0.######", CultureInfo.InvariantCulture);

    private static async Task<(int? Width, int? Height)> ReadSizeAsync(IBlobStore blobs, string blobPath, CancellationToken cancellationToken)
    {
        try
        {
            await using var stream = await blobs.OpenReadAsync(blobPath, cancellationToken);
            using var buffer = new MemoryStream();
            await stream.CopyToAsync(buffer, cancellationToken);
            var (header, _) = ImageDecoder.ReadHeader(buffer.ToArray());
            return header is null ? (null, null) : (header.Width, header.Height); // as displayed (EXIF applied), like the boxes
        }
        catch (BlobNotFoundException)
        {
            return (null, null);
        }
    }
}
