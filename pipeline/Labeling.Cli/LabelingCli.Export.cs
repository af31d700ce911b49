using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Labeling.Blobs;
using Labeling.Imaging;
using Labeling.Labels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace Labeling.Cli;

public static partial class LabelingCli
{
    private const int ExportPageSize = 1000;

    private static Command ExportCommand(CliContext context)
    {
        var formatOption = new Option<string>("--format")
        {
            Description = "coco (DIR/annotations.json), lvis (DIR/annotations.json, LVIS v1 style: per-image neg_category_ids and not_exhaustive_category_ids from the tags) or yolo (DIR/labels/<image path>.txt and DIR/classes.txt).",
            Required = true,
        };
        formatOption.AcceptOnlyFromAmong("coco", "lvis", "yolo");
        var outOption = new Option<DirectoryInfo>("--out") { Description = "The folder to write (created if missing; coco and lvis: DIR/annotations.json).", Required = true };
        var datasetOption = new Option<string?>("--dataset") { Description = "Only this dataset's images and boxes." };
        var classOption = new Option<string?>("--class") { Description = "Only boxes (and, for lvis, categories) of this class (a tag name)." };
        var modelOption = new Option<string?>("--model") { Description = "Only boxes made by this model version." };
        var minScoreOption = new Option<float?>("--min-score") { Description = "Only boxes scored at least this (human boxes have no score)." };
        var sourceOption = new Option<string?>("--source") { Description = "Only boxes of this source: human, pseudo, weak or discovered." };
        var copyImagesOption = new Option<bool>("--copy-images")
        {
            Description = "Copy each exported image out of the blob store into DIR (coco and lvis: DIR/<file_name>; yolo: DIR/images/<path> beside DIR/labels/<path>.txt), so the export stands alone. Without it the paths are blob paths, relative to the blob store's container.",
        };
        var command = new Command("export", "Write the images and boxes as a detection data set (COCO or LVIS annotations.json, or YOLO labels), streamed from the database. Images without boxes are kept.");
        foreach (var option in new Option[] { formatOption, outOption, datasetOption, classOption, modelOption, minScoreOption, sourceOption, copyImagesOption })
        {
            command.Options.Add(option);
        }

        context.SetAction(command, async (parse, services, cancellationToken) =>
        {
            var format = parse.GetValue(formatOption)!;
            var query = new BoxQuery
            {
                Dataset = parse.GetValue(datasetOption),
                ClassName = await ClassNames.RequireKnownAsync(services.GetRequiredService<ILabelStore>(), parse.GetValue(classOption), cancellationToken),
                ModelVersion = parse.GetValue(modelOption),
                MinScore = parse.GetValue(minScoreOption),
                Source = ParseSource(parse.GetValue(sourceOption)),
                Limit = ExportPageSize,
            };
            var folder = parse.GetValue(outOption)!;
            if (File.Exists(folder.FullName))
            {
                throw new CliException($"--out '{folder.FullName}' is a file; give a folder (it is created if missing).");
            }

            folder.Create();
            var path = format == "yolo" ? folder.FullName : Path.Combine(folder.FullName, "annotations.json");
            var copyImages = parse.GetValue(copyImagesOption);
            var imagesTo = !copyImages ? null : format == "yolo" ? Path.Combine(folder.FullName, "images") : folder.FullName;
            var summary = format switch
            {
                "coco" => await WriteDetectionJsonAsync(services, query, path, new CocoFormat(), imagesTo, context.Error, cancellationToken),
                "lvis" => await WriteDetectionJsonAsync(services, query, path, new LvisFormat(services, query), imagesTo, context.Error, cancellationToken),
                _ => await ExportYoloAsync(services, query, folder.FullName, imagesTo, context.Error, cancellationToken),
            };
            var imagesAt = imagesTo ?? BlobRoot(CliSettings.Load(parse.GetValue(context.ConfigOption)));
            if (parse.GetValue(context.JsonOption))
            {
                await WriteJsonAsync(context.Output, new { format, output = path, summary.Images, summary.Annotations, summary.Categories, summary.SkippedImages, imagesCopied = copyImages, imagesFolder = imagesAt });
            }
            else
            {
                await context.Output.WriteLineAsync($"Wrote {format} to {path}: {summary.Images} image(s), {summary.Annotations} annotation(s), {summary.Categories} categor(ies).");
                await context.Output.WriteLineAsync(copyImages
                    ? $"Images copied to {imagesAt}."
                    : $"Images not copied: the image paths are blob paths under {imagesAt} (add --copy-images for an export that stands alone).");
            }

            return 0;
        });
        return command;
    }

