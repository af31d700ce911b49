using System.Runtime.CompilerServices;
using System.Text;
using Labeling.Blobs;
using Labeling.Functions.Ingest;
using Labeling.Labels;
using Labeling.Queues;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace Labeling.Functions.Tests.Ingest;

/// <summary>What the inbox scan must do, run against each real backend stack (embedded and scale-out).</summary>
public abstract class InboxScannerContract
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A blob container, labels database and queue backend of this test's own.</summary>
    protected abstract Task<Backend> CreateBackendAsync();

    protected sealed record Backend(IBlobStore Blobs, ILabelStore Store, IWorkQueueFactory Queues, string QueueName);

    protected static string UniqueName(string prefix) => prefix + Guid.NewGuid().ToString("N")[..16];

    protected static InboxScanner CreateScanner(Backend backend, Action<IngestOptions>? configure = null, IBlobStore? blobs = null)
    {
        var options = new IngestOptions { LabelQueue = backend.QueueName, ListPageSize = 7, RegisterBatchSize = 4, LabelBatchSize = 3 };
        configure?.Invoke(options);
        return new InboxScanner(blobs ?? backend.Blobs, backend.Store, backend.Queues, Options.Create(options), NullLogger<InboxScanner>.Instance);
    }

    protected static async Task PutAsync(IBlobStore blobs, string name, string content)
    {
        using var stream = new MemoryStream(Encoding.UTF8.GetBytes(content));
        await blobs.WriteAsync(name, stream, overwrite: true, Ct);
    }

    /// <summary>An "image": the scan never decodes, so distinct text is distinct content.</summary>
    protected static Task PutImageAsync(IBlobStore blobs, string name) => PutAsync(blobs, name, "image:" + name);

    /// <summary>Receives and deletes everything on the label queue; every body must parse.</summary>
    protected static async Task<List<LabelMessage>> DrainAsync(Backend backend)
    {
        var queue = backend.Queues.GetQueue(backend.QueueName);
        var messages = new List<LabelMessage>();
        while (true)
        {
            var received = await queue.ReceiveAsync(QueueLimits.MaxReceiveCount, TimeSpan.FromMinutes(5), Ct);
            if (received.Count == 0)
            {
                return messages;
            }

            foreach (var message in received)
            {
                messages.Add(LabelMessage.Parse(message.Body));
                await queue.DeleteAsync(message, Ct);
            }
        }
    }

    protected static async Task<long> IdAsync(Backend backend, string path)
    {
        var ids = await backend.Store.GetImageIdsByPathAsync([path], Ct);
        Assert.True(ids.TryGetValue(path, out var id), $"{path} is not registered");
        return id;
    }

    protected static async Task<string[]> TagsAsync(Backend backend, string path)
    {
        var tags = await backend.Store.GetTagsAsync([await IdAsync(backend, path)], Ct);
        return tags.Select(t => t.ClassName).Order(StringComparer.Ordinal).ToArray();
    }

    private static async Task<List<long>> PendingAsync(Backend backend) =>
        (await backend.Store.GetImageIdsByStatusAsync(ImageStatus.Pending, null, 0, 10_000, Ct)).ToList();

    private static async Task<List<long>> QueuedAsync(Backend backend) =>
        (await backend.Store.GetImageIdsByStatusAsync(ImageStatus.Queued, null, 0, 10_000, Ct)).ToList();

    [Fact]
    public async Task FolderTags_AreTheImmediateParentFolder_AndStrayFilesAreReported()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/pets/fox/1.jpg");
        await PutImageAsync(b.Blobs, "inbox/pets/Siamese_Cat/2.PNG");
        await PutImageAsync(b.Blobs, "inbox/pets/3.webp");
        await PutImageAsync(b.Blobs, "inbox/pets/wild/red fox/4.jpeg");
        await PutAsync(b.Blobs, "inbox/pets/fox/notes.txt", "not an image");
        await PutImageAsync(b.Blobs, "inbox/stray.jpg");

        var report = await CreateScanner(b).ScanAsync(Ct);

        Assert.Equal(6, report.BlobsListed);
        Assert.Equal(4, report.ImagesCreated);
        Assert.Equal(0, report.Duplicates);
        Assert.Equal(3, report.TagsAdded);
        Assert.Equal(["fox"], await TagsAsync(b, "inbox/pets/fox/1.jpg"));
        Assert.Equal(["siamese cat"], await TagsAsync(b, "inbox/pets/Siamese_Cat/2.PNG"));
        Assert.Empty(await TagsAsync(b, "inbox/pets/3.webp"));
        Assert.Equal(["red fox"], await TagsAsync(b, "inbox/pets/wild/red fox/4.jpeg"));
        Assert.Equal(2, report.Problems.Count);
        Assert.Contains(report.Problems, p => p.Contains("inbox/pets/fox/notes.txt", StringComparison.Ordinal) && p.Contains("not an image", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.Contains("inbox/stray.jpg", StringComparison.Ordinal) && p.Contains("dataset folder", StringComparison.Ordinal));
        var progress = Assert.Single(await b.Store.GetProgressAsync("pets", Ct));
        Assert.Equal(4, progress.Queued);
        Assert.Equal(2, report.MessagesSent);
    }

    [Fact]
    public async Task TagsCsv_WithQuotingUnicodeAndSeveralTagsPerImage_TagsTheImages()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/multi/a, \"quoted\".jpg");
        await PutImageAsync(b.Blobs, "inbox/multi/straße/żółw.png");
        await PutImageAsync(b.Blobs, "inbox/multi/plain.jpg");
        await PutAsync(b.Blobs, "inbox/multi/tags.csv",
            "relative_path,tag\r\n" +
            "\"a, \"\"quoted\"\".jpg\",Fox;Snow | Winter_Coat\r\n" +
            "straße/żółw.png,Schildkröte\r\n" +
            "straße/żółw.png,\"turtle; 亀\"\r\n" +
            "\r\n" +
            "./plain.jpg,plain\n");

        var report = await CreateScanner(b).ScanAsync(Ct);

        Assert.Empty(report.Problems);
        Assert.Equal(3, report.ImagesCreated);
        Assert.Equal(["fox", "snow", "winter coat"], await TagsAsync(b, "inbox/multi/a, \"quoted\".jpg"));
        Assert.Equal(["schildkröte", "straße", "turtle", "亀"], await TagsAsync(b, "inbox/multi/straße/żółw.png"));
        Assert.Equal(["plain"], await TagsAsync(b, "inbox/multi/plain.jpg"));
    }

    [Fact]
    public async Task TagsJsonl_TagsTheImages()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/jl/1.jpg");
        await PutImageAsync(b.Blobs, "inbox/jl/sub/2.gif");
        await PutAsync(b.Blobs, "inbox/jl/tags.jsonl",
            "{\"path\": \"1.jpg\", \"tags\": [\"Cat\", \"sofa\"]}\n" +
            "\n" +
            "{\"path\": \"sub/2.gif\", \"tags\": [\"dog\"]}\n");

        var report = await CreateScanner(b).ScanAsync(Ct);

        Assert.Empty(report.Problems);
        Assert.Equal(["cat", "sofa"], await TagsAsync(b, "inbox/jl/1.jpg"));
        Assert.Equal(["dog", "sub"], await TagsAsync(b, "inbox/jl/sub/2.gif"));
        Assert.Equal(4, report.TagsAdded);
    }

    [Fact]
    public async Task CocoAnnotations_WriteHumanBoxesTagsAndTheValSplit()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/coco/1.jpg");
        await PutImageAsync(b.Blobs, "inbox/coco/2.jpg");
        await PutImageAsync(b.Blobs, "inbox/coco/3.jpg");
        // Sorts before the images it describes: it is still read after they are registered.
        await PutAsync(b.Blobs, "inbox/coco/annotations.json", """
            {
              "images": [
                {"id": 1, "file_name": "1.jpg", "width": 640, "height": 480, "split": "val"},
                {"id": 2, "file_name": "2.jpg", "width": 100, "height": 50},
                {"id": 3, "file_name": "3.jpg"},
                {"id": 4, "file_name": "missing.jpg"}
              ],
              "annotations": [
                {"id": 10, "image_id": 1, "category_id": 7, "bbox": [10, 20, 30, 40], "iscrowd": 0},
                {"id": 11, "image_id": 1, "category_id": 8, "bbox": [0, 0, 5, 5], "iscrowd": 1},
                {"id": 12, "image_id": 2, "category_id": 7, "bbox": [1.5, 2.5, 3, 4]},
                {"id": 13, "image_id": 2, "category_id": 7, "bbox": [50, 10, 20, 10]}
              ],
              "categories": [{"id": 7, "name": "Red_Fox"}, {"id": 8, "name": "crowd"}]
            }
            """);
        await PutImageAsync(b.Blobs, "inbox/gold/g.jpg");
        await PutAsync(b.Blobs, "inbox/gold/annotations.json", """
            {"split": "val", "images": [{"id": 1, "file_name": "g.jpg"}], "annotations": [], "categories": []}
            """);

        var report = await CreateScanner(b).ScanAsync(Ct);

        var problem = Assert.Single(report.Problems);
        Assert.Contains("inbox/coco/annotations.json", problem, StringComparison.Ordinal);
        Assert.Contains("missing.jpg", problem, StringComparison.Ordinal);
        Assert.Equal(3, report.HumanBoxes);
        var ids = new[] { await IdAsync(b, "inbox/coco/1.jpg"), await IdAsync(b, "inbox/coco/2.jpg"), await IdAsync(b, "inbox/coco/3.jpg"), await IdAsync(b, "inbox/gold/g.jpg") };
        var images = (await b.Store.GetImagesAsync(ids, Ct)).ToDictionary(i => i.Id);
        Assert.Equal("val", images[ids[0]].Split);
        Assert.Equal((640, 480), (images[ids[0]].Width, images[ids[0]].Height));
        Assert.Null(images[ids[1]].Split);
        Assert.Equal("val", images[ids[3]].Split);
        Assert.Equal(["crowd", "red fox"], await TagsAsync(b, "inbox/coco/1.jpg"));
        Assert.Equal(["red fox"], await TagsAsync(b, "inbox/coco/2.jpg"));
        Assert.Empty(await TagsAsync(b, "inbox/coco/3.jpg"));

        var first = (await b.Store.QueryBoxesAsync(new BoxQuery { ImageId = ids[0], Source = BoxSource.Human }, Ct)).Boxes;
        var box = Assert.Single(first);
        Assert.Equal(("red fox", 10f, 20f, 40f, 60f), (box.ClassName, box.X1, box.Y1, box.X2, box.Y2));
        Assert.Null(box.Score);
        var second = (await b.Store.QueryBoxesAsync(new BoxQuery { ImageId = ids[1] }, Ct)).Boxes.OrderBy(x => x.X1).ToList();
        Assert.Equal([(1.5f, 2.5f, 4.5f, 6.5f), (50f, 10f, 70f, 20f)], second.Select(x => (x.X1, x.Y1, x.X2, x.Y2)).ToList());

        // Applying the same file again replaces the human boxes rather than adding to them.
        await PutAsync(b.Blobs, "inbox/coco/annotations.json", (await ReadAsync(b.Blobs, "inbox/coco/annotations.json")) + "\n");
        await CreateScanner(b).ScanAsync(Ct);
        Assert.Equal(2, (await b.Store.QueryBoxesAsync(new BoxQuery { ImageId = ids[1] }, Ct)).Boxes.Count);
    }

    [Fact]
    public async Task DuplicateContentUnderAnotherName_IsOneImageWithBothTags()
    {
        var b = await CreateBackendAsync();
        await PutAsync(b.Blobs, "inbox/dup/fox/a.jpg", "same bytes");
        await PutAsync(b.Blobs, "inbox/dup/snow/copy of a.jpg", "same bytes");
        await PutAsync(b.Blobs, "inbox/other/fox/a.jpg", "same bytes");
        await PutAsync(b.Blobs, "inbox/dup/tags.csv", "snow/copy of a.jpg,white\n");
        var scanner = CreateScanner(b);

        var report = await scanner.ScanAsync(Ct);

        Assert.Equal(2, report.ImagesCreated);
        Assert.Equal(1, report.Duplicates);
        var id = await IdAsync(b, "inbox/dup/fox/a.jpg");
        var tags = await b.Store.GetTagsAsync([id], Ct);
        Assert.Equal(["fox", "snow", "white"], tags.Select(t => t.ClassName).Order(StringComparer.Ordinal));
        Assert.Empty(report.Problems);
        Assert.False((await b.Store.GetImageIdsByPathAsync(["inbox/dup/snow/copy of a.jpg"], Ct)).ContainsKey("inbox/dup/snow/copy of a.jpg"));
        Assert.NotEqual(id, await IdAsync(b, "inbox/other/fox/a.jpg"));
        var messages = await DrainAsync(b);
        Assert.Equal(2, messages.SelectMany(m => m.ImageIds).Count());

        // The copy is remembered: the next pass neither counts it as new nor re-applies the dataset's metadata.
        var again = await scanner.ScanAsync(Ct);
        Assert.Equal((0, 0, 3, 0, 0), (again.ImagesCreated, again.Duplicates, again.AlreadyRegistered, again.TagsAdded, again.MessagesSent));
    }

    [Fact]
    public async Task Rescan_WhenNothingIsNew_RegistersAndEnqueuesNothing()
    {
        var b = await CreateBackendAsync();
        for (var i = 0; i < 9; i++)
        {
            await PutImageAsync(b.Blobs, $"inbox/again/t{i % 2}/{i}.jpg");
        }

        await PutAsync(b.Blobs, "inbox/again/tags.csv", "0.jpg,x\n");
        var scanner = CreateScanner(b);
        var first = await scanner.ScanAsync(Ct);
        var firstMessages = await DrainAsync(b);

        var second = await scanner.ScanAsync(Ct);

        Assert.Equal(9, first.ImagesCreated);
        Assert.Equal(3, first.MessagesSent);
        Assert.Equal(3, firstMessages.Count);
        Assert.Equal(10, second.BlobsListed);
        Assert.Equal(0, second.ImagesCreated);
        Assert.Equal(0, second.Duplicates);
        Assert.Equal(9, second.AlreadyRegistered);
        Assert.Equal(0, second.TagsAdded);
        Assert.Equal(0, second.MessagesSent);
        Assert.Empty(second.Problems);
        Assert.Empty(await DrainAsync(b));
        Assert.Empty(await PendingAsync(b));
    }

    [Fact]
    public async Task NewFilesDroppedAfterAScan_AreFound_AndOnlyTheyAreQueued()
    {
        var b = await CreateBackendAsync();
        foreach (var name in new[] { "inbox/zoo/lion/1.jpg", "inbox/zoo/lion/2.jpg", "inbox/zoo/tiger/1.jpg" })
        {
            await PutImageAsync(b.Blobs, name);
        }

        var scanner = CreateScanner(b);
        await scanner.ScanAsync(Ct);
        var before = (await DrainAsync(b)).SelectMany(m => m.ImageIds).ToHashSet();

        // One name sorts after everything scanned, two before it (another tag folder, another dataset).
        var dropped = new[] { "inbox/zoo/zebra/1.jpg", "inbox/zoo/bear/1.jpg", "inbox/aquarium/shark/1.jpg" };
        foreach (var name in dropped)
        {
            await PutImageAsync(b.Blobs, name);
        }

        var report = await scanner.ScanAsync(Ct);

        Assert.Equal(3, report.ImagesCreated);
        Assert.Equal(3, report.AlreadyRegistered);
        var queued = (await DrainAsync(b)).SelectMany(m => m.ImageIds).ToList();
        var expected = new List<long>();
        foreach (var name in dropped)
        {
            expected.Add(await IdAsync(b, name));
        }

        Assert.Equal(expected.Order(), queued.Order());
        Assert.Empty(before.Intersect(queued));
        Assert.Equal(["shark"], await TagsAsync(b, "inbox/aquarium/shark/1.jpg"));
    }

    [Fact]
    public async Task HostileNames_AreRegisteredTaggedAndQueued()
    {
        var b = await CreateBackendAsync();
        string[] names =
        [
            "inbox/weird ds/c# & 100% \"quoted\"/it's #1 (50%).jpg",
            "inbox/weird ds/渋谷 ☃/naïve café+plus.png",
            "inbox/weird ds/semi;colon/a?b=c&d.jpg",
            "inbox/weird ds/top level ' \" %20.jpg",
        ];
        foreach (var name in names)
        {
            await PutImageAsync(b.Blobs, name);
        }

        await PutAsync(b.Blobs, "inbox/weird ds/tags.csv", "\"top level ' \"\" %20.jpg\",\"O'Brien \"\"the\"\" %s\"\n");

        var report = await CreateScanner(b).ScanAsync(Ct);

        Assert.Empty(report.Problems);
        Assert.Equal(4, report.ImagesCreated);
        Assert.Equal(["c# & 100% \"quoted\""], await TagsAsync(b, names[0]));
        Assert.Equal(["渋谷 ☃"], await TagsAsync(b, names[1]));
        Assert.Equal(["semi;colon"], await TagsAsync(b, names[2]));
        Assert.Equal(["o'brien \"the\" %s"], await TagsAsync(b, names[3]));
        Assert.Equal(4, (await DrainAsync(b)).SelectMany(m => m.ImageIds).Distinct().Count());
    }

    [Fact]
    public async Task MalformedMetadata_IsReportedWithFileAndLine_AndTheRestIsApplied()
    {
        var b = await CreateBackendAsync();
        foreach (var name in new[] { "a.jpg", "b.jpg", "c.jpg", "d.jpg", "e.jpg" })
        {
            await PutImageAsync(b.Blobs, "inbox/bad/" + name);
        }

        await PutAsync(b.Blobs, "inbox/bad/tags.csv",
            "path,tag\n" +                  // 1 header
            "a.jpg,alpha\n" +               // 2
            "b\"x.jpg,beta\n" +             // 3 quote inside an unquoted field
            "c.jpg,gamma,extra\n" +         // 4 three columns
            "d.jpg,\n" +                    // 5 no tag
            "\"multi\nline.jpg\",x\n" +     // 6-7 a path with a line break: not a blob name
            "nothere.jpg,ghost\n" +         // 8 not registered
            "e.jpg,delta\n" +               // 9
            "e.jpg,\"unclosed\n");          // 10 quote never closed
        await PutAsync(b.Blobs, "inbox/bad/tags.jsonl",
            "{\"path\": \"a.jpg\", \"tags\": [\"one\"]}\n" + // 1
            "{\"path\": \"b.jpg\", \"tags\": [\n" +            // 2 broken JSON
            "\n" +                                             // 3
            "{\"path\": \"c.jpg\", \"tags\": \"two\"}\n" +     // 4 tags not an array
            "[1, 2]\n" +                                       // 5 not an object
            "{\"path\": \"e.jpg\", \"tags\": [\"three\"]}\n"); // 6
        await PutImageAsync(b.Blobs, "inbox/broken/1.jpg");
        await PutAsync(b.Blobs, "inbox/broken/annotations.json", "{\n  \"images\": [\n    {\"id\": 1,, }\n  ]\n}\n");
        await PutImageAsync(b.Blobs, "inbox/boxes/1.jpg");
        await PutAsync(b.Blobs, "inbox/boxes/annotations.json", """
            {"images": [{"id": 1, "file_name": "1.jpg"}, {"file_name": "no-id.jpg"}],
             "annotations": [{"image_id": 1, "category_id": 1, "bbox": [0, 0, 0, 5]}, {"image_id": 1, "category_id": 9, "bbox": [0, 0, 5, 5]},
                             {"image_id": 1, "category_id": 1, "bbox": [1, 2, 3, 4]}],
             "categories": [{"id": 1, "name": "thing"}]}
            """);

        var report = await CreateScanner(b).ScanAsync(Ct);

        void Has(string file, string where)
        {
            Assert.Contains(report.Problems, p => p.StartsWith(file, StringComparison.Ordinal) && p.Contains(where, StringComparison.Ordinal));
        }

        foreach (var line in new[] { 3, 4, 5, 6, 8, 10 })
        {
            Has("inbox/bad/tags.csv", $": line {line}:");
        }

        foreach (var line in new[] { 2, 4, 5 })
        {
            Has("inbox/bad/tags.jsonl", $": line {line}:");
        }

        Has("inbox/broken/annotations.json", ": line 3:");
        Has("inbox/boxes/annotations.json", "images[1]");
        Has("inbox/boxes/annotations.json", "annotations[0]");
        Has("inbox/boxes/annotations.json", "annotations[1]");
        Assert.Equal(13, report.Problems.Count);
        Assert.Equal(["alpha", "one"], await TagsAsync(b, "inbox/bad/a.jpg"));
        Assert.Empty(await TagsAsync(b, "inbox/bad/b.jpg"));
        Assert.Equal(["delta", "three"], await TagsAsync(b, "inbox/bad/e.jpg"));
        Assert.Equal(1, report.HumanBoxes);
        Assert.Equal(["thing"], await TagsAsync(b, "inbox/boxes/1.jpg"));
        Assert.Equal(7, report.ImagesCreated);
        Assert.Empty(await PendingAsync(b));
    }

    [Fact]
    public async Task QueueMessages_ParseAndCoverEveryPendingImageExactlyOnce()
    {
        var b = await CreateBackendAsync();
        for (var i = 0; i < 11; i++)
        {
            await PutImageAsync(b.Blobs, $"inbox/q{i % 3}/{i:D2}.jpg");
        }

        var report = await CreateScanner(b).ScanAsync(Ct);

        var messages = await DrainAsync(b);
        Assert.Equal(report.MessagesSent, messages.Count);
        Assert.Equal(5, messages.Count); // never two datasets in one message: q0 and q1 (4 images) take two each, q2 (3) one
        Assert.All(messages, m => Assert.InRange(m.ImageIds.Count, 1, 3));
        Assert.Equal(messages.Count, messages.Select(m => m.Batch).Distinct().Count());
        var ids = messages.SelectMany(m => m.ImageIds).ToList();
        Assert.Equal(11, ids.Count);
        Assert.Equal(ids.Distinct().Order(), (await QueuedAsync(b)).Order());
        Assert.Empty(await PendingAsync(b));
    }

    [Fact]
    public async Task EnqueuePending_WeakTagsFirst_SendsEveryPendingImageOnce_TheWeakOnesInTheFirstMessages()
    {
        var b = await CreateBackendAsync();
        var pets = await b.Store.EnsureDatasetAsync("pets", Ct);
        var ids = (await b.Store.RegisterImagesAsync(pets, [.. Enumerable.Range(1, 4).Select(i => new NewImage($"inbox/pets/{i}.jpg", $"h{i}"))], Ct))
            .Select(r => r.ImageId).ToArray();
        await b.Store.AddTagsAsync([.. ids.Select(id => new ImageTag(id, "cat"))], Ct);
        var cat = (await b.Store.EnsureClassesAsync(["cat"], Ct))["cat"];
        var model = await b.Store.RegisterModelAsync(new NewModel("v1", "region-embedding/1", "models/v1.onnx", new string('a', 64)), Ct);
        // Images 1 and 3 were left weak by v1; a new model sends everything back to pending.
        await b.Store.WriteLabelsAsync(model, [.. ids.Select((id, i) => new ImageLabels(id, [], [new TagGrounding(cat, i % 2 == 0 ? TagState.Weak : TagState.Grounded)]))], Ct);
        var v2 = await b.Store.RegisterModelAsync(new NewModel("v2", "region-embedding/1", "models/v2.onnx", new string('b', 64)), Ct);
        await b.Store.MarkStaleForRelabelAsync(v2, null, Ct);
        var scanner = CreateScanner(b, o => o.LabelBatchSize = 2);

        Assert.Equal(2, await scanner.EnqueuePendingAsync(null, weakTagsFirst: true, Ct));

        var messages = await DrainAsync(b);
        Assert.Equal(ids.Order(), messages.SelectMany(m => m.ImageIds).Order()); // each once
        // Batches are formed per pass: the weak images 1 and 3 travel together (in id order they would be [1, 2], [3, 4]).
        Assert.Contains(messages, m => m.ImageIds.Order().SequenceEqual([ids[0], ids[2]]));
        Assert.Contains(messages, m => m.ImageIds.Order().SequenceEqual([ids[1], ids[3]]));
        Assert.Empty(await PendingAsync(b));
    }

    [Fact]
    public async Task EnqueuePending_ForOneDataset_LeavesTheOthersPending()
    {
        var b = await CreateBackendAsync();
        var pets = await b.Store.EnsureDatasetAsync("pets", Ct);
        var cars = await b.Store.EnsureDatasetAsync("cars", Ct);
        await b.Store.RegisterImagesAsync(pets, [new("inbox/pets/1.jpg", "h1"), new("inbox/pets/2.jpg", "h2")], Ct);
        await b.Store.RegisterImagesAsync(cars, [new("inbox/cars/1.jpg", "h1")], Ct);
        var scanner = CreateScanner(b, o => o.LabelBatchSize = 1);

        Assert.Equal(2, await scanner.EnqueuePendingAsync("pets", Ct));
        Assert.Equal(0, await scanner.EnqueuePendingAsync("pets", Ct));

        Assert.Equal([await IdAsync(b, "inbox/cars/1.jpg")], await PendingAsync(b));
        Assert.Equal(2, (await DrainAsync(b)).Count);
    }

    [Fact]
    public async Task MetadataReuploadedAfterAScan_IsAppliedByTheNextScan()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/re/1.jpg");
        await PutAsync(b.Blobs, "inbox/re/tags.csv", "1.jpg,old\n");
        var scanner = CreateScanner(b);
        await scanner.ScanAsync(Ct);

        await PutAsync(b.Blobs, "inbox/re/tags.csv", "1.jpg,new\n");
        var report = await scanner.ScanAsync(Ct);

        Assert.Equal(1, report.TagsAdded);
        Assert.Equal(0, report.MessagesSent);
        Assert.Equal(["new", "old"], await TagsAsync(b, "inbox/re/1.jpg"));
        var unchanged = await scanner.ScanAsync(Ct);
        Assert.Equal(0, unchanged.TagsAdded);
    }

    [Fact]
    public async Task ImagesAddedAfterTheirMetadata_GetTheirRowsOnTheScanThatFindsThem()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/late/1.jpg");
        await PutAsync(b.Blobs, "inbox/late/tags.jsonl", "{\"path\": \"1.jpg\", \"tags\": [\"early\"]}\n{\"path\": \"2.jpg\", \"tags\": [\"late\"]}\n");
        var scanner = CreateScanner(b);
        var first = await scanner.ScanAsync(Ct);
        Assert.Contains(first.Problems, p => p.Contains("inbox/late/tags.jsonl: line 2", StringComparison.Ordinal));

        await PutImageAsync(b.Blobs, "inbox/late/2.jpg");
        var second = await scanner.ScanAsync(Ct);

        Assert.Empty(second.Problems);
        Assert.Equal(["late"], await TagsAsync(b, "inbox/late/2.jpg"));
        Assert.Equal(["early"], await TagsAsync(b, "inbox/late/1.jpg"));
    }

    [Fact]
    public async Task CrashMidListing_ResumesFromTheCheckpoint_AndLosesNothing()
    {
        var b = await CreateBackendAsync();
        string[] names = ["inbox/alpha/1.jpg", "inbox/alpha/2.jpg", "inbox/alpha/tags.csv", .. Enumerable.Range(1, 6).Select(i => $"inbox/beta/x/{i}.jpg")];
        foreach (var name in names)
        {
            await (name.EndsWith(".csv", StringComparison.Ordinal) ? PutAsync(b.Blobs, name, "1.jpg,tagged\n") : PutImageAsync(b.Blobs, name));
        }

        var crashing = CreateScanner(b, o => o.RegisterBatchSize = 3, new ListingFailsAfter(b.Blobs, 7));
        await Assert.ThrowsAsync<IOException>(() => crashing.ScanAsync(Ct));
        var scope = $"{b.Blobs.Container}/inbox/";
        Assert.Equal(names[5], await b.Store.GetCheckpointAsync(scope, Ct));
        Assert.Equal(5, (await PendingAsync(b)).Count);

        var resumed = await CreateScanner(b, o => o.RegisterBatchSize = 3).ScanAsync(Ct);

        Assert.Equal(3, resumed.BlobsListed);
        Assert.Equal(3, resumed.ImagesCreated);
        Assert.Equal(["tagged"], await TagsAsync(b, "inbox/alpha/1.jpg"));
        Assert.Equal(["x"], await TagsAsync(b, "inbox/beta/x/1.jpg"));
        var queued = (await DrainAsync(b)).SelectMany(m => m.ImageIds).ToList();
        Assert.Equal(8, queued.Count);
        Assert.Equal(8, queued.Distinct().Count());
        Assert.Equal("", await b.Store.GetCheckpointAsync(scope, Ct));

        var next = await CreateScanner(b).ScanAsync(Ct);
        Assert.Equal(names.Length, next.BlobsListed);
        Assert.Equal(0, next.ImagesCreated);
    }

    private static string Sha256(string content) => Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(content)));

    /// <summary>Writes what a worker would for <paramref name="path"/>: one pseudo box of "fox" by model <paramref name="version"/>, the tag grounded.</summary>
    protected static async Task<long> LabelAsync(Backend backend, string path, string version = "v1")
    {
        var model = await backend.Store.GetModelAsync(version, Ct) is { } known
            ? known.Id
            : await backend.Store.RegisterModelAsync(new NewModel(version, "region-embedding/1", $"models/{version}.onnx", new string('a', 64)), Ct);
        var id = await IdAsync(backend, path);
        var fox = (await backend.Store.EnsureClassesAsync(["fox"], Ct))["fox"];
        await backend.Store.AddTagsAsync([new ImageTag(id, "fox")], Ct);
        await backend.Store.WriteLabelsAsync(model, [new ImageLabels(id, [new BoxData(fox, 1, 2, 30, 40, 0.9f, BoxSource.Pseudo)], [new TagGrounding(fox, TagState.Grounded)], 64, 48)], Ct);
        return model;
    }

    [Fact]
    public async Task NewImages_AreIdentifiedByTheSha256OfTheirBytes()
    {
        var b = await CreateBackendAsync();
        await PutAsync(b.Blobs, "inbox/sha/a.jpg", "some bytes");

        await CreateScanner(b).ScanAsync(Ct);

        var image = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/sha/a.jpg")], Ct));
        Assert.Equal(Sha256("some bytes"), image.ContentHash);
    }

    [Fact]
    public async Task KnownPathOverwrittenWithOtherBytes_IsRehashed_AndBackToPending_WithoutItsOldModelBoxes()
    {
        var b = await CreateBackendAsync();
        await PutAsync(b.Blobs, "inbox/re/fox/a.jpg", "old bytes");
        await PutAsync(b.Blobs, "inbox/re/fox/b.jpg", "other image");
        var scanner = CreateScanner(b);
        await scanner.ScanAsync(Ct);
        await DrainAsync(b);
        await LabelAsync(b, "inbox/re/fox/a.jpg");
        await LabelAsync(b, "inbox/re/fox/b.jpg");
        var a = await IdAsync(b, "inbox/re/fox/a.jpg");

        await PutAsync(b.Blobs, "inbox/re/fox/a.jpg", "new bytes");
        var report = await scanner.ScanAsync(Ct);

        var images = (await b.Store.GetImagesAsync([a, await IdAsync(b, "inbox/re/fox/b.jpg")], Ct)).ToDictionary(i => i.BlobPath);
        var changed = images["inbox/re/fox/a.jpg"];
        Assert.Equal((ImageStatus.Queued, (long?)null, Sha256("new bytes")), (changed.Status, changed.LabelledByModelId, changed.ContentHash));
        Assert.Empty((await b.Store.QueryBoxesAsync(new BoxQuery { ImageId = a }, Ct)).Boxes);
        Assert.Equal(TagState.Unlabelled, Assert.Single(await b.Store.GetTagsAsync([a], Ct)).State);
        Assert.Equal(1, report.ImagesChanged);
        Assert.Equal([a], (await DrainAsync(b)).SelectMany(m => m.ImageIds));
        var untouched = images["inbox/re/fox/b.jpg"];
        Assert.Equal(ImageStatus.Labelled, untouched.Status);
        Assert.Single((await b.Store.QueryBoxesAsync(new BoxQuery { ImageId = untouched.Id }, Ct)).Boxes);

        // Nothing changed since: the next pass hashes nothing and sends nothing.
        var again = await scanner.ScanAsync(Ct);
        Assert.Equal((0, 0), (again.ImagesChanged, again.MessagesSent));
    }

    [Fact]
    public async Task KnownPathReuploadedWithTheSameBytes_AndANewETag_StaysLabelled()
    {
        var b = await CreateBackendAsync();
        await PutAsync(b.Blobs, "inbox/same/fox/a.jpg", "the bytes");
        var scanner = CreateScanner(b);
        await scanner.ScanAsync(Ct);
        await DrainAsync(b);
        var model = await LabelAsync(b, "inbox/same/fox/a.jpg");
        var before = (await b.Blobs.GetPropertiesAsync("inbox/same/fox/a.jpg", Ct))!.ETag;

        await PutAsync(b.Blobs, "inbox/same/fox/a.jpg", "the bytes");
        Assert.NotEqual(before, (await b.Blobs.GetPropertiesAsync("inbox/same/fox/a.jpg", Ct))!.ETag);
        var report = await scanner.ScanAsync(Ct);

        var image = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/same/fox/a.jpg")], Ct));
        Assert.Equal((ImageStatus.Labelled, (long?)model, Sha256("the bytes")), (image.Status, image.LabelledByModelId, image.ContentHash));
        Assert.Single((await b.Store.QueryBoxesAsync(new BoxQuery { ImageId = image.Id }, Ct)).Boxes);
        Assert.Equal((0, 0), (report.ImagesChanged, report.MessagesSent));
    }

    [Fact]
    public async Task LegacyMd5Rows_AreRehashedOnce_KeepTheirLabelsWhenUnchanged_AndStillCatchCopies()
    {
        var b = await CreateBackendAsync();
        static string Md5(string content) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(content)));

        // Rows as the scan wrote them before SHA-256: the listing's MD5, no recorded version.
        var dataset = await b.Store.EnsureDatasetAsync("old", Ct);
        await b.Store.RegisterImagesAsync(dataset, [new NewImage("inbox/old/a.jpg", Md5("legacy bytes")), new NewImage("inbox/old/b.jpg", Md5("b before"))], Ct);
        await PutAsync(b.Blobs, "inbox/old/a.jpg", "legacy bytes");
        await PutAsync(b.Blobs, "inbox/old/b.jpg", "b after");
        await PutAsync(b.Blobs, "inbox/old/copy of a.jpg", "legacy bytes");
        var model = await LabelAsync(b, "inbox/old/a.jpg");
        await LabelAsync(b, "inbox/old/b.jpg");
        var scanner = CreateScanner(b);

        var report = await scanner.ScanAsync(Ct);

        var a = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/old/a.jpg")], Ct));
        Assert.Equal((ImageStatus.Labelled, (long?)model, Sha256("legacy bytes")), (a.Status, a.LabelledByModelId, a.ContentHash));
        var changed = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/old/b.jpg")], Ct));
        Assert.Equal((ImageStatus.Queued, Sha256("b after")), (changed.Status, changed.ContentHash));
        Assert.Equal((0, 1, 1), (report.ImagesCreated, report.Duplicates, report.ImagesChanged));
        Assert.Empty(report.Problems);

        var again = await scanner.ScanAsync(Ct);
        Assert.Equal((0, 0, 0), (again.ImagesCreated, again.ImagesChanged, again.MessagesSent));
    }

    [Fact]
    public async Task ImagesOverMaxImageBytes_AreRegisteredFailedWithTheirReason_WithoutBeingRead_AndTheRestIsQueued()
    {
        var b = await CreateBackendAsync();
        var big = new string('x', 101);
        await PutAsync(b.Blobs, "inbox/big/fox/huge.jpg", big);
        await PutAsync(b.Blobs, "inbox/big/fox/small.jpg", "small");
        await PutAsync(b.Blobs, "inbox/big/fox/grows.jpg", "small for now");
        var reads = new CountingReads(b.Blobs);
        var scanner = CreateScanner(b, o => o.MaxImageBytes = 100, reads);

        var report = await scanner.ScanAsync(Ct);

        var huge = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/big/fox/huge.jpg")], Ct));
        Assert.Equal((ImageStatus.Failed, "too-large: 101 bytes is over the 100-byte limit (Ingest:MaxImageBytes)"), (huge.Status, huge.LastError));
        Assert.Equal(0, reads.Opens("inbox/big/fox/huge.jpg"));
        Assert.Contains(report.Problems, p => p.StartsWith("inbox/big/fox/huge.jpg: registered as failed, too-large: ", StringComparison.Ordinal));
        var failed = Assert.Single(await b.Store.GetFailedImagesAsync("big", null, 0, 100, Ct));
        Assert.Equal(("too-large", huge.Id), (failed.Reason, failed.Id));
        Assert.Equal(["fox"], await TagsAsync(b, "inbox/big/fox/huge.jpg"));
        Assert.Equal(2, (await DrainAsync(b)).SelectMany(m => m.ImageIds).Count());

        // A labelled image overwritten with a file over the limit: failed with the reason, its old model boxes gone.
        await LabelAsync(b, "inbox/big/fox/grows.jpg");
        await PutAsync(b.Blobs, "inbox/big/fox/grows.jpg", big + "y");
        var second = await scanner.ScanAsync(Ct);

        var grown = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/big/fox/grows.jpg")], Ct));
        Assert.Equal((ImageStatus.Failed, "too-large: 102 bytes is over the 100-byte limit (Ingest:MaxImageBytes)", (long?)null), (grown.Status, grown.LastError, grown.LabelledByModelId));
        Assert.Empty((await b.Store.QueryBoxesAsync(new BoxQuery { ImageId = grown.Id }, Ct)).Boxes);
        Assert.Equal(1, second.ImagesChanged);
        Assert.Equal(0, reads.Opens("inbox/big/fox/huge.jpg"));

        // The limit raised: the too-large images are hashed and labelled after all.
        var raised = await CreateScanner(b, o => o.MaxImageBytes = 1000).ScanAsync(Ct);
        Assert.Equal(2, raised.ImagesChanged);
        Assert.Equal(2, (await DrainAsync(b)).SelectMany(m => m.ImageIds).Count());
    }

    [Fact]
    public async Task AnnotationsJson_IsReadOncePerScan()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/once/1.jpg");
        await PutAsync(b.Blobs, "inbox/once/annotations.json", """
            {"images": [{"id": 1, "file_name": "1.jpg", "width": 8, "height": 6, "split": "val"}],
             "annotations": [{"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}], "categories": [{"id": 1, "name": "dot"}]}
            """);
        var reads = new CountingReads(b.Blobs);

        var report = await CreateScanner(b, blobs: reads).ScanAsync(Ct);

        Assert.Equal(1, reads.Opens("inbox/once/annotations.json"));
        Assert.Equal(1, report.HumanBoxes);
        var image = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/once/1.jpg")], Ct));
        Assert.Equal(("val", 8, 6), (image.Split, image.Width, image.Height));
    }

    [Fact]
    public async Task HostileAnnotationsFiles_GiveAClearErrorWithFileAndPosition_AndLoseNothingElseOfTheScan()
    {
        var b = await CreateBackendAsync();
        var hostile = new Dictionary<string, string>
        {
            ["truncated"] = "{\n  \"images\": [{\"id\": 1, \"file_name\": \"1.jpg\"},\n",
            ["deep"] = "{\"info\": " + new string('[', 200) + new string(']', 200) + ", \"images\": []}",
            ["imagesobject"] = "{\"images\": {\"id\": 1, \"file_name\": \"1.jpg\"}}",
            ["wrongtypes"] = "{\"images\": [{\"id\": \"one\", \"file_name\": 5}, 7, [1]], \"annotations\": 7, \"categories\": [{\"id\": 1, \"name\": [\"a\"]}]}",
            ["notjson"] = "images: yes",
        };
        foreach (var (dataset, content) in hostile)
        {
            await PutImageAsync(b.Blobs, $"inbox/{dataset}/1.jpg");
            await PutAsync(b.Blobs, $"inbox/{dataset}/tags.csv", "1.jpg,kept\n");
            await PutAsync(b.Blobs, $"inbox/{dataset}/annotations.json", content);
        }

        var report = await CreateScanner(b).ScanAsync(Ct);

        string ProblemOf(string dataset) => Assert.Single(report.Problems, p => p.StartsWith($"inbox/{dataset}/annotations.json: ", StringComparison.Ordinal));
        Assert.Matches(@"^inbox/truncated/annotations\.json: line 3: not valid JSON at byte \d+ of the line, the file is skipped \(", ProblemOf("truncated"));
        Assert.Matches(@"^inbox/deep/annotations\.json: line 1: not valid JSON at byte \d+ of the line, the file is skipped \(.*depth", ProblemOf("deep"));
        Assert.Contains("\"images\" array", ProblemOf("imagesobject"), StringComparison.Ordinal);
        Assert.StartsWith("inbox/notjson/annotations.json: line 1: not valid JSON", ProblemOf("notjson"), StringComparison.Ordinal);
        var wrong = report.Problems.Where(p => p.StartsWith("inbox/wrongtypes/annotations.json: ", StringComparison.Ordinal)).ToList();
        Assert.Contains(wrong, p => p.Contains("images[0] (line 1)", StringComparison.Ordinal));
        Assert.Contains(wrong, p => p.Contains("images[1] (line 1)", StringComparison.Ordinal));
        Assert.Contains(wrong, p => p.Contains("images[2] (line 1)", StringComparison.Ordinal));
        Assert.Contains(wrong, p => p.Contains("\"annotations\" must be an array", StringComparison.Ordinal));
        Assert.Contains(wrong, p => p.Contains("categories[0] (line 1)", StringComparison.Ordinal));
        Assert.Equal(5, wrong.Count);
        foreach (var dataset in hostile.Keys)
        {
            Assert.Equal(["kept"], await TagsAsync(b, $"inbox/{dataset}/1.jpg"));
        }

        Assert.Equal(hostile.Count, report.ImagesCreated);
        Assert.Equal(hostile.Count, (await DrainAsync(b)).SelectMany(m => m.ImageIds).Count());
    }

    [Fact]
    public async Task AnnotationsWithThousandsOfBadEntries_ListTheFirstHundredAndCountTheRest()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/many/1.jpg");
        var bad = string.Join(",\n", Enumerable.Range(0, 5000).Select(i => $"{{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 0, {i}]}}"));
        var good = "{\"image_id\": 1, \"category_id\": 1, \"bbox\": [0, 0, 3, 3], \"segmentation\": [[" + string.Join(",", Enumerable.Range(0, 20000)) + "]]}";
        await PutAsync(b.Blobs, "inbox/many/annotations.json",
            "{\"images\": [{\"id\": 1, \"file_name\": \"1.jpg\"}], \"categories\": [{\"id\": 1, \"name\": \"x\"}],\n\"annotations\": [" + bad + ",\n" + good + "]}");

        var report = await CreateScanner(b).ScanAsync(Ct);

        var problems = report.Problems.Where(p => p.StartsWith("inbox/many/annotations.json: ", StringComparison.Ordinal)).ToList();
        Assert.Equal(101, problems.Count);
        Assert.Contains("annotations[0] (line 2)", problems[0], StringComparison.Ordinal);
        Assert.Contains("annotations[99] (line 101)", problems[99], StringComparison.Ordinal);
        Assert.Equal("inbox/many/annotations.json: … and 4900 more errors in this file", problems[100]);
        Assert.Equal(1, report.HumanBoxes);
    }

    [Fact]
    public async Task MetadataFileThatGrowsPastTheLimitAfterTheSizeCheck_IsReadOnlyUpToTheLimit_AndSkippedWithItsReason()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/grow/1.jpg");
        await PutAsync(b.Blobs, "inbox/grow/annotations.json", """{"images": [], "categories": []}""");
        await PutAsync(b.Blobs, "inbox/grow/tags.csv", "1.jpg,small\n");
        var grown = "{\"images\": [{\"id\": 1, \"file_name\": \"1.jpg\"}], \"categories\": [{\"id\": 1, \"name\": \"big\"}], \"annotations\": ["
            + string.Join(", ", Enumerable.Range(0, 200).Select(_ => "{\"image_id\": 1, \"category_id\": 1, \"bbox\": [1, 1, 2, 2]}")) + "]}";
        var growing = new GrowsAfterSizeCheck(b.Blobs, new Dictionary<string, string>
        {
            ["inbox/grow/annotations.json"] = grown,
            ["inbox/grow/tags.csv"] = string.Concat(Enumerable.Repeat("1.jpg,grown\n", 200)),
        });

        var report = await CreateScanner(b, o => o.MaxMetadataBytes = 1000, growing).ScanAsync(Ct);

        Assert.Contains(report.Problems, p => p.StartsWith("inbox/grow/annotations.json: ", StringComparison.Ordinal) && p.Contains("1000-byte limit", StringComparison.Ordinal) && p.Contains("skipped", StringComparison.Ordinal));
        Assert.Contains(report.Problems, p => p.StartsWith("inbox/grow/tags.csv: ", StringComparison.Ordinal) && p.Contains("1000-byte limit", StringComparison.Ordinal));
        Assert.Equal(0, report.HumanBoxes);
        Assert.DoesNotContain("big", await TagsAsync(b, "inbox/grow/1.jpg"));
    }

    [Fact]
    public async Task TagsOverTheCaps_AreRefused_AndReportedWithFileAndLine_OneLinePerKind()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/caps/a.jpg");
        await PutImageAsync(b.Blobs, "inbox/caps/b.jpg");
        await PutImageAsync(b.Blobs, "inbox/caps2/c.jpg");
        await PutAsync(b.Blobs, "inbox/caps/tags.csv",
            "a.jpg,t1;t2;t3;t4\n" + // 1: a's fourth tag is one too many
            "a.jpg,t1\n" +          // 2: already there
            "b.jpg,u1;u2\n" +       // 3: u1 is the fourth new class, u2 one too many
            "b.jpg,t1\n" +          // 4: a known class
            "a.jpg,t5\n");          // 5: too many tags again
        // Applied after caps/tags.csv (datasets in name order): the class budget is spent by then.
        await PutAsync(b.Blobs, "inbox/caps2/annotations.json", """
            {"images": [{"id": 1, "file_name": "c.jpg"}], "annotations": [{"image_id": 1, "category_id": 2, "bbox": [1, 1, 2, 2]}, {"image_id": 1, "category_id": 1, "bbox": [1, 1, 2, 2]}],
             "categories": [{"id": 1, "name": "t2"}, {"id": 2, "name": "brand new"}]}
            """);

        var report = await CreateScanner(b, o => { o.MaxTagsPerImage = 3; o.MaxNewClassesPerScan = 4; }).ScanAsync(Ct);

        Assert.Equal(["t1", "t2", "t3"], await TagsAsync(b, "inbox/caps/a.jpg"));
        Assert.Equal(["t1", "u1"], await TagsAsync(b, "inbox/caps/b.jpg"));
        Assert.Equal(["t2"], await TagsAsync(b, "inbox/caps2/c.jpg"));
        Assert.Equal(["t1", "t2", "t3", "u1"], (await b.Store.ListClassNamesAsync(Ct)).Order(StringComparer.Ordinal));
        Assert.Equal(1, report.HumanBoxes);
        var perImage = Assert.Single(report.Problems, p => p.Contains("Ingest:MaxTagsPerImage", StringComparison.Ordinal));
        Assert.Equal("inbox/caps/tags.csv: 2 tags refused, over the 3 tags an image may have (Ingest:MaxTagsPerImage): line 1, line 5", perImage);
        var classes = report.Problems.Where(p => p.Contains("Ingest:MaxNewClassesPerScan", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(
            [
                "inbox/caps/tags.csv: 1 tags refused, over the 4 new classes a scan may create (Ingest:MaxNewClassesPerScan): line 3",
                "inbox/caps2/annotations.json: 1 tags refused, over the 4 new classes a scan may create (Ingest:MaxNewClassesPerScan): category 2",
            ],
            classes);
    }

    [Fact]
    public async Task OneRowWithThousandsOfTags_CreatesNoMoreClassesThanTheScanMay()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/flood/a.jpg");
        await PutAsync(b.Blobs, "inbox/flood/tags.csv", "a.jpg," + string.Join(';', Enumerable.Range(0, 5000).Select(i => $"c{i}")) + "\n");

        var report = await CreateScanner(b, o => { o.MaxTagsPerImage = 10_000; o.MaxNewClassesPerScan = 100; }).ScanAsync(Ct);

        Assert.Equal(100, (await b.Store.ListClassNamesAsync(Ct)).Count);
        Assert.Equal(100, (await TagsAsync(b, "inbox/flood/a.jpg")).Length);
        var refused = Assert.Single(report.Problems);
        Assert.StartsWith("inbox/flood/tags.csv: 4900 tags refused, over the 100 new classes a scan may create (Ingest:MaxNewClassesPerScan): line 1", refused, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TagFileLinesOverTheLineLimit_AreRefusedWithTheirLine_AndTheNextLinesApplied()
    {
        var b = await CreateBackendAsync();
        await PutImageAsync(b.Blobs, "inbox/long/a.jpg");
        var huge = new string('x', Labeling.Functions.Ingest.TagFileReader.MaxLineChars + 1);
        await PutAsync(b.Blobs, "inbox/long/tags.csv", $"a.jpg,{huge}\r\na.jpg,short\r\n\"a.jpg\",\"{huge[..1000]}\n{huge}\"\na.jpg,after\n");
        await PutAsync(b.Blobs, "inbox/long/tags.jsonl", $"{{\"path\": \"a.jpg\", \"tags\": [\"{huge}\"]}}\n{{\"path\": \"a.jpg\", \"tags\": [\"jsonl\"]}}\n");

        var report = await CreateScanner(b).ScanAsync(Ct);

        Assert.Equal(["after", "jsonl", "short"], await TagsAsync(b, "inbox/long/a.jpg"));
        Assert.Contains($"inbox/long/tags.csv: line 1: the line is longer than {Labeling.Functions.Ingest.TagFileReader.MaxLineChars} characters; it is skipped", report.Problems);
        Assert.Contains(report.Problems, p => p.StartsWith("inbox/long/tags.csv: line 3: a quoted field runs over more than", StringComparison.Ordinal));
        Assert.Contains($"inbox/long/tags.jsonl: line 1: the line is longer than {Labeling.Functions.Ingest.TagFileReader.MaxLineChars} characters; it is skipped", report.Problems);
        Assert.Equal(3, report.Problems.Count);
    }

    [Fact]
    public async Task KnownPathOverwrittenWithTheBytesOfAnotherImage_FailsWithItsReason_AndKeepsBoth()
    {
        var b = await CreateBackendAsync();
        await PutAsync(b.Blobs, "inbox/clash/a.jpg", "a bytes");
        await PutAsync(b.Blobs, "inbox/clash/b.jpg", "b bytes");
        var scanner = CreateScanner(b);
        await scanner.ScanAsync(Ct);
        await DrainAsync(b);

        await PutAsync(b.Blobs, "inbox/clash/a.jpg", "b bytes");
        var report = await scanner.ScanAsync(Ct);

        var a = Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/clash/a.jpg")], Ct));
        Assert.Equal(ImageStatus.Failed, a.Status);
        Assert.StartsWith("duplicate-content: ", a.LastError, StringComparison.Ordinal);
        Assert.Contains("inbox/clash/b.jpg", a.LastError, StringComparison.Ordinal);
        Assert.Equal(ImageStatus.Queued, Assert.Single(await b.Store.GetImagesAsync([await IdAsync(b, "inbox/clash/b.jpg")], Ct)).Status);
        Assert.Equal(1, report.ImagesChanged);
    }

    private static async Task<string> ReadAsync(IBlobStore blobs, string name)
    {
        await using var stream = await blobs.OpenReadAsync(name, Ct);
        using var reader = new StreamReader(stream);
        return await reader.ReadToEndAsync(Ct);
    }

    /// <summary>The real store, counting how often each blob is opened for reading.</summary>
    protected sealed class CountingReads(IBlobStore inner) : IBlobStore
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, int> _opens = new(StringComparer.Ordinal);

        public int Opens(string name) => _opens.TryGetValue(name, out var n) ? n : 0;

        public string Container => inner.Container;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken) =>
            inner.ListAsync(prefix, startAfter, pageSize, cancellationToken);

        public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken)
        {
            _opens.AddOrUpdate(name, 1, (_, n) => n + 1);
            return inner.OpenReadAsync(name, cancellationToken);
        }

        public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) =>
            inner.WriteAsync(name, content, overwrite, cancellationToken);

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

        public Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) => inner.GetPropertiesAsync(name, cancellationToken);
    }

    /// <summary>The real store, where each named blob is overwritten with bigger content right after its size was asked for: it grows between the check and the read.</summary>
    private sealed class GrowsAfterSizeCheck(IBlobStore inner, Dictionary<string, string> grown) : IBlobStore
    {
        public string Container => inner.Container;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, CancellationToken cancellationToken) =>
            inner.ListAsync(prefix, startAfter, pageSize, cancellationToken);

        public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken) => inner.OpenReadAsync(name, cancellationToken);

        public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) =>
            inner.WriteAsync(name, content, overwrite, cancellationToken);

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

        public async Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken)
        {
            var properties = await inner.GetPropertiesAsync(name, cancellationToken);
            if (grown.Remove(name, out var content))
            {
                await PutAsync(inner, name, content);
            }

            return properties;
        }
    }

    /// <summary>The real store whose listing breaks after <paramref name="items"/> names, as a crash or lost connection would.</summary>
    private sealed class ListingFailsAfter(IBlobStore inner, int items) : IBlobStore
    {
        public string Container => inner.Container;

        public Task CreateIfNotExistsAsync(CancellationToken cancellationToken) => inner.CreateIfNotExistsAsync(cancellationToken);

        public async IAsyncEnumerable<BlobItem> ListAsync(string prefix, string? startAfter, int pageSize, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            var count = 0;
            await foreach (var item in inner.ListAsync(prefix, startAfter, pageSize, cancellationToken))
            {
                if (count++ == items)
                {
                    throw new IOException("the listing connection dropped");
                }

                yield return item;
            }
        }

        public Task<Stream> OpenReadAsync(string name, CancellationToken cancellationToken) => inner.OpenReadAsync(name, cancellationToken);

        public Task<BlobItem> WriteAsync(string name, Stream content, bool overwrite, CancellationToken cancellationToken) =>
            inner.WriteAsync(name, content, overwrite, cancellationToken);

        public Task<bool> DeleteAsync(string name, CancellationToken cancellationToken) => inner.DeleteAsync(name, cancellationToken);

        public Task<BlobItem?> GetPropertiesAsync(string name, CancellationToken cancellationToken) => inner.GetPropertiesAsync(name, cancellationToken);
    }
}