    private sealed record ExportSummary(long Images, long Annotations, int Categories, long SkippedImages);

    /// <summary>An image to export with its displayed size.</summary>
    private readonly record struct ExportImage(ImageRecord Image, int Width, int Height);

    /// <summary>
    /// What a COCO-style JSON file (COCO, LVIS) adds to the shared layout of
    /// <see cref="WriteDetectionJsonAsync"/>. Calls come in file order: <see cref="BeginAsync"/>,
    /// <see cref="WriteHeader"/>, per page of images <see cref="ReadImagePageAsync"/> then
    /// <see cref="WriteImageFields"/> per image, <see cref="CategoryId"/> per box, <see cref="WriteCategories"/>.
    /// </summary>
    private abstract class DetectionFormat
    {
        /// <summary>The number of categories written.</summary>
        public abstract int Categories { get; }

        public virtual Task BeginAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>Top-level members written before <c>images</c>.</summary>
        public virtual void WriteHeader(Utf8JsonWriter json)
        {
        }

        /// <summary>Called with each page of images before they are written.</summary>
        public virtual Task ReadImagePageAsync(IReadOnlyList<ExportImage> page, CancellationToken cancellationToken) => Task.CompletedTask;

        /// <summary>Members of an image entry after id, file_name, width and height.</summary>
        public virtual void WriteImageFields(Utf8JsonWriter json, ExportImage image)
        {
        }

        /// <summary>The category id of a box about to be written, or null to leave the box out.</summary>
        public abstract long? CategoryId(BoxRow box);

        /// <summary>The entries of the <c>categories</c> array.</summary>
        public abstract void WriteCategories(Utf8JsonWriter json);
    }

    /// <summary>COCO detection: categories numbered 1, 2, … in the order their first box is written.</summary>
    private sealed class CocoFormat : DetectionFormat
    {
        private readonly Dictionary<string, long> _categories = new(StringComparer.Ordinal);

        public override int Categories => _categories.Count;

        public override long? CategoryId(BoxRow box)
        {
            if (!_categories.TryGetValue(box.ClassName, out var categoryId))
            {
                categoryId = _categories.Count + 1;
                _categories.Add(box.ClassName, categoryId);
            }

            return categoryId;
        }

        public override void WriteCategories(Utf8JsonWriter json)
        {
            foreach (var (name, id) in _categories)
            {
                json.WriteStartObject();
                json.WriteNumber("id", id);
                json.WriteString("name", name);
                json.WriteEndObject();
            }
        }
    }

    /// <summary>
    /// Streams a COCO-style detection JSON file (COCO or LVIS, by <paramref name="format"/>): images a
    /// page at a time (every status, in id order within each), then boxes a page at a time in box id
    /// order, then the categories. Only what <paramref name="format"/> keeps per category and the ids
    /// of images left out (no known size) are kept in memory. Written to a temporary file and moved
    /// into place when complete.
    /// </summary>
    private static async Task<ExportSummary> WriteDetectionJsonAsync(
        ServiceProvider services, BoxQuery query, string path, DetectionFormat format, string? imagesTo, TextWriter error, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<ILabelStore>();
        var blobs = services.GetRequiredService<IBlobStore>();
        var skipped = new HashSet<long>();
        long images = 0, annotations = 0, late = 0;
        await format.BeginAsync(cancellationToken);
        var temporary = path + ".tmp";
        await using (var file = File.Create(temporary))
        await using (var json = new Utf8JsonWriter(file))
        {
            json.WriteStartObject();
            format.WriteHeader(json);
            json.WriteStartArray("images");
            await foreach (var page in ExportImagesAsync(store, blobs, query.Dataset, skipped, error, cancellationToken))
            {
                await format.ReadImagePageAsync(page, cancellationToken);
                foreach (var image in page)
                {
                    json.WriteStartObject();
                    json.WriteNumber("id", image.Image.Id);
                    json.WriteString("file_name", image.Image.BlobPath);
                    json.WriteNumber("width", image.Width);
                    json.WriteNumber("height", image.Height);
                    format.WriteImageFields(json, image);
                    json.WriteEndObject();
                }

                images += page.Count;
                await json.FlushAsync(cancellationToken);
                await CopyImagesAsync(blobs, page, imagesTo, cancellationToken);
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

                    if (format.CategoryId(box) is not { } categoryId)
                    {
                        late++;
                        continue;
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
            format.WriteCategories(json);
            json.WriteEndArray();
            json.WriteEndObject();
        }

        if (late > 0)
        {
            await error.WriteLineAsync($"warning: left out {late} box(es) of a class not seen while the images were read (written during the export?).");
        }

        File.Move(temporary, path, overwrite: true);
        return new ExportSummary(images, annotations, format.Categories, skipped.Count);
    }

    /// <summary>
    /// The images to export a page at a time (every status, id order within each) with their displayed
    /// size (stored, or read from the blob's header); one whose size cannot be known is added to
    /// <paramref name="skipped"/> with a warning instead. Empty pages are not returned.
    /// </summary>
    private static async IAsyncEnumerable<IReadOnlyList<ExportImage>> ExportImagesAsync(
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
                var page = new List<ExportImage>(ids.Count);
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

                    page.Add(new ExportImage(image, width.Value, height.Value));
                }

                if (page.Count > 0)
                {
                    yield return page;
                }
            }
        }
    }

    /// <summary>
    /// Writes YOLO labels: per image DIR/labels/&lt;blob path without extension&gt;.txt with a line
    /// <c>class cx cy w h</c> per box (normalised, clamped to the image; empty for an image without
    /// boxes), and DIR/classes.txt (line n = class n). Boxes are queried image by image.
    /// YOLO pairs <c>images/x.jpg</c> with <c>labels/x.txt</c>, so two images of one folder whose names differ only in
    /// their extension (<c>x.jpg</c>, <c>x.png</c>) would share a label file: with <paramref name="imagesTo"/> the later
    /// one is copied as <c>x_png.png</c> beside <c>labels/…/x_png.txt</c> (with a warning); without it the export is
    /// refused, since a renamed label file would pair with no image. Labels are written to a staging folder and moved
    /// into DIR/labels only when the export is complete, so a refused export leaves an earlier one as it was; the
    /// staging folder is also how a clash is seen, with nothing kept in memory per image.
    /// </summary>
    private static async Task<ExportSummary> ExportYoloAsync(ServiceProvider services, BoxQuery query, string folder, string? imagesTo, TextWriter error, CancellationToken cancellationToken)
    {
        var store = services.GetRequiredService<ILabelStore>();
        var blobs = services.GetRequiredService<IBlobStore>();
        var skipped = new HashSet<long>();
        var classes = new Dictionary<string, int>(StringComparer.Ordinal);
        var labels = Path.Combine(folder, "labels");
        var staging = Path.Combine(folder, $".labels-{Guid.NewGuid():N}");
        long images = 0, annotations = 0;
        try
        {
            await foreach (var imagePage in ExportImagesAsync(store, blobs, query.Dataset, skipped, error, cancellationToken))
            {
                var copies = new List<(ExportImage Image, string Name)>(imagePage.Count);
                foreach (var exported in imagePage)
                {
                    var (image, width, height) = exported;
                    var name = YoloName(staging, image.BlobPath);
                    if (name != image.BlobPath)
                    {
                        var shared = $"labels/{Path.ChangeExtension(image.BlobPath, ".txt")}";
                        if (imagesTo is null)
                        {
                            throw new CliException(
                                $"{image.BlobPath} would be labelled by {shared}, which an image of the same name with another extension in that folder has already (YOLO pairs an image with the label file of its name without the extension): export with --copy-images, which copies it as {Path.GetFileName(name)} beside {Path.GetFileName(Path.ChangeExtension(name, ".txt"))}, or rename one of them.");
                        }

                        await error.WriteLineAsync($"warning: {image.BlobPath} is exported as images/{name} with labels/{Path.ChangeExtension(name, ".txt")}: {shared} belongs to an image of the same name with another extension.");
                    }

                    var file = Path.Combine(staging, Path.ChangeExtension(name, ".txt").Replace('/', Path.DirectorySeparatorChar));
                    Directory.CreateDirectory(Path.GetDirectoryName(file)!);
                    await using (var writer = new StreamWriter(new FileStream(file, FileMode.CreateNew, FileAccess.Write)))
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

                    copies.Add((exported, name));
                    images++;
                }

                await CopyImagesAsync(blobs, copies, imagesTo, cancellationToken);
            }

            // Complete: the labels become DIR/labels, or join it (an earlier export's files for other images stay).
            if (Directory.Exists(staging) && !Directory.Exists(labels))
            {
                Directory.Move(staging, labels);
            }

            foreach (var file in Directory.Exists(staging) ? Directory.EnumerateFiles(staging, "*", SearchOption.AllDirectories) : [])
            {
                var target = Path.Combine(labels, Path.GetRelativePath(staging, file));
                Directory.CreateDirectory(Path.GetDirectoryName(target)!);
                File.Move(file, target, overwrite: true);
            }
        }
        finally
        {
            if (Directory.Exists(staging))
            {
                Directory.Delete(staging, recursive: true);
            }
        }

        Directory.CreateDirectory(folder);
        await File.WriteAllLinesAsync(Path.Combine(folder, "classes.txt"), classes.OrderBy(c => c.Value).Select(c => c.Key), cancellationToken);
        return new ExportSummary(images, annotations, classes.Count, skipped.Count);
    }

    /// <summary>
    /// The path an image takes in a YOLO export: its blob path, unless the label file of that name is taken in
    /// <paramref name="staging"/> (an image of the same name, another extension): then <c>x_png.png</c>, <c>x_png_2.png</c>, ….
    /// </summary>
    private static string YoloName(string staging, string blobPath)
    {
        bool Free(string candidate) => !File.Exists(Path.Combine(staging, Path.ChangeExtension(candidate, ".txt").Replace('/', Path.DirectorySeparatorChar)));
        if (Free(blobPath))
        {
            return blobPath;
        }

        var slash = blobPath.LastIndexOf('/');
        var folder = slash < 0 ? "" : blobPath[..(slash + 1)];
        var extension = Path.GetExtension(blobPath);
        var stem = $"{Path.GetFileNameWithoutExtension(blobPath)}_{extension.TrimStart('.')}";
        for (var n = 1; ; n++)
        {
            var candidate = folder + stem + (n == 1 ? "" : "_" + n.ToString(CultureInfo.InvariantCulture)) + extension;
            if (Free(candidate))
            {
                return candidate;
            }
        }
    }

    /// <summary>Copies each image of <paramref name="page"/> from the blob store to <paramref name="folder"/>/&lt;blob path&gt; (nothing when null).</summary>
    private static Task CopyImagesAsync(IBlobStore blobs, IReadOnlyList<ExportImage> page, string? folder, CancellationToken cancellationToken) =>
        CopyImagesAsync(blobs, [.. page.Select(i => (i, i.Image.BlobPath))], folder, cancellationToken);

    /// <summary>Copies each image of <paramref name="page"/> from the blob store to <paramref name="folder"/>/&lt;its name&gt; (nothing when null).</summary>
    private static async Task CopyImagesAsync(IBlobStore blobs, IReadOnlyList<(ExportImage Image, string Name)> page, string? folder, CancellationToken cancellationToken)
    {
        if (folder is null)
        {
            return;
        }

        foreach (var (image, name) in page)
        {
            var file = Path.Combine(folder, name.Replace('/', Path.DirectorySeparatorChar));
            Directory.CreateDirectory(Path.GetDirectoryName(file)!);
            await using var source = await blobs.OpenReadAsync(image.Image.BlobPath, cancellationToken);
            await using var target = File.Create(file);
            await source.CopyToAsync(target, cancellationToken);
        }
    }

    /// <summary>Where blob paths resolve: the local container folder (embedded), or the Azure container.</summary>
    private static string BlobRoot(CliSettings settings)
    {
        if (string.Equals(settings.Configuration["Storage:Mode"] ?? "Embedded", "Embedded", StringComparison.OrdinalIgnoreCase))
        {
            var local = new LocalBlobStoreOptions();
            settings.Configuration.GetSection("LocalBlobStore").Bind(local);
            return Path.GetFullPath(Path.Combine(local.RootPath, local.Container));
        }

        return "the configured Azure Storage blob container";
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
